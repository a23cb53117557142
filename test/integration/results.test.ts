import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackends, type Backends } from '../support/backends.ts';
import { lambdaContext } from '../support/lambda.ts';
import {
  ERROR_TOPIC,
  SUCCESS_TOPIC,
  completed,
  failed,
  snsEvent,
  sqsEvent,
} from '../support/notifications.ts';

/*
 * onSuccess and onError with the real SDK clients against s3rver and dynalite: every case of the
 * notification path, the state machine enforced by real conditional writes.
 */

let b: Backends;
let onSuccess: (e: unknown, c: unknown) => Promise<unknown>;
let onError: (e: unknown, c: unknown) => Promise<unknown>;
const ctx = lambdaContext('onSuccess');

beforeAll(async () => {
  b = await startBackends();
  onSuccess = (await import('../../src/handlers/onSuccess.ts')).handler as never;
  onError = (await import('../../src/handlers/onError.ts')).handler as never;
});
afterAll(async () => b?.close());

const success = (message: unknown) => onSuccess(snsEvent({ topic: SUCCESS_TOPIC, message }), ctx);
const failure = (message: unknown) => onError(snsEvent({ topic: ERROR_TOPIC, message }), ctx);

describe('onSuccess', () => {
  it('reads a small JSON output and stores it inline as utf8', async () => {
    await b.putOutput('outputs/j1.out', '{"score":0.97}', 'application/json');
    await success(completed('j1'));
    const job = await b.store.get('j1');
    expect(job).toMatchObject({
      inferenceId: 'j1',
      status: 'COMPLETED',
      endpointName: 'demo-endpoint',
      outputLocation: 's3://async-jobs-local-output/outputs/j1.out',
      outputContentType: 'application/json',
      result: '{"score":0.97}',
      resultEncoding: 'utf8',
      resultBytes: 14,
      completedAt: '2026-11-24T19:00:05.123Z',
    });
    expect(job?.expiresAt).toBeGreaterThan(Date.now() / 1000 + 29 * 86_400);
  });

  it('stores a binary output as base64, byte-exact', async () => {
    const bytes = Buffer.from([0, 255, 1, 254, 128, 10, 13]);
    await b.putOutput('outputs/j2.out', bytes, 'application/octet-stream');
    await success(completed('j2', { contentType: 'application/octet-stream' }));
    const job = await b.store.get('j2');
    expect(job?.resultEncoding).toBe('base64');
    expect(Buffer.from(job!.result!, 'base64')).toEqual(bytes);
  });

  it('stores an output above INLINE_RESULT_MAX_BYTES by location only', async () => {
    await b.putOutput('outputs/big.out', Buffer.alloc(300_000, 0x61), 'text/plain');
    await success(completed('big', { contentType: 'text/plain' }));
    const job = await b.store.get('big');
    expect(job).toMatchObject({ status: 'COMPLETED', resultBytes: 300_000 });
    expect(job?.result).toBeUndefined();
    expect(job?.outputLocation).toBe('s3://async-jobs-local-output/outputs/big.out');
  });

  it('uses responseBody and never reads S3 (no output object exists)', async () => {
    await success(completed('rb1', { responseBody: Buffer.from('{"label":"cat"}') }));
    expect(await b.store.get('rb1')).toMatchObject({
      status: 'COMPLETED',
      result: '{"label":"cat"}',
      resultEncoding: 'utf8',
    });
  });

  it('treats a missing output object as an error to retry, not a completion', async () => {
    await expect(success(completed('missing'))).rejects.toThrow(/1 of 1/);
    expect(await b.store.get('missing')).toBeUndefined();
  });

  it('ignores a duplicate notification: the first result stays', async () => {
    await b.putOutput('outputs/dup.out', '"first"');
    await success(completed('dup'));
    await b.putOutput('outputs/dup.out', '"second"');
    await success(completed('dup'));
    await success(completed('dup'));
    expect((await b.store.get('dup'))?.result).toBe('"first"');
  });

  it('completes a job whose submit record exists (IN_PROGRESS -> COMPLETED)', async () => {
    await b.store.claim({
      inferenceId: 'sub1',
      status: 'IN_PROGRESS',
      endpointName: 'demo-endpoint',
      inputContentType: 'text/csv',
      submittedAt: '2026-11-24T18:59:59.000Z',
      expiresAt: 1,
    });
    await b.putOutput('outputs/sub1.out', '[1]');
    await success(completed('sub1'));
    expect(await b.store.get('sub1')).toMatchObject({
      status: 'COMPLETED',
      submittedAt: '2026-11-24T18:59:59.000Z',
      expiresAt: 1,
      result: '[1]',
    });
  });

  it('refuses an output bucket outside OUTPUT_BUCKETS and reads nothing', async () => {
    await expect(
      success(completed('forged', { bucket: 'someone-elses-bucket' })),
    ).rejects.toThrow();
    expect(await b.store.get('forged')).toBeUndefined();
  });

  it('refuses a message from another topic', async () => {
    await b.putOutput('outputs/topic.out', '{}');
    const event = snsEvent({
      topic: 'arn:aws:sns:us-east-1:111111111111:attacker',
      message: completed('topic'),
    });
    await expect(onSuccess(event, ctx)).rejects.toThrow();
    expect(await b.store.get('topic')).toBeUndefined();
  });

  it('a malformed record fails the invocation but the good record beside it lands', async () => {
    await b.putOutput('outputs/good.out', '{"ok":true}');
    const event = snsEvent(
      { topic: SUCCESS_TOPIC, message: 'not json at all' },
      { topic: SUCCESS_TOPIC, message: { ...completed('bad'), eventSource: 'aws:s3' } },
      { topic: SUCCESS_TOPIC, message: completed('good') },
    );
    await expect(onSuccess(event, ctx)).rejects.toThrow(/2 of 3/);
    expect((await b.store.get('good'))?.status).toBe('COMPLETED');
    expect(await b.store.get('bad')).toBeUndefined();
  });

  it('SQS: answers batchItemFailures for exactly the records that failed', async () => {
    await b.putOutput('outputs/q1.out', '1');
    await b.putOutput('outputs/q3.out', '3');
    const res = (await onSuccess(
      sqsEvent(
        { id: 'm1', message: completed('q1'), topic: SUCCESS_TOPIC },
        { id: 'm2', message: completed('q2'), topic: SUCCESS_TOPIC },
        { id: 'm3', message: completed('q3') },
        { id: 'm4', message: completed('q4', { bucket: 'someone-elses-bucket' }) },
      ),
      ctx,
    )) as SQSBatchResponse;
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m2', 'm4']);
    expect((await b.store.get('q1'))?.status).toBe('COMPLETED');
    expect((await b.store.get('q3'))?.status).toBe('COMPLETED');
  });
});

