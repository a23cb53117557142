import { describe, expect, it } from 'vitest';
import {
  WAIT_RESERVE_MS,
  maxReads,
  waitForTerminal,
  type WaitDeps,
} from '../../../../src/lib/app/wait.ts';
import type { Job } from '../../../../src/lib/domain/jobs.ts';

/** A fake clock and store: the record turns terminal at `doneAt` ms; sleeping moves the clock. */
function fake(doneAt = Number.POSITIVE_INFINITY, remaining?: number) {
  let t = 0;
  const reads: number[] = [];
  const deps: WaitDeps = {
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
    read: async () => {
      reads.push(t);
      return t >= doneAt
        ? { inferenceId: 'j', status: 'COMPLETED', result: 'ok' }
        : { inferenceId: 'j', status: 'IN_PROGRESS', checkedAt: String(t) };
    },
    remainingMs: remaining === undefined ? undefined : () => remaining - t,
  };
  return { deps, reads, clock: () => t };
}

const started: Job = { inferenceId: 'j', status: 'IN_PROGRESS' };

describe('waitForTerminal (GET /jobs/{id}?wait=)', () => {
  it('answers at the first read that sees the job terminal', async () => {
    const f = fake(1600);
    const out = await waitForTerminal(started, 20_000, f.deps);
    expect(out.job).toMatchObject({ status: 'COMPLETED', result: 'ok' });
    // Reads at 250, 750, 1750: the end is seen within one pause (at most 1 s) of happening.
    expect(f.reads).toEqual([250, 750, 1750]);
    expect(f.clock()).toBe(1750);
  });

  it('does not read at all when the job is already terminal', async () => {
    const f = fake();
    const done: Job = { inferenceId: 'j', status: 'FAILED' };
    expect(await waitForTerminal(done, 20_000, f.deps)).toEqual({ job: done, reads: 0 });
  });

  it('answers after N seconds with the record of a read made at N', async () => {
    const f = fake();
    const out = await waitForTerminal(started, 5000, f.deps);
    expect(out.job).toMatchObject({ status: 'IN_PROGRESS', checkedAt: '5000' });
    expect(f.clock()).toBe(5000);
    expect(f.reads.at(-1)).toBe(5000);
  });

  it('reads at most 22 times in 20 s, never twice within 250 ms', async () => {
    const f = fake();
    const out = await waitForTerminal(started, 20_000, f.deps);
    expect(out.reads).toBe(f.reads.length);
    expect(f.reads.length).toBeLessThanOrEqual(22);
    expect(maxReads(20_000)).toBe(22);
    for (let i = 1; i < f.reads.length - 1; i++) {
      expect(f.reads[i]! - f.reads[i - 1]!).toBeGreaterThanOrEqual(250);
    }
  });

  it("stops in time for Lambda's end, whatever N asks", async () => {
    const f = fake(Number.POSITIVE_INFINITY, 10_000);
    await waitForTerminal(started, 20_000, f.deps);
    expect(f.clock()).toBe(10_000 - WAIT_RESERVE_MS);
    const late = fake(Number.POSITIVE_INFINITY, 1000);
    expect((await waitForTerminal(started, 20_000, late.deps)).reads).toBe(0);
  });

  it('keeps the last record when a read finds nothing', async () => {
    const f = fake();
    f.deps.read = async () => undefined;
    expect((await waitForTerminal(started, 1000, f.deps)).job).toBe(started);
  });
});
