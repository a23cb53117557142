import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, NoSuchKey, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../../src/lib/config.ts';
import { OutputMissing, S3AccessDenied } from '../../../../src/lib/domain/errors.ts';
import type { Job, Outcome } from '../../../../src/lib/domain/jobs.ts';
import type { JobStore } from '../../../../src/lib/adapters/job-store.ts';
import { logger } from '../../../../src/lib/adapters/logger.ts';
import { checkJob } from '../../../../src/lib/app/reconcile.ts';
import { outcomeOf } from '../../../../src/lib/app/results.ts';
import { parseNotification } from '../../../../src/lib/domain/notification.ts';
import { ACCESS_DENIED_LOG, readBounded } from '../../../../src/lib/adapters/storage.ts';
import { handler as getJob } from '../../../../src/handlers/getJob.ts';
import { lambdaContext } from '../../../support/lambda.ts';
import { OUTPUT_BUCKET, failed } from '../../../support/notifications.ts';
import { endingPorts } from '../../../../src/lib/wiring/endings.ts';

/*
 * A missing output reads as 403 on AWS unless the caller may s3:ListBucket: "If you have the
 * s3:ListBucket permission on the bucket, Amazon S3 returns an HTTP status code 404 Not Found error.
 * If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403
 * Access Denied error." (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html,
 * "Permissions"). s3rver always answers NoSuchKey, so the two answers are played here as the SDK
 * surfaces them: NoSuchKey (404) and AccessDenied (403, S3's error code as the exception name).
 */

const s3mock = mockClient(S3Client);
const ddb = mockClient(DynamoDBClient);
const client = new S3Client({ region: 'us-east-1' });
const loc = { bucket: OUTPUT_BUCKET, key: 'outputs/demo-endpoint/job-1.out' };

const accessDenied = () =>
  new S3ServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    message: 'Access Denied',
    $metadata: { httpStatusCode: 403, requestId: 'R', extendedRequestId: 'X' },
  });
const noSuchKey = () =>
  new NoSuchKey({
    message: 'The specified key does not exist.',
    $metadata: { httpStatusCode: 404 },
  });

const config = loadConfig();
const finished: Outcome[] = [];
const store = {
  finish: async (_id: string, outcome: Outcome) => {
    finished.push(outcome);
    return 'applied' as const;
  },
} as unknown as JobStore;
const now = new Date('2026-11-24T00:00:00Z');
const pendingJob: Job = {
  inferenceId: 'job-1',
  status: 'IN_PROGRESS',
  endpointName: 'demo-endpoint',
  submittedAt: '2026-11-23T23:00:00.000Z',
  // Not yet due: a job reconcile must leave pending when S3 has nothing.
  expectedBy: '2026-11-25T00:00:00.000Z',
  outputLocation: `s3://${OUTPUT_BUCKET}/outputs/demo-endpoint/job-1.out`,
  failureLocation: `s3://${OUTPUT_BUCKET}/failures/demo-endpoint/job-1.out`,
} as Job;

beforeEach(() => {
  s3mock.reset();
  ddb.reset();
  finished.length = 0;
  vi.restoreAllMocks();
});

describe('readBounded: what S3 answers for an object it will not give', () => {
  it('NoSuchKey (404, with s3:ListBucket) is OutputMissing: not written yet', async () => {
    s3mock.on(GetObjectCommand).rejects(noSuchKey());
    await expect(readBounded(client, loc, 100)).rejects.toBeInstanceOf(OutputMissing);
  });

  it('AccessDenied (403) is a permission error, logged with what is missing, never OutputMissing', async () => {
    const logged = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    s3mock.on(GetObjectCommand).rejects(accessDenied());
    const err = await readBounded(client, loc, 100).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3AccessDenied);
    expect(err).not.toBeInstanceOf(OutputMissing);
    expect((err as Error).message).toContain('s3:ListBucket');
    expect(logged).toHaveBeenCalledWith(
      ACCESS_DENIED_LOG,
      expect.objectContaining({ bucket: OUTPUT_BUCKET, key: loc.key, error: 'AccessDenied' }),
    );
  });

  it('a bare 403 (HeadObject-style, no code) is a permission error too', async () => {
    vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const err = new S3ServiceException({
      name: 'Forbidden',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
    });
    s3mock.on(GetObjectCommand).rejects(err);
    await expect(readBounded(client, loc, 100)).rejects.toBeInstanceOf(S3AccessDenied);
  });
});

describe('callers never take a 403 for "not yet"', () => {
  const deps = endingPorts({ config, store, s3: () => client, now: () => now });

  it('reconcile (and getJob, which calls it for a stale job) leaves the job pending on NoSuchKey', async () => {
    s3mock.on(GetObjectCommand).rejects(noSuchKey());
    await expect(checkJob(pendingJob, deps)).resolves.toEqual({ verdict: 'pending' });
    expect(finished).toEqual([]);
  });

  it('reconcile fails on AccessDenied instead of calling the job pending', async () => {
    vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    s3mock.on(GetObjectCommand).rejects(accessDenied());
    await expect(checkJob(pendingJob, deps)).rejects.toBeInstanceOf(S3AccessDenied);
    expect(finished).toEqual([]);
  });

  const failure = parseNotification(
    {
      id: '1',
      body: JSON.stringify(failed('job-1', { failureKey: 'failures/demo-endpoint/job-1.out' })),
    },
    undefined,
  );

  it('onError stores the reason without a body when the failure body is absent (NoSuchKey)', async () => {
    s3mock.on(GetObjectCommand).rejects(noSuchKey());
    const outcome = await outcomeOf(failure, deps);
    expect(outcome.status).toBe('FAILED');
    expect(outcome.result).toBeUndefined();
  });

  it('onError fails the record (retried, then dead-lettered) on AccessDenied', async () => {
    vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    s3mock.on(GetObjectCommand).rejects(accessDenied());
    await expect(outcomeOf(failure, deps)).rejects.toBeInstanceOf(S3AccessDenied);
  });
});

describe('GET /jobs/{id} of a stale job', () => {
  type Answer = { statusCode: number; body: string };
  const get = async () => {
    const e = JSON.parse(readFileSync('events/get.json', 'utf8'));
    e.pathParameters = { inferenceId: 'job-1' };
    return (getJob as unknown as (e: unknown, c: unknown) => Promise<Answer>)(
      e,
      lambdaContext('getJob'),
    );
  };
  beforeEach(() => {
    // Submitted long enough ago for getJob to look in S3 for it, not yet due.
    const stale = {
      ...pendingJob,
      submittedAt: new Date(Date.now() - 3_600_000).toISOString(),
      expectedBy: new Date(Date.now() + 3_600_000).toISOString(),
    };
    ddb.on(GetItemCommand).resolves({ Item: marshall(stale, { removeUndefinedValues: true }) });
  });

  it('answers 200 IN_PROGRESS when S3 says NoSuchKey', async () => {
    s3mock.on(GetObjectCommand).rejects(noSuchKey());
    const res = await get();
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ inferenceId: 'job-1', status: 'IN_PROGRESS' });
  });

  it('answers 500 naming the missing permission when S3 says AccessDenied, never "pending"', async () => {
    vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    s3mock.on(GetObjectCommand).rejects(accessDenied());
    const res = await get();
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body).message).toContain('AccessDenied');
  });
});
