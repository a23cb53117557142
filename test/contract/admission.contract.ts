import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lane, QueueSnapshot, WaitingEntry } from '../../src/lib/domain/admission.ts';
import type { AdmissionJobs, AdmissionQueue } from '../../src/lib/app/ports/admission.ts';
import type { JobRepository } from '../../src/lib/app/ports/job-repository.ts';
import {
  shardOf,
  waitKeyOf,
  waitSortOf,
  type Job,
  type Outcome,
} from '../../src/lib/domain/jobs.ts';
import { waitFor } from '../support/lambda.ts';

/*
 * Queue control's storage, the fakes (test/support/fakes/admission.ts and the job repository's
 * AdmissionJobs) and the DynamoDB adapters on dynalite alike: the lanes (the sparse waiting
 * index: order across shards, the limit per shard, counts under a cap), the window's slots, the
 * snapshot, and the conditional writes that decide queue control's races, each raced for real
 * (Promise.all against the emulator): of two racers exactly one wins, and what the loser is
 * answered is the record as the winner left it. The index is read with a wait for the expected
 * state: a global secondary index is eventually consistent.
 */

export interface AdmissionRig {
  repo: JobRepository & AdmissionJobs;
  queue: AdmissionQueue;
  close(): Promise<void>;
}

const T0 = Date.parse('2026-11-24T12:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const DEADLINE = at(600);

/** Ids of the given shard (`label-n`), as many as asked. */
function idsInShard(label: string, shard: number, n: number): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < n; i++) {
    const candidate = `${label}-${i}`;
    if (shardOf(candidate) === shard) ids.push(candidate);
  }
  return ids;
}

function claimOf(inferenceId: string, endpointName: string, extra: Partial<Job> = {}): Job {
  return {
    inferenceId,
    status: 'IN_PROGRESS',
    endpointName,
    submittedAt: at(0),
    expiresAt: 1_800_000_000,
    claimToken: randomUUID(),
    leaseUntil: at(30),
    priority: 'normal',
    tenant: 'teamA',
    maxQueueSeconds: 600,
    queueDeadline: DEADLINE,
    ...extra,
  };
}

/** A claim marked to wait: it enters its lane in the claim's own write. */
const waiting = (inferenceId: string, endpointName: string, extra: Partial<Job> = {}): Job =>
  claimOf(inferenceId, endpointName, { enqueuedAt: at(0), ...extra });

const ending = (status: Outcome['status'], extra: Partial<Outcome> = {}): Outcome => ({
  status,
  endpointName: 'ignored',
  completedAt: at(700),
  expiresAt: 1_900_000_000,
  ...extra,
});

const snapshotOf = (endpointName: string, window: number): QueueSnapshot => ({
  endpointName,
  computedAt: at(5),
  lanes: {
    high: { depth: 0, exact: true },
    normal: { depth: 3, exact: true, oldestAgeSeconds: 42 },
    low: { depth: 1000, exact: false, oldestAgeSeconds: 900 },
  },
  inFlight: 2,
  inFlightByTenant: { teamA: 1, teamB: 1 },
  window,
  capacity: { instances: 1, perInstanceConcurrency: 1, headroom: 1, observedAt: at(1) },
});

