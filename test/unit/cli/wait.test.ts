import { describe, expect, it } from 'vitest';
import type { JobRecord, WaitOptions } from '../../../src/client/index.ts';
import { REDRAW_MS, waitForJob, type WaitIo } from '../../../src/cli/wait.ts';

/*
 * `async-jobs submit --wait`'s status line, with a clock and a ticker the test moves: the line is
 * redrawn between the answers of a long-poll (held up to 20 s), its elapsed time growing; no wall
 * clock is read or asserted.
 */

function fakeIo(tty: boolean) {
  let now = 1_000_000;
  const ticks: { ms: number; tick: () => void; stopped: boolean }[] = [];
  const written: string[] = [];
  const logged: string[] = [];
  const printed: string[] = [];
  const io: WaitIo = {
    tty,
    write: (text) => void written.push(text),
    log: (line) => void logged.push(line),
    print: (text) => void printed.push(text),
    now: () => now,
    every: (ms, tick) => {
      const t = { ms, tick, stopped: false };
      ticks.push(t);
      return () => void (t.stopped = true);
    },
  };
  /** Moves the clock on and fires the ticker once, as a timer would. */
  const advance = (ms: number) => {
    now += ms;
    for (const t of ticks) if (!t.stopped) t.tick();
  };
  return { io, ticks, written, logged, printed, advance };
}

/** A client whose long-poll is answered when the test says so. */
function heldClient() {
  let finish!: (job: JobRecord) => void;
  let options: WaitOptions | undefined;
  const api = {
    wait: (_id: string, opts: WaitOptions = {}) => {
      options = opts;
      return new Promise<JobRecord>((resolve) => (finish = resolve));
    },
  };
  return {
    api,
    poll: (job: JobRecord) => options?.onPoll?.(job, 0),
    finish: (j: JobRecord) => finish(j),
  };
}

const job = (status: JobRecord['status'], extra: Partial<JobRecord> = {}) =>
  ({ inferenceId: 'job-1', status, ...extra }) as JobRecord;

const seconds = (written: string[]) =>
  written.flatMap((w) => {
    const m = /IN_PROGRESS (\d+\.\d) s$/.exec(w);
    return m ? [Number(m[1])] : [];
  });

describe('submit --wait: the status line', () => {
  it('is redrawn while a long-poll is held, its elapsed time growing, and stops with the wait', async () => {
    const { io, ticks, written, logged, printed, advance } = fakeIo(true);
    const client = heldClient();
    const done = waitForJob(client.api, 'job-1', io);
    client.poll(job('IN_PROGRESS'));
    expect(ticks).toHaveLength(1);
    expect(ticks[0]!.ms).toBe(REDRAW_MS);
    // No answer for the whole long-poll: the line still moves.
    for (let i = 0; i < 5; i++) advance(4_000);
    const drawn = seconds(written);
    expect(drawn).toEqual([0, 4, 8, 12, 16, 20]);
    for (const w of written) expect(w.startsWith('\r\x1b[K')).toBe(true);
    client.finish(job('COMPLETED'));
    expect(await done).toBe(0);
    expect(ticks[0]!.stopped).toBe(true);
    expect(logged.at(-1)).toBe('job-1: COMPLETED after 20.0 s');
    expect(JSON.parse(printed.join(''))).toMatchObject({ status: 'COMPLETED' });
  });

  it('says waiting for capacity on the line while the endpoint has no instance', async () => {
    const { io, written, logged, advance } = fakeIo(true);
    const client = heldClient();
    const done = waitForJob(client.api, 'job-1', io);
    client.poll(job('IN_PROGRESS', { waitingForCapacity: true }));
    advance(1_500);
    expect(logged).toEqual([
      'job-1: queued, waiting for capacity (the endpoint has no instance in service yet)',
    ]);
    expect(written.at(-1)).toBe('\r\x1b[Kjob-1: waiting for capacity 1.5 s');
    client.finish(job('FAILED', { failureReason: 'boom' }));
    expect(await done).toBe(1);
    expect(logged.at(-1)).toBe('job-1: FAILED after 1.5 s: boom');
  });

  it('draws nothing in place when stderr is not a terminal (a log stays readable)', async () => {
    const { io, ticks, written, logged } = fakeIo(false);
    const client = heldClient();
    const done = waitForJob(client.api, 'job-1', io);
    client.poll(job('IN_PROGRESS'));
    expect(ticks).toHaveLength(0);
    client.finish(job('COMPLETED'));
    await done;
    expect(written).toEqual([]);
    expect(logged).toEqual(['job-1: COMPLETED after 0.0 s']);
  });
});