describe('onError', () => {
  it('stores the failure reason and the failure body', async () => {
    await b.putOutput('failures/f1-error.out', 'model crashed: out of memory', 'text/plain');
    await failure(failed('f1', { failureKey: 'failures/f1-error.out' }));
    expect(await b.store.get('f1')).toMatchObject({
      status: 'FAILED',
      failureReason: 'ClientError: Received server error (500) from model.',
      failureLocation: 's3://async-jobs-local-output/failures/f1-error.out',
      result: 'model crashed: out of memory',
      resultEncoding: 'utf8',
    });
  });

  it('fails a job with no failure location and no body', async () => {
    await failure(failed('f2'));
    const job = await b.store.get('f2');
    expect(job?.status).toBe('FAILED');
    expect(job?.failureLocation).toBeUndefined();
  });

  it('a late failure after success is a no-op', async () => {
    await b.putOutput('outputs/late.out', '"done"');
    await success(completed('late'));
    await failure(failed('late'));
    expect(await b.store.get('late')).toMatchObject({ status: 'COMPLETED', result: '"done"' });
  });

  it('a success after failure is a no-op: terminal states never flip', async () => {
    await failure(failed('flip'));
    await b.putOutput('outputs/flip.out', '"late"');
    await success(completed('flip'));
    const job = await b.store.get('flip');
    expect(job?.status).toBe('FAILED');
    expect(job?.result).toBeUndefined();
  });

  it('refuses a success-topic message on the error handler', async () => {
    const event = snsEvent({ topic: SUCCESS_TOPIC, message: failed('wrongtopic') });
    await expect(onError(event, ctx)).rejects.toThrow();
    expect(await b.store.get('wrongtopic')).toBeUndefined();
  });

  it('concurrent duplicates of one notification store exactly one outcome', async () => {
    await b.putOutput('outputs/race.out', '"r"');
    await Promise.all([
      success(completed('race')),
      success(completed('race')),
      failure(failed('race')),
      success(completed('race')),
    ]);
    const job = await b.store.get('race');
    expect(['COMPLETED', 'FAILED']).toContain(job?.status);
    const again = await b.store.get('race');
    await success(completed('race'));
    await failure(failed('race'));
    expect(await b.store.get('race')).toEqual(again);
  });
});