export function admissionContract(name: string, start: () => Promise<AdmissionRig>): void {
  describe(`AdmissionQueue and AdmissionJobs contract: ${name}`, () => {
    let rig: AdmissionRig;
    let repo: AdmissionRig['repo'];
    let queue: AdmissionQueue;
    /** A fresh endpoint per test: its lanes and slots are the test's own. */
    const endpoint = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
    const id = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

    /** The lane's heads once they are `n` entries (the index catches up). */
    const headsOf = (ep: string, lane: Lane, limit: number, n: number) =>
      waitFor(
        async () => {
          const h = await queue.heads(ep, lane, limit);
          return h.length === n ? h : undefined;
        },
        { what: `${n} heads of ${ep} ${lane}` },
      );
    const idsOf = (entries: WaitingEntry[]) => entries.map((e) => e.inferenceId);
    /** One tenant's heads of a lane once they are `n` entries (the by-tenant index catches up). */
    const tenantHeadsOf = (ep: string, lane: Lane, tenant: string, limit: number, n: number) =>
      waitFor(
        async () => {
          const h = await queue.tenantHeads(ep, lane, tenant, limit);
          return h.length === n ? h : undefined;
        },
        { what: `${n} heads of ${ep} ${lane} ${tenant}` },
      );

    beforeAll(async () => {
      rig = await start();
      repo = rig.repo;
      queue = rig.queue;
    });
    afterAll(async () => {
      await rig?.close();
    });

    it('a claim marked to wait enters its lane in the same write; one without never does', async () => {
      const ep = endpoint('enter');
      const job = id('waits');
      expect(await repo.claim(waiting(job, ep, { tenant: 'teamB' }))).toBeUndefined();
      // Admission off: the lane fields are recorded, and nothing waits.
      expect(await repo.claim(claimOf(id('direct'), ep))).toBeUndefined();
      const [head] = await headsOf(ep, 'normal', 10, 1);
      expect(head).toEqual({
        inferenceId: job,
        endpointName: ep,
        lane: 'normal',
        tenant: 'teamB',
        enqueuedAt: at(0),
        queueDeadline: DEADLINE,
      });
      expect(await repo.get(job)).toMatchObject({
        waitKey: waitKeyOf(ep, 'normal', job),
        waitSort: waitSortOf(at(0), job),
      });
      expect(await queue.heads(ep, 'high', 10)).toEqual([]);
    });

    it('heads: each lane alone, oldest first across shards, at most `limit` per shard', async () => {
      const ep = endpoint('heads');
      const [a1, a2, a3] = idsInShard(`heads-a-${ep}`, 3, 3) as [string, string, string];
      const [b1] = idsInShard(`heads-b-${ep}`, 17, 1) as [string];
      const [c1] = idsInShard(`heads-c-${ep}`, 30, 1) as [string];
      // Written out of order: the order answered is the index's.
      await repo.claim(waiting(a3, ep, { enqueuedAt: at(50) }));
      await repo.claim(waiting(b1, ep, { enqueuedAt: at(20) }));
      await repo.claim(waiting(a1, ep, { enqueuedAt: at(10) }));
      await repo.claim(waiting(c1, ep, { enqueuedAt: at(40) }));
      await repo.claim(waiting(a2, ep, { enqueuedAt: at(30) }));
      const high = id('high');
      await repo.claim(waiting(high, ep, { priority: 'high', enqueuedAt: at(1) }));
      expect(idsOf(await headsOf(ep, 'normal', 10, 5))).toEqual([a1, b1, a2, c1, a3]);
      // Two per shard: shard 3's third is left for the next round.
      expect(idsOf(await headsOf(ep, 'normal', 2, 4))).toEqual([a1, b1, a2, c1]);
      expect(idsOf(await headsOf(ep, 'high', 10, 1))).toEqual([high]);
      expect(await queue.heads(ep, 'low', 10)).toEqual([]);
    });

    it('tenantHeads: one tenant of one lane, oldest first across its shards, at most `limit` per shard', async () => {
      const ep = endpoint('theads');
      const [a1, a2, a3] = idsInShard(`theads-a-${ep}`, 5, 3) as [string, string, string];
      const [b1] = idsInShard(`theads-b-${ep}`, 21, 1) as [string];
      const [other] = idsInShard(`theads-o-${ep}`, 5, 1) as [string];
      // The other tenant's job is older than all of teamA's: it is not among them.
      await repo.claim(waiting(other, ep, { tenant: 'teamB', enqueuedAt: at(1) }));
      await repo.claim(waiting(a3, ep, { enqueuedAt: at(40) }));
      await repo.claim(waiting(b1, ep, { enqueuedAt: at(20) }));
      await repo.claim(waiting(a1, ep, { enqueuedAt: at(10) }));
      await repo.claim(waiting(a2, ep, { enqueuedAt: at(30) }));
      await repo.claim(waiting(id('high'), ep, { priority: 'high', enqueuedAt: at(2) }));
      const heads = await tenantHeadsOf(ep, 'normal', 'teamA', 10, 4);
      expect(idsOf(heads)).toEqual([a1, b1, a2, a3]);
      expect(heads[0]).toEqual({
        inferenceId: a1,
        endpointName: ep,
        lane: 'normal',
        tenant: 'teamA',
        enqueuedAt: at(10),
        queueDeadline: DEADLINE,
      });
      // Two per shard: shard 5's third is left for the next round.
      expect(idsOf(await tenantHeadsOf(ep, 'normal', 'teamA', 2, 3))).toEqual([a1, b1, a2]);
      expect(idsOf(await tenantHeadsOf(ep, 'normal', 'teamB', 10, 1))).toEqual([other]);
      expect(await queue.tenantHeads(ep, 'low', 'teamA', 10)).toEqual([]);
      expect(await repo.get(a1)).toMatchObject({
        tenantWaitKey: `${ep}#normal#teamA#05`,
      });
    });

    it('the by-tenant index holds exactly the waiting jobs: enqueue, dispatch, requeue, ending', async () => {
      const ep = endpoint('tlife');
      const [body, given, ended] = [id('body'), id('given'), id('ended')];
      // A body's claim enters its lane with enqueue; one with its input in place, with its claim.
      const claim = claimOf(body, ep, { tenant: 'teamC' });
      await repo.claim(claim);
      await repo.claim(waiting(given, ep, { tenant: 'teamC', enqueuedAt: at(1) }));
      await repo.claim(waiting(ended, ep, { tenant: 'teamC', enqueuedAt: at(3) }));
      expect(await repo.enqueue(claim, at(2))).toBe(true);
      expect(idsOf(await tenantHeadsOf(ep, 'normal', 'teamC', 10, 3))).toEqual([
        given,
        body,
        ended,
      ]);
      const d = await repo.dispatch(given, { slot: 0, at: at(10), leaseUntil: at(40) });
      expect(d.job?.tenantWaitKey).toBeUndefined();
      expect(
        (await repo.transition(ended, ending('CANCELLED', { from: 'waiting' }))).job?.tenantWaitKey,
      ).toBeUndefined();
      expect(idsOf(await tenantHeadsOf(ep, 'normal', 'teamC', 10, 1))).toEqual([body]);
      // Back at its old place.
      expect(await repo.requeue(given, at(10))).toBe(true);
      expect(idsOf(await tenantHeadsOf(ep, 'normal', 'teamC', 10, 2))).toEqual([given, body]);
    });

    it('the tenant registry: registrations only move forward; a forget applies only to the one read', async () => {
      const ep = endpoint('registry');
      expect(await queue.tenants(ep)).toEqual([]);
      await queue.registerTenant(ep, 'normal', 'teamA', at(10));
      await queue.registerTenant(ep, 'high', 'teamA', at(11));
      await queue.registerTenant(ep, 'normal', 'team.b-1', at(12));
      await queue.registerTenant(endpoint('other'), 'low', 'teamA', at(13));
      // An older registration (a slow clock) leaves the later one.
      await queue.registerTenant(ep, 'normal', 'teamA', at(5));
      expect(await queue.tenants(ep)).toEqual([
        { lane: 'high', tenant: 'teamA', registeredAt: at(11) },
        { lane: 'normal', tenant: 'team.b-1', registeredAt: at(12) },
        { lane: 'normal', tenant: 'teamA', registeredAt: at(10) },
      ]);
      // Registered again after the round read it: the round's forget is refused.
      await queue.registerTenant(ep, 'normal', 'teamA', at(20));
      expect(await queue.forgetTenant(ep, 'normal', 'teamA', at(10))).toBe(false);
      const [won, lost] = await Promise.all([
        queue.forgetTenant(ep, 'high', 'teamA', at(11)),
        queue.forgetTenant(ep, 'high', 'teamA', at(11)),
      ]);
      expect([won, lost].filter(Boolean)).toHaveLength(1);
      expect(await queue.forgetTenant(ep, 'low', 'nobody', at(1))).toBe(false);
      expect(await queue.tenants(ep)).toEqual([
        { lane: 'normal', tenant: 'team.b-1', registeredAt: at(12) },
        { lane: 'normal', tenant: 'teamA', registeredAt: at(20) },
      ]);
    });

    it('the tenant registry keeps every tenant-lane across its items, and reads them all back', async () => {
      // Enough names to land in every part (test/unit/lib/adapters/tenant-registry.test.ts holds
      // the spread; 8 parts of 400 KB hold about 30,000 tenant-lanes of 64-character names).
      const ep = endpoint('many');
      const tenants = Array.from({ length: 100 }, (_, i) => `t${String(i).padStart(63, '0')}`);
      const all = tenants.flatMap((tenant) =>
        (['high', 'normal', 'low'] as const).map((lane) => ({ lane, tenant })),
      );
      await Promise.all(
        all.map(({ lane, tenant }) => queue.registerTenant(ep, lane, tenant, at(1))),
      );
      const read = await queue.tenants(ep);
      expect(read).toHaveLength(all.length);
      expect(read.filter((r) => r.lane === 'low').map((r) => r.tenant)).toEqual(tenants);
    });

    it('count: the entries before a place, under a cap, and whether the figure is exact', async () => {
      const ep = endpoint('count');
      const ids = Array.from({ length: 7 }, (_, i) => `count-${ep}-${i}`);
      // Spread over more than one shard.
      expect(new Set(ids.map((i) => shardOf(i))).size).toBeGreaterThan(1);
      for (const [i, job] of ids.entries()) {
        await repo.claim(waiting(job, ep, { enqueuedAt: at(i) }));
      }
      await headsOf(ep, 'normal', 10, 7);
      expect(await queue.count(ep, 'normal', 100)).toEqual({ count: 7, exact: true });
      expect(await queue.count(ep, 'normal', 3)).toEqual({ count: 3, exact: false });
      const fifth = waitSortOf(at(4), ids[4]!);
      expect(await queue.count(ep, 'normal', 100, fifth)).toEqual({ count: 4, exact: true });
      expect(await queue.count(ep, 'normal', 2, fifth)).toEqual({ count: 2, exact: false });
      expect(await queue.count(ep, 'low', 100)).toEqual({ count: 0, exact: true });
    });

    it('of two dispatchers claiming one slot at once, exactly one holds it; only it frees it, once', async () => {
      const ep = endpoint('slots');
      const holder = (inferenceId: string) => ({ inferenceId, tenant: 'teamA', since: at(1) });
      const [a, b] = [id('slot-a'), id('slot-b')];
      const won = await Promise.all([
        queue.claimSlot(ep, 0, holder(a)),
        queue.claimSlot(ep, 0, holder(b)),
      ]);
      expect(won.filter(Boolean)).toHaveLength(1);
      const winner = won[0] ? a : b;
      const loser = won[0] ? b : a;
      expect(await queue.slots(ep, 2)).toEqual([
        { index: 0, holder: holder(winner) },
        { index: 1 },
      ]);
      // Not even the winner's job may claim it again (its dispatcher would then release the
      // slot its winner runs in).
      expect(await queue.claimSlot(ep, 0, holder(winner))).toBe(false);
      expect(await queue.releaseSlot(ep, 0, loser)).toBe(false);
      expect(await queue.releaseSlot(ep, 1, winner)).toBe(false);
      const released = await Promise.all([
        queue.releaseSlot(ep, 0, winner),
        queue.releaseSlot(ep, 0, winner),
      ]);
      expect(released.filter(Boolean)).toHaveLength(1);
      expect(await queue.slots(ep, 1)).toEqual([{ index: 0 }]);
      expect(await queue.claimSlot(ep, 0, holder(loser))).toBe(true);
    });

    it('keeps the class a holder was handed over in, and none once the slot is free again', async () => {
      const ep = endpoint('class');
      const aged = {
        inferenceId: id('aged'),
        tenant: 't',
        since: at(3),
        lane: 'high' as const,
        aged: true,
      };
      expect(await queue.claimSlot(ep, 0, aged)).toBe(true);
      expect(await queue.slots(ep, 1)).toEqual([{ index: 0, holder: aged }]);
      expect(await queue.releaseSlot(ep, 0, aged.inferenceId)).toBe(true);
      // The next holder (one with no class: an older dispatcher's) inherits none of it.
      const plain = { inferenceId: id('plain'), tenant: 'u', since: at(4) };
      expect(await queue.claimSlot(ep, 0, plain)).toBe(true);
      expect(await queue.slots(ep, 1)).toEqual([{ index: 0, holder: plain }]);
    });

    it('reads a window wider than one batch read, free slots included', async () => {
      const ep = endpoint('wide');
      const holder = { inferenceId: id('wide'), tenant: 't', since: at(2) };
      expect(await queue.claimSlot(ep, 0, holder)).toBe(true);
      expect(await queue.claimSlot(ep, 129, holder)).toBe(true);
      const slots = await queue.slots(ep, 130);
      expect(slots.map((s) => s.index)).toEqual(Array.from({ length: 130 }, (_, i) => i));
      expect(slots.filter((s) => s.holder).map((s) => s.index)).toEqual([0, 129]);
      expect(await queue.slots(endpoint('none'), 0)).toEqual([]);
    });

    it('keeps the last snapshot of each endpoint', async () => {
      const ep = endpoint('snap');
      expect(await queue.snapshot(ep)).toBeUndefined();
      await queue.saveSnapshot(snapshotOf(ep, 2));
      await queue.saveSnapshot(snapshotOf(endpoint('other'), 9));
      expect(await queue.snapshot(ep)).toEqual(snapshotOf(ep, 2));
      await queue.saveSnapshot(snapshotOf(ep, 3));
      expect((await queue.snapshot(ep))?.window).toBe(3);
    });

    it('dispatches a waiting job once: out of its lane, with its slot, dispatchedAt and lease', async () => {
      const ep = endpoint('dispatch');
      const job = id('dispatch');
      await repo.claim(waiting(job, ep));
      await headsOf(ep, 'normal', 10, 1);
      const d = { slot: 4, at: at(60), leaseUntil: at(90) };
      const first = await repo.dispatch(job, d);
      expect(first.dispatched).toBe(true);
      expect(first.job).toMatchObject({ dispatchedAt: at(60), slot: 4, leaseUntil: at(90) });
      expect(first.job?.waitKey).toBeUndefined();
      // Its place is kept on the record, out of the index, for a requeue.
      expect(first.job?.waitSort).toBe(waitSortOf(at(0), job));
      await headsOf(ep, 'normal', 10, 0);
      const again = await repo.dispatch(job, { ...d, slot: 5, at: at(61) });
      expect(again).toMatchObject({ dispatched: false, job: { dispatchedAt: at(60), slot: 4 } });
      expect(await repo.dispatch(id('unknown'), d)).toEqual({ dispatched: false });
      // Admission off: a job that never waited is never dispatched.
      const direct = id('direct');
      await repo.claim(claimOf(direct, ep));
      expect((await repo.dispatch(direct, d)).dispatched).toBe(false);
    });

    it('never dispatches at or after the queueDeadline, nor a cancel-requested job', async () => {
      const ep = endpoint('refused');
      const late = id('late');
      await repo.claim(waiting(late, ep, { queueDeadline: at(100) }));
      for (const t of [at(100), at(101)]) {
        const res = await repo.dispatch(late, { slot: 0, at: t, leaseUntil: at(130) });
        expect(res.dispatched).toBe(false);
        expect(res.job).toMatchObject({ waitKey: waitKeyOf(ep, 'normal', late) });
      }
      expect(
        (await repo.dispatch(late, { slot: 0, at: at(99), leaseUntil: at(130) })).dispatched,
      ).toBe(true);
      const asked = id('asked');
      await repo.claim(waiting(asked, ep, { cancelRequested: true }));
      const res = await repo.dispatch(asked, { slot: 1, at: at(1), leaseUntil: at(30) });
      expect(res).toMatchObject({ dispatched: false, job: { cancelRequested: true } });
      expect(res.job?.dispatchedAt).toBeUndefined();
    });

    it('a cancel (or an expiry) racing a dispatch of a waiting job: exactly one wins, and stays won', async () => {
      const ep = endpoint('race');
      for (const status of ['CANCELLED', 'EXPIRED', 'CANCELLED', 'EXPIRED'] as const) {
        const job = id(`race-${status}`);
        await repo.claim(waiting(job, ep));
        const [d, e] = await Promise.all([
          repo.dispatch(job, { slot: 0, at: at(10), leaseUntil: at(40) }),
          repo.transition(job, ending(status, { from: 'waiting', failureReason: 'ended' })),
        ]);
        expect([d.dispatched, e.applied].filter(Boolean)).toHaveLength(1);
        const stored = (await repo.get(job)) as Job;
        expect(stored.waitKey).toBeUndefined();
        if (d.dispatched) {
          expect(stored).toMatchObject({ status: 'IN_PROGRESS', dispatchedAt: at(10) });
          if (e.job) expect(e.job.dispatchedAt).toBe(at(10));
        } else {
          expect(stored.status).toBe(status);
          expect(stored.dispatchedAt).toBeUndefined();
          expect(d.job?.status).toBe(status);
        }
        // Whoever won, the other's repeat changes nothing.
        expect(
          (await repo.dispatch(job, { slot: 1, at: at(11), leaseUntil: at(41) })).dispatched,
        ).toBe(false);
        expect((await repo.transition(job, ending(status, { from: 'waiting' }))).applied).toBe(
          false,
        );
        expect((await repo.get(job))?.status).toBe(stored.status);
      }
      await headsOf(ep, 'normal', 10, 0);
    });

    it('a cancel request racing a dispatch: requested only once dispatched, never of a waiting job', async () => {
      const ep = endpoint('ask');
      for (let i = 0; i < 4; i++) {
        const job = id('ask');
        await repo.claim(waiting(job, ep));
        const [d, c] = await Promise.all([
          repo.dispatch(job, { slot: 0, at: at(10), leaseUntil: at(40) }),
          repo.requestCancel(job, at(10)),
        ]);
        expect(d.dispatched).toBe(true);
        const stored = (await repo.get(job)) as Job;
        if (c.requested) {
          expect(c.job).toMatchObject({ dispatchedAt: at(10), cancelRequested: true });
          expect(stored).toMatchObject({ cancelRequested: true, cancelRequestedAt: at(10) });
        } else {
          // Refused while waiting: answered the record as found.
          expect(c.job?.status).toBe('IN_PROGRESS');
          expect(stored.cancelRequested).toBeUndefined();
        }
      }
    });

    it('a cancel request racing the notification: exactly one wins; a cancel-requested job ends CANCELLED once, its result dropped', async () => {
      const ep = endpoint('notify');
      for (let i = 0; i < 4; i++) {
        const job = id('notify');
        await repo.claim(waiting(job, ep));
        await repo.dispatch(job, { slot: 0, at: at(10), leaseUntil: at(40) });
        await repo.markQueued(job, { outputLocation: `s3://o/${job}.out` });
        const result = { result: '{"ok":1}', resultEncoding: 'utf8', resultBytes: 8 } as const;
        const [c, n] = await Promise.all([
          repo.requestCancel(job, at(20)),
          repo.transition(job, ending('COMPLETED', result)),
        ]);
        expect([c.requested, n.applied].filter(Boolean)).toHaveLength(1);
        if (n.applied) {
          expect(c.job?.status).toBe('COMPLETED');
          expect((await repo.get(job))?.status).toBe('COMPLETED');
          continue;
        }
        if (n.job) expect(n.job.cancelRequested).toBe(true);
        // A duplicate of the notification is refused the same way.
        expect((await repo.transition(job, ending('FAILED'))).applied).toBe(false);
        const ends = await Promise.all([
          repo.transition(job, ending('CANCELLED', { from: 'cancelRequested', ...result })),
          repo.transition(job, ending('CANCELLED', { from: 'cancelRequested', ...result })),
        ]);
        expect(ends.filter((e) => e.applied)).toHaveLength(1);
        const stored = (await repo.get(job)) as Job;
        expect(stored).toMatchObject({ status: 'CANCELLED', outputLocation: `s3://o/${job}.out` });
        expect(stored.result).toBeUndefined();
        expect(stored.resultBytes).toBeUndefined();
        expect(stored.resultEncoding).toBeUndefined();
      }
    });

    it('each ending applies only to its own state: waiting, cancel-requested, or neither', async () => {
      const ep = endpoint('states');
      const w = id('waiting');
      await repo.claim(waiting(w, ep));
      // A notification's or reconcile's ending never ends a job still in its lane...
      expect((await repo.transition(w, ending('FAILED'))).applied).toBe(false);
      expect(
        (await repo.transition(w, ending('CANCELLED', { from: 'cancelRequested' }))).applied,
      ).toBe(false);
      expect((await repo.get(w))?.status).toBe('IN_PROGRESS');
      // ...a waiting ending never one out of it, nor creates a record.
      const direct = id('direct');
      await repo.claim(claimOf(direct, ep));
      expect((await repo.transition(direct, ending('EXPIRED', { from: 'waiting' }))).applied).toBe(
        false,
      );
      const none = id('none');
      expect(await repo.transition(none, ending('CANCELLED', { from: 'waiting' }))).toEqual({
        applied: false,
      });
      expect(await repo.transition(none, ending('CANCELLED', { from: 'cancelRequested' }))).toEqual(
        { applied: false },
      );
      expect(await repo.get(none)).toBeUndefined();
      // Admission off: an in-flight job is cancel-requested too, and its ending is the cancel.
      const asked = await repo.requestCancel(direct, at(5));
      expect(asked).toMatchObject({ requested: true, job: { cancelRequested: true } });
      expect(await repo.requestCancel(direct, at(6))).toMatchObject({
        requested: false,
        job: { cancelRequestedAt: at(5) },
      });
      const done = await repo.transition(direct, ending('CANCELLED', { from: 'cancelRequested' }));
      expect(done).toMatchObject({ applied: true, job: { status: 'CANCELLED' } });
    });

    it('terminal is terminal: CANCELLED and EXPIRED never flip under any repeat', async () => {
      const ep = endpoint('terminal');
      const cancelled = id('cancelled');
      const expired = id('expired');
      await repo.claim(waiting(cancelled, ep));
      await repo.claim(waiting(expired, ep));
      expect(
        (await repo.transition(cancelled, ending('CANCELLED', { from: 'waiting' }))).applied,
      ).toBe(true);
      expect((await repo.transition(expired, ending('EXPIRED', { from: 'waiting' }))).applied).toBe(
        true,
      );
      for (const job of [cancelled, expired]) {
        const before = await repo.get(job);
        for (const o of [
          ending('COMPLETED', { result: 'x' }),
          ending('FAILED'),
          ending('CANCELLED', { from: 'waiting' }),
          ending('EXPIRED', { from: 'waiting' }),
          ending('CANCELLED', { from: 'cancelRequested' }),
        ]) {
          expect((await repo.transition(job, o)).applied).toBe(false);
        }
        expect((await repo.requestCancel(job, at(9))).requested).toBe(false);
        expect(
          (await repo.dispatch(job, { slot: 0, at: at(1), leaseUntil: at(2) })).dispatched,
        ).toBe(false);
        expect(await repo.get(job)).toEqual(before);
      }
      expect((await repo.get(cancelled))?.status).toBe('CANCELLED');
      expect((await repo.get(expired))?.status).toBe('EXPIRED');
      await headsOf(ep, 'normal', 10, 0);
    });

    it('requeues a dispatch that never reached SageMaker once, at its old place; never after markQueued', async () => {
      const ep = endpoint('requeue');
      const [first, second] = [`rq-a-${ep}`, `rq-b-${ep}`];
      await repo.claim(waiting(first, ep, { enqueuedAt: at(1) }));
      await repo.claim(waiting(second, ep, { enqueuedAt: at(2) }));
      await headsOf(ep, 'normal', 10, 2);
      await repo.dispatch(first, { slot: 0, at: at(10), leaseUntil: at(40) });
      await headsOf(ep, 'normal', 10, 1);
      expect(await repo.requeue(first, at(11))).toBe(false);
      const again = await Promise.all([repo.requeue(first, at(10)), repo.requeue(first, at(10))]);
      expect(again.filter(Boolean)).toHaveLength(1);
      // Back ahead of the job enqueued after it.
      expect(idsOf(await headsOf(ep, 'normal', 10, 2))).toEqual([first, second]);
      const back = (await repo.get(first)) as Job;
      expect(back.dispatchedAt).toBeUndefined();
      expect(back.slot).toBeUndefined();
      // Dispatched again, then queued with SageMaker: never back in a lane.
      await repo.dispatch(first, { slot: 1, at: at(20), leaseUntil: at(50) });
      await repo.markQueued(first, { outputLocation: 's3://o/rq.out' });
      expect(await repo.requeue(first, at(20))).toBe(false);
      // A cancel-requested dispatch is not requeued: its caller ends it CANCELLED.
      await repo.dispatch(second, { slot: 2, at: at(21), leaseUntil: at(51) });
      await repo.requestCancel(second, at(22));
      expect(await repo.requeue(second, at(21))).toBe(false);
      await headsOf(ep, 'normal', 10, 0);
      expect(await repo.requeue(id('none'), at(1))).toBe(false);
    });

    it('enqueue: a claim enters its lane once its input is stored, only once, only its own', async () => {
      const ep = endpoint('enqueue');
      const job = claimOf(id('enq'), ep);
      await repo.claim(job);
      await headsOf(ep, 'normal', 10, 0);
      expect(await repo.enqueue({ ...job, claimToken: 'another' }, at(3))).toBe(false);
      expect(await repo.enqueue({ ...job, priority: 'high' }, at(3))).toBe(false);
      expect(await repo.enqueue(job, at(3))).toBe(true);
      // The same call repeated (its answer lost) is its own; another is refused.
      expect(await repo.enqueue(job, at(3))).toBe(true);
      expect(await repo.enqueue(job, at(4))).toBe(false);
      const [head] = await headsOf(ep, 'normal', 10, 1);
      expect(head).toMatchObject({ inferenceId: job.inferenceId, enqueuedAt: at(3) });
      const asked = claimOf(id('enq-asked'), ep);
      await repo.claim(asked);
      await repo.requestCancel(asked.inferenceId, at(1));
      expect(await repo.enqueue(asked, at(3))).toBe(false);
    });

    it('a record in a lane is never taken over or released as a dead claim', async () => {
      const ep = endpoint('held');
      const inLane = waiting(id('held'), ep);
      await repo.claim(inLane);
      expect(
        await repo.takeOver(claimOf(inLane.inferenceId, ep), inLane.claimToken!),
      ).toMatchObject({
        taken: false,
        current: { enqueuedAt: at(0) },
      });
      expect(await repo.release(inLane.inferenceId, inLane.claimToken!)).toBe(false);
      await repo.dispatch(inLane.inferenceId, { slot: 0, at: at(1), leaseUntil: at(2) });
      expect((await repo.takeOver(claimOf(inLane.inferenceId, ep), inLane.claimToken!)).taken).toBe(
        false,
      );
      expect(await repo.release(inLane.inferenceId, inLane.claimToken!)).toBe(false);
      expect((await repo.get(inLane.inferenceId))?.dispatchedAt).toBe(at(1));
    });
  });
}
