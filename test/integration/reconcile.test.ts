import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { APIGatewayProxyStructuredResultV2, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchStore, batchQueue } from '../../src/lib/adapters/batch-clients.ts';
import { jobStore, s3, sageMaker } from '../../src/lib/adapters/clients.ts';
import { config } from '../../src/lib/config.ts';
import { processBatchEvent, workerPorts } from '../../src/lib/wiring/batch-worker.ts';
import { getBatch } from '../../src/lib/app/batch-status.ts';
import { reconcile } from '../../src/lib/app/reconcile.ts';
import { submitJob as submitLine } from '../../src/lib/app/submit.ts';
import { EXPIRY_GRACE_SECONDS } from '../../src/lib/domain/jobs.ts';
import type { LocalSageMaker } from '../../src/local/sagemaker.ts';
import { startLocalSqs, type LocalSqs } from '../../src/local/sqs.ts';
import { startTestRuntime } from '../support/runtime.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import { lambdaContext } from '../support/lambda.ts';
import { OUTPUT_BUCKET } from '../support/notifications.ts';
import { endingPorts } from '../../src/lib/wiring/endings.ts';
import { submitPorts } from '../../src/lib/wiring/submit.ts';
import { objectStoreOnDemand } from '../../src/lib/adapters/lazy.ts';

/*
 * Lost notifications: the local runtime runs every job but publishes nothing. The scheduled
 * reconcile (and getJob, for a stale job it is asked about) finds the results in S3 and finishes
 * the jobs through the same conditional transitions as the notification path.
 */

