import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/lib/config.ts';
import { shardKeys, type Job } from '../../../../src/lib/domain/jobs.ts';
import { dueWindows, reconcile } from '../../../../src/lib/app/reconcile.ts';
import { FakeJobRepository } from '../../../support/fakes/job-repository.ts';
import { endingFakes } from '../../../support/fakes/ports.ts';

/*
 * Reconcile's schedule (dueWindows) and its run on the fakes of its ports: no object is written,
 * so every look in S3 finds nothing (the S3 adapter's NoSuchKey -> OutputMissing is
 * test/unit/lib/adapters/storage.test.ts and test/contract/object-store.contract.ts); the index
 * Query per shard and window is the job repository contract's (test/contract/job-repository.*).
 */

const now = new Date('2026-11-24T12:00:00.000Z');
const ago = (min: number) => new Date(now.getTime() - min * 60_000).toISOString();
const inside = (t: string, w: { from?: string; to: string }) =>
  (w.from === undefined || t >= w.from) && t < w.to;

describe('dueWindows', () => {
  const windows = dueWindows(now, 900, 300);

  it('reads only the jobs whose check time came since the last run, and a tail', () => {
    expect(windows[0]).toEqual({ step: String(15 * 60_000), from: ago(15 + 6), to: ago(15) });
    expect(windows.at(-1)).toEqual({ step: 'tail', to: ago(32 * 15 + 6) });
    // A job 10 minutes old is in no window; at 17 minutes it is in the first.
    expect(windows.some((w) => inside(ago(10), w))).toBe(false);
    expect(windows.some((w) => inside(ago(17), w))).toBe(true);
    // Between check times nothing reads it: 50 min old (checked at 45, next at 60).
    expect(windows.some((w) => inside(ago(52), w))).toBe(false);
  });

  it('starts where the last run stopped, but never further back than the next check time', () => {
    const step = String(15 * 60_000);
    expect(dueWindows(now, 900, 300, { [step]: ago(20) })[0]).toMatchObject({ from: ago(20) });
    // A long outage: the jobs past the 30-minute check time get that one instead.
    expect(dueWindows(now, 900, 300, { [step]: ago(600) })[0]).toMatchObject({ from: ago(30) });
  });

  it('checks a job younger than an hour every 15 minutes, so a lost result waits at most ~21', () => {
    for (let age = 15; age <= 60; age += 1) {
      const covered = [0, 5, 10, 15, 20].some((wait) =>
        dueWindows(new Date(now.getTime() + wait * 60_000), 900, 300).some((w) =>
          inside(ago(age), w),
        ),
      );
      expect(covered, `age ${age}`).toBe(true);
    }
  });

  it('without a first check time, every unfinished job is due', () => {
    expect(dueWindows(now, 0)).toEqual([{ step: 'all', to: now.toISOString() }]);
  });
});

