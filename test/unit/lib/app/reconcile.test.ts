import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/lib/config.ts';
import { shardKeys, type IndexEntry, type Job } from '../../../../src/lib/domain/jobs.ts';
import type { JobStore } from '../../../../src/lib/adapters/job-store.ts';
import { dueWindows, reconcile } from '../../../../src/lib/app/reconcile.ts';
import { endingPorts } from '../../../../src/lib/wiring/endings.ts';

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
  function fakeStore(entries: IndexEntry[], cursor: Record<string, string> = {}) {
    const queried: string[] = [];
    const saved: Record<string, string>[] = [];
    const store = {
      reconcileCursor: async () => cursor,
      saveReconcileCursor: async (done: Record<string, string>) => {
        saved.push(done);
      },
      async *entries(key: string, from?: string, to?: string) {
        queried.push(key);
        for (const e of entries) {
          if (
            e.shardKey === key &&
            (from === undefined || e.submittedAt! >= from) &&
            e.submittedAt! < to!
          ) {
            yield e;
          }
        }
      },
      getMany: async (ids: string[]) =>
        ids.map((id) => ({ inferenceId: id, status: 'IN_PROGRESS' }) as Job),
      transition: async () => ({ applied: true }),
    } as unknown as JobStore;
    return { store, queried, saved };
  }
  const config = loadConfig();
  const s3 = () =>
    ({
      send: async () => Promise.reject(Object.assign(new Error('x'), { name: 'NoSuchKey' })),
    }) as never;

  it('queries every IN_PROGRESS shard of each window and checks only the due jobs', async () => {
    const key = shardKeys('IN_PROGRESS')[3]!;
    const entries: IndexEntry[] = [
      { inferenceId: 'young', submittedAt: ago(5), shardKey: key },
      { inferenceId: 'due', submittedAt: ago(16), shardKey: key },
      { inferenceId: 'between', submittedAt: ago(52), shardKey: key },
    ];
    const { store, queried } = fakeStore(entries);
    const report = await reconcile(endingPorts({ config, store, s3, now: () => now }), {
      olderThanSeconds: 900,
    });
    expect(report).toMatchObject({ read: 1, checked: 1, pending: 1, cutShort: false });
    expect(new Set(queried)).toEqual(new Set(shardKeys('IN_PROGRESS')));
  });

  it('starts no new work within its deadline and says so', async () => {
    const { store, queried } = fakeStore([]);
    const report = await reconcile(endingPorts({ config, store, s3, now: () => now }), {
      olderThanSeconds: 900,
      remainingMs: () => 1000,
    });
    expect(report).toMatchObject({ read: 0, cutShort: true });
    expect(queried).toHaveLength(0);
  });

  it('stops inside a crowded window at its deadline', async () => {
    const key = shardKeys('IN_PROGRESS')[0]!;
    const entries: IndexEntry[] = Array.from({ length: 250 }, (_, i) => ({
      inferenceId: `j${i}`,
      submittedAt: new Date(now.getTime() - 16 * 60_000 - i).toISOString(),
      shardKey: key,
    }));
    const { store } = fakeStore(entries);
    let checked = 0;
    const report = await reconcile(endingPorts({ config, store, s3, now: () => now }), {
      olderThanSeconds: 900,
      remainingMs: () => (checked++ < 1 ? 60_000 : 0),
    });
    expect(report).toMatchObject({ read: 100, checked: 100, cutShort: true });
  });

  it('saves a cursor per check time read through; a window cut short keeps its old one', async () => {
    const step = String(15 * 60_000);
    const full = fakeStore([]);
    await reconcile(endingPorts({ config, store: full.store, s3, now: () => now }), {
      olderThanSeconds: 900,
    });
    expect(full.saved[0]?.[step]).toBe(ago(15));
    let calls = 0;
    const cut = fakeStore([], { [step]: ago(20) });
    await reconcile(
      endingPorts({ config, store: cut.store, s3, now: () => now }),
      // Time for a few shards of the first window only.
      { olderThanSeconds: 900, remainingMs: () => (calls++ < 3 ? 60_000 : 0) },
    );
    expect(cut.saved[0]?.[step]).toBe(ago(20));
  });

  it('releases a claim never queued whose lease is over; leaves every other unfinished job', async () => {
    const key = shardKeys('IN_PROGRESS')[5]!;
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
    const { store } = fakeStore(
      jobs.map((j) => ({ inferenceId: j.inferenceId, submittedAt: j.submittedAt, shardKey: key })),
    );
    const released: string[][] = [];
    Object.assign(store, {
      getMany: async (ids: string[]) => jobs.filter((j) => ids.includes(j.inferenceId)),
      // `taken`: a retry took it over between the read and the release.
      release: async (id: string, token: string) => {
        released.push([id, token]);
        return id !== 'taken';
      },
    });
    const report = await reconcile(endingPorts({ config, store, s3, now: () => now }), {
      olderThanSeconds: 900,
    });
    expect(released).toEqual([
      ['abandoned', 'abandoned-token'],
      ['legacy', 'legacy-token'],
      ['taken', 'taken-token'],
    ]);
    expect(report).toMatchObject({ checked: 5, released: 2, pending: 3 });
  });
});
