import { describe, expect, it } from 'vitest';
import { checkJob, reconcile } from '../../../../src/lib/app/reconcile.ts';
import { loadConfig } from '../../../../src/lib/config.ts';
import {
  EXPIRY_GRACE_SECONDS,
  checkDue,
  expectedBy,
  shardKey,
  type Job,
} from '../../../../src/lib/domain/jobs.ts';
import { FakeJobRepository } from '../../../support/fakes/job-repository.ts';
import { endingFakes } from '../../../support/fakes/ports.ts';

/*
 * Issue 15: a job submitted while the endpoint is at zero instances waits in SageMaker's backlog
 * until an instance is in service, up to its RequestTTLSeconds. No output for that long is not a
 * lost notification: neither reconcile nor getJob's stale check may fail it before expectedBy
 * (submit + RequestTTLSeconds + InvocationTimeoutSeconds) and its grace.
 *
 * On the fakes of the ending's ports: no object is written, so every look in S3 finds nothing
 * (the object store contract, test/contract/object-store.contract.ts, holds the S3 adapter to the
 * same answer for a key not written yet).
 */

const config = loadConfig();
const T0 = new Date('2026-11-24T12:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function waitingJob(ttlSeconds?: number, timeoutSeconds?: number): Job {
  return {
    inferenceId: 'cold-start-1',
    status: 'IN_PROGRESS',
    endpointName: 'demo-endpoint',
    inputLocation: 's3://async-jobs-local-input/inputs/cold-start-1',
    outputLocation: 's3://async-jobs-local-output/outputs/o.out',
    failureLocation: 's3://async-jobs-local-output/failures/o-error.out',
    submittedAt: T0.toISOString(),
    expectedBy: expectedBy(T0, ttlSeconds, timeoutSeconds),
    shardKey: shardKey('IN_PROGRESS', 'cold-start-1'),
  };
}

/** The ending's ports on their fakes, the store holding `job`, the clock at `seconds`. */
function portsAt(store: FakeJobRepository, seconds: number) {
  return endingFakes({ store, now: () => at(seconds) }, config).deps;
}

describe('a job waiting for capacity within its RequestTTLSeconds', () => {
  it('is never failed by the scheduled reconcile before its deadline, and is once past it', async () => {
    // RequestTTLSeconds 3600 and InvocationTimeoutSeconds 900: expectedBy is T0 + 75 min.
    const job = waitingJob(3_600, 900);
    const store = new FakeJobRepository([job]);
    const deadline = 4_500 + EXPIRY_GRACE_SECONDS;
    let checked = 0;
    // Every 5 minutes, as serverless.yml schedules it, from the submit to the deadline.
    for (let t = 0; t <= deadline; t += 300) {
      const report = await reconcile(portsAt(store, t), {
        olderThanSeconds: 900,
        periodSeconds: 300,
      });
      expect(report.expired, `at ${t} s`).toBe(0);
      expect(report.errors).toBe(0);
      checked += report.checked;
    }
    // It was looked for (15, 30, 45, 60 min...), found pending each time, never failed.
    expect(checked).toBeGreaterThanOrEqual(4);
    expect(store.count('transition')).toBe(0);
    const late = await checkJob(job, portsAt(store, deadline + 1));
    expect(late.verdict).toBe('expired');
    expect(store.count('transition')).toBe(1);
    expect(store.records.get(job.inferenceId)?.status).toBe('FAILED');
  });

  it('with SageMaker default TTL (6 h queue + 15 min run) it stays pending for 6 h 20 min', async () => {
    const job = waitingJob();
    const store = new FakeJobRepository([job]);
    for (const t of [900, 3_600, 21_600, 22_500, 22_500 + EXPIRY_GRACE_SECONDS]) {
      expect((await checkJob(job, portsAt(store, t))).verdict).toBe('pending');
    }
    expect(store.count('transition')).toBe(0);
  });

  it('is not failed just after expectedBy: SageMaker may still be writing its output', async () => {
    const job = waitingJob(60, 60);
    const store = new FakeJobRepository([job]);
    expect((await checkJob(job, portsAt(store, 121))).verdict).toBe('pending');
    expect(store.count('transition')).toBe(0);
  });

  it("getJob's stale check looks in S3 on the schedule; pending means it answers IN_PROGRESS", () => {
    const job = waitingJob(3_600, 900);
    expect(checkDue(job, 900, at(600))).toBe(false);
    expect(checkDue(job, 900, at(960))).toBe(true);
    const looked = { ...job, checkedAt: at(960).toISOString() };
    expect(checkDue(looked, 900, at(1_500))).toBe(false);
    expect(checkDue(looked, 900, at(1_800))).toBe(true);
  });
});