describe('reconcile', () => {
  /** The job repository, recording the index keys read and the releases asked for. */
  class Recording extends FakeJobRepository {
    readonly queried: string[] = [];
    readonly released: [string, string][] = [];

    override entries(key: string, from?: string, to?: string) {
      this.queried.push(key);
      return super.entries(key, from, to);
    }

    override async release(inferenceId: string, claimToken: string) {
      this.released.push([inferenceId, claimToken]);
      return super.release(inferenceId, claimToken);
    }
  }

  /** IN_PROGRESS jobs submitted at the given times, all in index shard `key`. */
  function fakeStore(
    jobs: { inferenceId: string; submittedAt: string }[],
    key = shardKeys('IN_PROGRESS')[0]!,
    cursor: Record<string, string> = {},
  ) {
    const store = new Recording(
      jobs.map((j) => ({ ...j, status: 'IN_PROGRESS' as const, shardKey: key })),
    );
    store.cursor = { ...cursor };
    return store;
  }
  const config = loadConfig();
  const depsOf = (store: FakeJobRepository) => endingFakes({ store, now: () => now }, config).deps;

  it('queries every IN_PROGRESS shard of each window and checks only the due jobs', async () => {
    const store = fakeStore(
      [
        { inferenceId: 'young', submittedAt: ago(5) },
        { inferenceId: 'due', submittedAt: ago(16) },
        { inferenceId: 'between', submittedAt: ago(52) },
      ],
      shardKeys('IN_PROGRESS')[3],
    );
    const report = await reconcile(depsOf(store), { olderThanSeconds: 900 });
    expect(report).toMatchObject({ read: 1, checked: 1, pending: 1, cutShort: false });
    expect(new Set(store.queried)).toEqual(new Set(shardKeys('IN_PROGRESS')));
  });

  it('starts no new work within its deadline and says so', async () => {
    const store = fakeStore([]);
    const report = await reconcile(depsOf(store), {
      olderThanSeconds: 900,
      remainingMs: () => 1000,
    });
    expect(report).toMatchObject({ read: 0, cutShort: true });
    expect(store.queried).toHaveLength(0);
  });

  it('stops inside a crowded window at its deadline', async () => {
    const store = fakeStore(
      Array.from({ length: 250 }, (_, i) => ({
        inferenceId: `j${i}`,
        submittedAt: new Date(now.getTime() - 16 * 60_000 - i).toISOString(),
      })),
    );
    let checked = 0;
    const report = await reconcile(depsOf(store), {
      olderThanSeconds: 900,
      remainingMs: () => (checked++ < 1 ? 60_000 : 0),
    });
    expect(report).toMatchObject({ read: 100, checked: 100, cutShort: true });
  });

  it('saves a cursor per check time read through; a window cut short keeps its old one', async () => {
    const step = String(15 * 60_000);
    const full = fakeStore([]);
    await reconcile(depsOf(full), { olderThanSeconds: 900 });
    expect(full.count('saveReconcileCursor')).toBe(1);
    expect(full.cursor[step]).toBe(ago(15));
    let calls = 0;
    const cut = fakeStore([], undefined, { [step]: ago(20) });
    await reconcile(
      depsOf(cut),
      // Time for a few shards of the first window only.
      { olderThanSeconds: 900, remainingMs: () => (calls++ < 3 ? 60_000 : 0) },
    );
    expect(cut.count('saveReconcileCursor')).toBe(1);
    expect(cut.cursor[step]).toBe(ago(20));
  });

  it('releases a claim never queued whose lease is over; leaves every other unfinished job', async () => {
    const claim = (inferenceId: string, extra: Partial<Job>): Job => ({
      inferenceId,
      status: 'IN_PROGRESS',
      endpointName: 'demo-endpoint',
      submittedAt: ago(16),
      claimToken: `${inferenceId}-token`,
      ...extra,
    });
    const jobs = [
      claim('abandoned', { leaseUntil: ago(15) }),
      claim('leased', { leaseUntil: new Date(now.getTime() + 60_000).toISOString() }),
      claim('queued', { leaseUntil: ago(15), outputLocation: 's3://async-jobs-local-output/q' }),
      // Written before leases: held for the longest invocation after its submit (16 min ago).
      claim('legacy', {}),
      claim('taken', { leaseUntil: ago(15) }),
    ];
    // `taken`: a retry takes it over (a new claim token) between reconcile's read and its release.
    class TakenOver extends Recording {
      override async getMany(ids: string[]) {
        const read = await super.getMany(ids);
        const taken = read.find((j) => j.inferenceId === 'taken');
        const leaseUntil = new Date(now.getTime() + 60_000).toISOString();
        if (taken)
          await this.takeOver({ ...taken, claimToken: 'retry', leaseUntil }, 'taken-token');
        return read;
      }
    }
    const store = new TakenOver(jobs);
    const report = await reconcile(depsOf(store), { olderThanSeconds: 900 });
    expect(store.released).toEqual([
      ['abandoned', 'abandoned-token'],
      ['legacy', 'legacy-token'],
      ['taken', 'taken-token'],
    ]);
    expect(report).toMatchObject({ checked: 5, released: 2, pending: 3 });
    expect([...store.records.keys()].sort()).toEqual(['leased', 'queued', 'taken']);
  });
});
