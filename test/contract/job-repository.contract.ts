import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { JobRepository } from '../../src/lib/app/ports/job-repository.ts';
import { shardKey, shardKeys, type Job, type Outcome } from '../../src/lib/domain/jobs.ts';
import { freshId, useRig } from './rig.ts';

/*
 * What every JobRepository does, the fake (test/support/fakes/job-repository.ts) and the DynamoDB
 * adapter against dynalite alike: the conditional writes that decide races (of two racers exactly
 * one wins), repeats and missing keys, the index's order and windows, the TTL attribute of the
 * records and markers. A fake that drifts from the adapter fails here, not in production.
 */

export interface JobRepositoryRig {
  repo: JobRepository;
  /** The TTL attribute (epoch seconds) of a job's announcement marker, as stored. */
  markerExpiresAt(inferenceId: string): Promise<number | undefined>;
  close(): Promise<void>;
}

const T = '2026-11-24T12:00:00.000Z';

function claimOf(inferenceId: string, extra: Partial<Job> = {}): Job {
  return {
    inferenceId,
    status: 'IN_PROGRESS',
    endpointName: 'demo-endpoint',
    submittedAt: T,
    expiresAt: 1_800_000_000,
    claimToken: randomUUID(),
    leaseUntil: T,
    ...extra,
  };
}

const outcome = (status: 'COMPLETED' | 'FAILED', extra: Partial<Outcome> = {}): Outcome => ({
  status,
  endpointName: 'demo-endpoint',
  completedAt: '2026-11-24T12:05:00.000Z',
  expiresAt: 1_900_000_000,
  ...extra,
});

