import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { JobStore } from '../../../../src/lib/adapters/job-store.ts';
import { checkJob, reconcile } from '../../../../src/lib/app/reconcile.ts';
import { loadConfig } from '../../../../src/lib/config.ts';
import {
  EXPIRY_GRACE_SECONDS,
  checkDue,
  expectedBy,
  shardKey,
  type Job,
} from '../../../../src/lib/domain/jobs.ts';
import { endingPorts } from '../../../../src/lib/wiring/endings.ts';

/*
 * Issue 15: a job submitted while the endpoint is at zero instances waits in SageMaker's backlog
 * until an instance is in service, up to its RequestTTLSeconds. No output for that long is not a
 * lost notification: neither reconcile nor getJob's stale check may fail it before expectedBy
 * (submit + RequestTTLSeconds + InvocationTimeoutSeconds) and its grace.
 */

const s3mock = mockClient(S3Client);
const s3 = () => new S3Client({ region: 'us-east-1' });
const config = loadConfig();
const T0 = new Date('2026-11-24T12:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

beforeEach(() => {
  s3mock.reset();
  // GetObject of a key not written yet: 404 NoSuchKey when the caller may s3:ListBucket
  // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions").
  s3mock.on(GetObjectCommand).rejects(
    new NoSuchKey({
      message: 'The specified key does not exist.',
      $metadata: { httpStatusCode: 404 },
    }),
  );
});

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

/** A store holding one job; records every terminal transition asked of it. */
function storeOf(job: Job) {
  const transitions: unknown[] = [];
  let cursor: Record<string, string> = {};
  const store = {
    reconcileCursor: async () => cursor,
    saveReconcileCursor: async (done: Record<string, string>) => {
      cursor = done;
    },
    async *entries(key: string, from?: string, to?: string) {
      const t = job.submittedAt as string;
      if (key === job.shardKey && (from === undefined || t >= from) && t < (to as string)) {
        yield { inferenceId: job.inferenceId, submittedAt: t, shardKey: key };
      }
    },
    getMany: async () => [job],
    get: async () => job,
    transition: async (_id: string, outcome: unknown) => {
      transitions.push(outcome);
      return { applied: true, job: { ...job, status: 'FAILED' } };
    },
  } as unknown as JobStore;
  return { store, transitions };
}

describe('a job waiting for capacity within its RequestTTLSeconds', () => {
  it('is never failed by the scheduled reconcile before its deadline, and is once past it', async () => {
    // RequestTTLSeconds 3600 and InvocationTimeoutSeconds 900: expectedBy is T0 + 75 min.
    const job = waitingJob(3_600, 900);
    const { store, transitions } = storeOf(job);
    const deadline = 4_500 + EXPIRY_GRACE_SECONDS;
    let checked = 0;
    // Every 5 minutes, as serverless.yml schedules it, from the submit to the deadline.
    for (let t = 0; t <= deadline; t += 300) {
      const report = await reconcile(endingPorts({ config, store, s3, now: () => at(t) }), {
        olderThanSeconds: 900,
        periodSeconds: 300,
      });
      expect(report.expired, `at ${t} s`).toBe(0);
      expect(report.errors).toBe(0);
      checked += report.checked;
    }
    // It was looked for (15, 30, 45, 60 min...), found pending each time, never failed.
    expect(checked).toBeGreaterThanOrEqual(4);
    expect(transitions).toEqual([]);
    const late = await checkJob(
      job,
      endingPorts({ config, store, s3, now: () => at(deadline + 1) }),
    );
    expect(late.verdict).toBe('expired');
    expect(transitions).toHaveLength(1);
  });

  it('with SageMaker default TTL (6 h queue + 15 min run) it stays pending for 6 h 20 min', async () => {
    const job = waitingJob();
    const { store, transitions } = storeOf(job);
    for (const t of [900, 3_600, 21_600, 22_500, 22_500 + EXPIRY_GRACE_SECONDS]) {
      expect(
        (await checkJob(job, endingPorts({ config, store, s3, now: () => at(t) }))).verdict,
      ).toBe('pending');
    }
    expect(transitions).toEqual([]);
  });

  it('is not failed just after expectedBy: SageMaker may still be writing its output', async () => {
    const job = waitingJob(60, 60);
    const { store, transitions } = storeOf(job);
    expect(
      (await checkJob(job, endingPorts({ config, store, s3, now: () => at(121) }))).verdict,
    ).toBe('pending');
    expect(transitions).toEqual([]);
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
