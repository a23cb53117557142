import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobStore, s3 } from '../../src/lib/adapters/clients.ts';
import { config } from '../../src/lib/config.ts';
import { reconcile } from '../../src/lib/app/reconcile.ts';
import { EXPIRY_GRACE_SECONDS } from '../../src/lib/domain/jobs.ts';
import type { LocalSageMaker } from '../../src/local/sagemaker.ts';
import { startTestRuntime } from '../support/runtime.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import { lambdaContext } from '../support/lambda.ts';

/*
 * Lost notifications: the local runtime runs every job but publishes nothing. The scheduled
 * reconcile (and getJob, for a stale job it is asked about) finds the results in S3 and finishes
 * the jobs through the same conditional transitions as the notification path.
 */

type Handler = (e: unknown, c: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let b: Backends;
let runtime: LocalSageMaker;
let submitJob: Handler;
let getJob: Handler;
let reconcileHandler: (e: unknown, c: unknown) => Promise<unknown>;

beforeAll(async () => {
  b = await startBackends();
  runtime = await startTestRuntime(b.s3, {
    concurrency: 4,
    publish: async () => {
      throw new Error('no notification may be published in this test');
    },
    faults: { dropNotification: () => true },
  });
  process.env.RECONCILE_AFTER_SECONDS = '0';
  submitJob = (await import('../../src/handlers/submitJob.ts')).handler as never;
  getJob = (await import('../../src/handlers/getJob.ts')).handler as never;
  reconcileHandler = (await import('../../src/handlers/reconcile.ts')).handler as never;
});
afterAll(async () => {
  await runtime?.close();
  await b?.close();
});

async function submit(id: string, body: string, contentType = 'text/csv', query = {}) {
  const res = await submitJob(
    {
      version: '2.0',
      headers: { 'content-type': contentType },
      queryStringParameters: { inferenceId: id, ...query },
      body,
      isBase64Encoded: false,
    },
    lambdaContext('submitJob'),
  );
  expect(res.statusCode).toBe(202);
}

describe('reconcile', () => {
  it('finishes every job whose notification was lost, with the right terminal state', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `lost-${i}`);
    for (const id of ids) await submit(id, id.endsWith('7') ? 'FAIL' : `${id.length},1\n`);
    await runtime.idle();
    expect((await b.store.get('lost-0'))?.status).toBe('IN_PROGRESS');

    const report = await reconcileHandler({}, lambdaContext('reconcile'));
    expect(report).toMatchObject({ checked: 20, completed: 18, failed: 2, errors: 0 });
    for (const id of ids) {
      const job = await b.store.get(id);
      expect(job?.status).toBe(id.endsWith('7') ? 'FAILED' : 'COMPLETED');
      expect(job?.pending).toBeUndefined();
      // Out of the IN_PROGRESS shards of the index: nothing is left for the next run to read.
      expect(job?.shardKey).toMatch(/^(COMPLETED|FAILED)#\d\d$/);
      if (job?.status === 'COMPLETED') expect(job.result).toMatch(/^0\.\d+\n$/);
    }
    // The index is sparse: nothing is left to check, and a second run changes nothing.
    const again = await reconcileHandler({}, lambdaContext('reconcile'));
    expect(again).toMatchObject({ checked: 0 });
  });

  it('getJob checks S3 for a stale job it is asked about', async () => {
    await submit('stale-1', '2,2\n');
    await runtime.idle();
    const res = await getJob(
      { version: '2.0', headers: {}, pathParameters: { inferenceId: 'stale-1' } },
      lambdaContext('getJob'),
    );
    expect(JSON.parse(String(res.body))).toMatchObject({
      status: 'COMPLETED',
      result: '0.880797\n',
    });
  });

  it('getJob looks in S3 for a stale job once per check time, not on every poll', async () => {
    await submit('poll-1', '1\n', 'text/csv', { customAttributes: 'delay_ms=60000' });
    const poll = async () =>
      JSON.parse(
        String(
          (
            await getJob(
              { version: '2.0', headers: {}, pathParameters: { inferenceId: 'poll-1' } },
              lambdaContext('getJob'),
            )
          ).body,
        ),
      ) as { status: string; result?: string };
    expect((await poll()).status).toBe('IN_PROGRESS');
    const looked = await b.store.get('poll-1');
    expect(looked?.checkedAt).toBeDefined();
    // The output appears (its notification lost): the next poll answers what is stored, without
    // reading S3 again before the next check time; reconcile's schedule finds it.
    const key = (looked?.outputLocation as string).replace(/^s3:\/\/[^/]+\//, '');
    await b.putOutput(key, '0.5\n', 'text/csv');
    expect((await poll()).status).toBe('IN_PROGRESS');
    expect((await b.store.get('poll-1'))?.checkedAt).toBe(looked?.checkedAt);
    const deps = { config: config(), store: jobStore(), s3 };
    expect(await reconcile(deps, { olderThanSeconds: 0 })).toMatchObject({ completed: 1 });
    expect(await poll()).toMatchObject({ status: 'COMPLETED', result: '0.5\n' });
  });

  it('leaves a job that is still running alone, and fails one past its deadline', async () => {
    await submit('slow-1', '1\n', 'text/csv', { customAttributes: 'delay_ms=60000' });
    const deps = { config: config(), store: jobStore(), s3 };
    expect(await reconcile(deps, { olderThanSeconds: 0 })).toMatchObject({
      checked: 1,
      pending: 1,
    });
    const later = () => new Date(Date.now() + (21_600 + 900 + EXPIRY_GRACE_SECONDS + 1) * 1000);
    expect(await reconcile({ ...deps, now: later }, { olderThanSeconds: 0 })).toMatchObject({
      expired: 1,
    });
    const job = await b.store.get('slow-1');
    expect(job?.status).toBe('FAILED');
    expect(job?.failureReason).toMatch(/RequestTTLSeconds/);
  });
});