export function jobRepositoryContract(name: string, start: () => Promise<JobRepositoryRig>): void {
  describe(`JobRepository contract: ${name}`, () => {
    let rig: JobRepositoryRig;
    let repo: JobRepository;
    const id = freshId;
    useRig(start, (started) => {
      rig = started;
      repo = started.repo;
    });

    it('answers a missing key as none: get, peek, getMany', async () => {
      const missing = id('missing');
      expect(await repo.get(missing)).toBeUndefined();
      expect(await repo.peek(missing)).toBeUndefined();
      const there = id('there');
      await repo.claim(claimOf(there));
      expect((await repo.getMany([missing, there])).map((j) => j.inferenceId)).toEqual([there]);
    });

    it('claims a new id once; a repeat of the same claim is its own; another is answered the record', async () => {
      const job = claimOf(id('claim'));
      expect(await repo.claim(job)).toBeUndefined();
      // The SDK's own retry of a claim whose answer was lost: same token, still ours.
      expect(await repo.claim(job)).toBeUndefined();
      const other = await repo.claim({ ...job, claimToken: 'another' });
      expect(other).toMatchObject({ inferenceId: job.inferenceId, claimToken: job.claimToken });
      expect(await repo.get(job.inferenceId)).toMatchObject({
        status: 'IN_PROGRESS',
        shardKey: shardKey('IN_PROGRESS', job.inferenceId),
        // The TTL attribute is on the record from the claim on.
        expiresAt: 1_800_000_000,
      });
    });

    it('of two claims of one id at once, exactly one holds it', async () => {
      const inferenceId = id('claim-race');
      const answers = await Promise.all([
        repo.claim(claimOf(inferenceId)),
        repo.claim(claimOf(inferenceId)),
      ]);
      expect(answers.filter((a) => a === undefined)).toHaveLength(1);
    });

    it('markQueued fills in locations only where absent, and leaves the status', async () => {
      const job = claimOf(id('queued'));
      await repo.claim(job);
      const first = await repo.markQueued(job.inferenceId, {
        outputLocation: 's3://o/a.out',
        failureLocation: 's3://o/a-error.out',
      });
      expect(first).toMatchObject({ status: 'IN_PROGRESS', outputLocation: 's3://o/a.out' });
      const second = await repo.markQueued(job.inferenceId, { outputLocation: 's3://o/b.out' });
      expect(second.outputLocation).toBe('s3://o/a.out');
      await expect(
        repo.markQueued(id('never-claimed'), { outputLocation: 's3://o/c.out' }),
      ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    });

    it('of two takeovers of one dead claim, exactly one wins; the other sees the winner', async () => {
      const dead = claimOf(id('takeover'));
      await repo.claim(dead);
      const [a, b] = [claimOf(dead.inferenceId), claimOf(dead.inferenceId)];
      const answers = await Promise.all([
        repo.takeOver(a, dead.claimToken!),
        repo.takeOver(b, dead.claimToken!),
      ]);
      expect(answers.filter((x) => x.taken)).toHaveLength(1);
      const winner = answers[0]!.taken ? a : b;
      const loser = answers.find((x) => !x.taken) as { taken: false; current?: Job };
      expect(loser.current?.claimToken).toBe(winner.claimToken);
      // The new claim replaced the dead one whole.
      expect((await repo.get(dead.inferenceId))?.claimToken).toBe(winner.claimToken);
      // A takeover repeated by the SDK (its answer lost) is still its own.
      expect(await repo.takeOver(winner, dead.claimToken!)).toEqual({ taken: true });
    });

    it('never takes over or releases a claim that was queued', async () => {
      const job = claimOf(id('queued-claim'));
      await repo.claim(job);
      await repo.markQueued(job.inferenceId, { outputLocation: 's3://o/q.out' });
      expect(await repo.takeOver(claimOf(job.inferenceId), job.claimToken!)).toMatchObject({
        taken: false,
        current: { outputLocation: 's3://o/q.out' },
      });
      expect(await repo.release(job.inferenceId, job.claimToken!)).toBe(false);
      expect(await repo.get(job.inferenceId)).toBeDefined();
    });

    it('releases an untouched claim once, only with its own token', async () => {
      const job = claimOf(id('release'));
      await repo.claim(job);
      expect(await repo.release(job.inferenceId, 'not-the-token')).toBe(false);
      expect(await repo.release(job.inferenceId, job.claimToken!)).toBe(true);
      expect(await repo.get(job.inferenceId)).toBeUndefined();
      expect(await repo.release(job.inferenceId, job.claimToken!)).toBe(false);
    });

    it('of two transitions at once, exactly one applies; the other is answered the record as found', async () => {
      const job = claimOf(id('transition'));
      await repo.claim(job);
      const answers = await Promise.all([
        repo.transition(job.inferenceId, outcome('COMPLETED', { result: '{}' })),
        repo.transition(job.inferenceId, outcome('FAILED', { failureReason: 'x' })),
      ]);
      expect(answers.filter((t) => t.applied)).toHaveLength(1);
      const won = answers.find((t) => t.applied)!;
      const lost = answers.find((t) => !t.applied)!;
      expect(won.job?.status).not.toBe('IN_PROGRESS');
      // AWS answers the loser the item as found (UpdateItem ReturnValuesOnConditionCheckFailure
      // ALL_OLD: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html);
      // dynalite answers nothing there. Either way never another record: endJob reads it then.
      if (lost.job !== undefined) expect(lost.job.status).toBe(won.job?.status);
      const stored = await repo.get(job.inferenceId);
      expect(stored?.status).toBe(won.job?.status);
      expect(stored?.shardKey).toBe(shardKey(stored!.status, job.inferenceId));
      // What the submit wrote stays: its TTL and endpoint are only filled in where absent.
      expect(stored).toMatchObject({ expiresAt: 1_800_000_000, submittedAt: T });
      // Terminal is terminal: a late duplicate changes nothing.
      const late = await repo.transition(job.inferenceId, outcome('FAILED'));
      expect(late.applied).toBe(false);
      expect((await repo.get(job.inferenceId))?.status).toBe(stored?.status);
    });

    it("stores the outcome, only fills in the submit's fields, and removes none of the claim's", async () => {
      const job = claimOf(id('outcome'), { inputLocation: 's3://i/claimed' });
      await repo.claim(job);
      await repo.transition(
        job.inferenceId,
        outcome('COMPLETED', {
          endpointName: 'other-endpoint',
          inputLocation: 's3://i/other',
          outputLocation: 's3://o/x.out',
          result: '{}',
          resultEncoding: 'utf8',
          resultBytes: 2,
        }),
      );
      expect(await repo.get(job.inferenceId)).toEqual({
        ...job,
        status: 'COMPLETED',
        shardKey: shardKey('COMPLETED', job.inferenceId),
        completedAt: '2026-11-24T12:05:00.000Z',
        outputLocation: 's3://o/x.out',
        result: '{}',
        resultEncoding: 'utf8',
        resultBytes: 2,
      });
    });

    it('creates the terminal record when the ending outran the submit', async () => {
      const inferenceId = id('outran');
      const t = await repo.transition(
        inferenceId,
        outcome('COMPLETED', { receivedAt: T, inputLocation: 's3://i/x' }),
      );
      expect(t.applied).toBe(true);
      expect(t.job).toMatchObject({
        inferenceId,
        status: 'COMPLETED',
        submittedAt: T,
        inputLocation: 's3://i/x',
        expiresAt: 1_900_000_000,
        shardKey: shardKey('COMPLETED', inferenceId),
      });
    });

    it('marks a job checked only while IN_PROGRESS', async () => {
      const job = claimOf(id('checked'));
      await repo.claim(job);
      await repo.markChecked(job.inferenceId, T);
      expect((await repo.get(job.inferenceId))?.checkedAt).toBe(T);
      await repo.transition(job.inferenceId, outcome('COMPLETED'));
      await repo.markChecked(job.inferenceId, '2026-11-25T00:00:00.000Z');
      expect((await repo.get(job.inferenceId))?.checkedAt).toBe(T);
      await repo.markChecked(id('nothing-there'), T);
      expect(await repo.get('nothing-there')).toBeUndefined();
    });

    it('lists one shard key oldest first, from <= submittedAt < to, and nothing of other keys', async () => {
      // Ids that hash to one IN_PROGRESS shard, submitted a minute apart far from other tests.
      const key = shardKeys('IN_PROGRESS')[7]!;
      const ids: string[] = [];
      for (let n = 0; ids.length < 4; n++) {
        const candidate = `window-${name}-${n}`;
        if (shardKey('IN_PROGRESS', candidate) === key) ids.push(candidate);
      }
      const at = (m: number) => `2020-01-01T00:0${m}:00.000Z`;
      // Written newest first: the order answered is the index's, not the writes'.
      for (const [i, inferenceId] of [...ids].reverse().entries()) {
        await repo.claim(claimOf(inferenceId, { submittedAt: at(3 - i) }));
      }
      const listed = async (from?: string, to?: string) => {
        const out: string[] = [];
        for await (const e of repo.entries(key, from, to)) {
          if (e.inferenceId.startsWith(`window-${name}-`)) out.push(e.inferenceId);
        }
        return out;
      };
      expect(await listed(at(0), at(9))).toEqual(ids);
      expect(await listed(at(1), at(3))).toEqual([ids[1], ids[2]]);
      expect(await listed(undefined, at(1))).toEqual([ids[0]]);
      const [first] = await (async () => {
        const out = [];
        for await (const e of repo.entries(key, at(0), at(1))) out.push(e);
        return out.filter((e) => e.inferenceId === ids[0]);
      })();
      expect(first).toMatchObject({ inferenceId: ids[0], submittedAt: at(0), shardKey: key });
      // Finished, the job leaves its IN_PROGRESS key.
      await repo.transition(ids[0]!, outcome('COMPLETED'));
      expect(await listed(at(0), at(9))).toEqual(ids.slice(1));
    });

    it("keeps reconcile's cursor: none at first, then what was saved", async () => {
      const before = await repo.reconcileCursor();
      expect(typeof before).toBe('object');
      const saved = { '900000': T, '1800000': '2026-11-24T11:30:00.000Z' };
      await repo.saveReconcileCursor(saved);
      expect(await repo.reconcileCursor()).toEqual(saved);
    });

    it('marks an announcement once sent, expiring with the job', async () => {
      const inferenceId = id('announced');
      expect(await repo.announced(inferenceId)).toBe(false);
      await repo.markAnnounced(inferenceId, T, 1_900_000_000);
      expect(await repo.announced(inferenceId)).toBe(true);
      expect(await rig.markerExpiresAt(inferenceId)).toBe(1_900_000_000);
    });

    it('of two retries taking the next attempt, exactly one wins', async () => {
      const base = id('attempts');
      await repo.claim(claimOf(base));
      const answers = await Promise.all([
        repo.takeAttempt(base, 1, 2, `${base}.2`),
        repo.takeAttempt(base, 1, 2, `${base}.2`),
      ]);
      expect(answers.filter(Boolean)).toHaveLength(1);
      expect(await repo.get(base)).toMatchObject({ attempts: 2, retriedBy: `${base}.2` });
      expect(await repo.takeAttempt(base, 1, 2, `${base}.2`)).toBe(false);
      expect(await repo.takeAttempt(base, 2, 3, `${base}.3`)).toBe(true);
      expect(await repo.takeAttempt(id('no-original'), 1, 2, 'x')).toBe(false);
    });

    it('settles a task callback once, dropping the token', async () => {
      const inferenceId = id('callback');
      await repo.claim(
        claimOf(inferenceId, { taskToken: 'token', taskCallback: { status: 'PENDING', at: T } }),
      );
      const settled = await Promise.all([
        repo.settleCallback(inferenceId, { status: 'SENT', at: T, detail: 'SendTaskSuccess' }),
        repo.settleCallback(inferenceId, { status: 'EXPIRED', at: T, detail: 'TaskTimedOut' }),
      ]);
      expect(settled.filter(Boolean)).toHaveLength(1);
      const job = await repo.get(inferenceId);
      expect(job?.taskToken).toBeUndefined();
      expect(['SENT', 'EXPIRED']).toContain(job?.taskCallback?.status);
      expect(await repo.settleCallback(id('none'), { status: 'SENT', at: T })).toBe(false);
    });
  });
}