type Handler = (e: unknown, c: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let b: Backends;
let runtime: LocalSageMaker;
let sqs: LocalSqs;
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
  // Every function that ends a job has the batch queue (serverless.yml): here a local one.
  sqs = await startLocalSqs({ queues: ['reconcile-batches'] });
  process.env.AWS_ENDPOINT_URL_SQS = sqs.url;
  process.env.BATCH_QUEUE_URL = sqs.queueUrl('reconcile-batches');
  submitJob = (await import('../../src/handlers/submitJob.ts')).handler as never;
  getJob = (await import('../../src/handlers/getJob.ts')).handler as never;
  reconcileHandler = (await import('../../src/handlers/reconcile.ts')).handler as never;
});
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_SQS;
  delete process.env.BATCH_QUEUE_URL;
  await sqs?.close();
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
      expect(job).not.toHaveProperty('pending');
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
    const deps = endingPorts({ config: config(), store: jobStore(), s3 });
    expect(await reconcile(deps, { olderThanSeconds: 0 })).toMatchObject({ completed: 1 });
    expect(await poll()).toMatchObject({ status: 'COMPLETED', result: '0.5\n' });
  });

  it('leaves a job that is still running alone, and fails one past its deadline', async () => {
    await submit('slow-1', '1\n', 'text/csv', { customAttributes: 'delay_ms=60000' });
    const deps = endingPorts({ config: config(), store: jobStore(), s3 });
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

/** Polls the output bucket until each job's output or failure is there, within the test's timeout. */
async function waitForResults(ids: string[]): Promise<void> {
  const keys = (await b.store.getMany(ids)).flatMap((job) =>
    [job.outputLocation, job.failureLocation].map((uri) => uri?.replace(/^s3:\/\/[^/]+\//, '')),
  );
  for (;;) {
    const listed = await b.s3.send(new ListObjectsV2Command({ Bucket: OUTPUT_BUCKET }));
    const there = new Set((listed.Contents ?? []).map((o) => o.Key));
    const done = ids.filter((_, i) => there.has(keys[2 * i]) || there.has(keys[2 * i + 1]));
    if (done.length === ids.length) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a batch whose notifications were all lost', () => {
  const BATCH = 'b-00000000000000000000abcd';

  /** The batch's header and block as the expansion leaves them, and its lines submitted as batchWorker does. */
  async function batchOf(lines: string[]): Promise<void> {
    const batches = batchStore();
    await batches.create({
      batchId: BATCH,
      createdAt: new Date().toISOString(),
      source: {
        kind: 'manifest',
        uri: `s3://async-jobs-local-input/batches/${BATCH}/manifest.jsonl`,
      },
      expiresAt: 2_000_000_000,
    });
    await batches.openBlock(BATCH, 0, lines.length, {}, 2_000_000_000);
    for (const [i, body] of lines.entries()) {
      await submitLine(
        {
          query: { inferenceId: `${BATCH}-${i + 1}` },
          contentType: 'text/csv',
          body: Buffer.from(body),
          batch: { batchId: BATCH, line: i + 1 },
        },
        submitPorts({ config: config(), store: jobStore(), s3, sageMaker }),
      );
      await batches.addLine(BATCH, 0, i + 1, 'submitted');
    }
    await batches.advance(BATCH, 1);
    await batches.markExpanded(BATCH, lines.length, 1, new Date().toISOString());
  }

  it("finishes once when getJob's check and reconcile end its jobs", async () => {
    await batchOf(['1,2\n', 'FAIL', '3\n']);
    // The runtime wrote each output or failure (and published nothing); jobs of the tests above
    // may still be running, so no runtime.idle().
    await waitForResults([1, 2, 3].map((line) => `${BATCH}-${line}`));
    const finishes = () =>
      sqs.messages.filter(
        (m) => m.queueName === 'reconcile-batches' && m.body.includes('"finish"'),
      );

    // Line 1: a caller polls it, and getJob's own S3 check ends it.
    const res = await getJob(
      { version: '2.0', headers: {}, pathParameters: { inferenceId: `${BATCH}-1` } },
      lambdaContext('getJob'),
    );
    expect(JSON.parse(String(res.body))).toMatchObject({ status: 'COMPLETED', batchId: BATCH });
    // Lines 2 (its failure in S3) and 3 (its output): the scheduled reconcile.
    expect(await reconcileHandler({}, lambdaContext('reconcile'))).toMatchObject({
      completed: 1,
      failed: 1,
      errors: 0,
    });
    expect(finishes()).toHaveLength(1);

    // batchWorker takes the finish: the manifest, then BatchCompleted, once.
    const events: { DetailType?: string; Detail?: string }[] = [];
    const bus = {
      async send(cmd: { input: { Entries: { DetailType?: string; Detail?: string }[] } }) {
        events.push(...cmd.input.Entries);
        return { FailedEntryCount: 0, Entries: [{ EventId: 'e' }] };
      },
    };
    const worker = workerPorts({
      config: { ...config(), eventBusName: 'test-bus' },
      batches: batchStore(),
      queue: batchQueue()!,
      s3,
      eventBridge: () => bus as unknown as EventBridgeClient,
      submit: { store: jobStore(), s3, sageMaker },
    });
    const finish = finishes()[0]!;
    const event = {
      Records: [
        { messageId: finish.messageId, receiptHandle: 'r', body: finish.body, attributes: {} },
      ],
    } as unknown as SQSEvent;
    expect(await processBatchEvent(event, worker)).toEqual({ batchItemFailures: [] });
    const view = await getBatch(BATCH, { batches: batchStore(), objects: objectStoreOnDemand(s3) });
    expect(view).toMatchObject({
      state: 'COMPLETED',
      counts: { expected: 3, inProgress: 0, completed: 2, failed: 1 },
    });
    expect(events.filter((e) => e.DetailType === 'BatchCompleted')).toHaveLength(1);

    // A second run and a second poll change nothing: no second finish.
    await reconcileHandler({}, lambdaContext('reconcile'));
    await getJob(
      { version: '2.0', headers: {}, pathParameters: { inferenceId: `${BATCH}-1` } },
      lambdaContext('getJob'),
    );
    expect(finishes()).toHaveLength(1);
  });
});
