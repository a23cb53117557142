import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { BatchStore } from '../../src/lib/adapters/batch-store.ts';
import { sqsBatchQueue } from '../../src/lib/adapters/batch-queue.ts';
import { JobStore } from '../../src/lib/adapters/job-store.ts';
import { AdmissionStore } from '../../src/lib/adapters/admission-store.ts';
import type { WorkerDeps } from '../../src/lib/app/batch-worker.ts';
import { processBatchEvent, workerPorts } from '../../src/lib/wiring/batch-worker.ts';
import { getBatch } from '../../src/lib/app/batch-status.ts';
import { loadConfig } from '../../src/lib/config.ts';
import { startLocalSqs } from '../../src/local/sqs.ts';
import {
  EMULATOR_CREDENTIALS,
  startDynamo,
  startS3,
  type Emulator,
} from '../../src/local/emulators.ts';
import { LOCAL } from '../../src/local/names.ts';
import {
  INTERRUPTED_REASON,
  SANDBOX_STATE_DIR,
  describeRestore,
  forgetState,
  freshFlag,
  restoreJobs,
  stateFolders,
} from '../../src/local/state.ts';
import { objectStoreOnDemand } from '../../src/lib/adapters/lazy.ts';

/*
 * The sandbox's state across restarts (src/local/state.ts): s3rver's `directory` and dynalite's
 * `path` on a temp dir, stopped and started again, as `npm start` does with .sandbox/state/.
 */

let dir: string;
const common = { region: LOCAL.region, credentials: EMULATOR_CREDENTIALS };

async function start(): Promise<{
  s3: S3Client;
  store: JobStore;
  batches: BatchStore;
  admission: AdmissionStore;
  dynamodbUrl: string;
  close(): Promise<void>;
}> {
  const folders = stateFolders(dir);
  const [s3e, ddb]: Emulator[] = await Promise.all([
    startS3({ buckets: [LOCAL.inputBucket, LOCAL.outputBucket], directory: folders.s3 }),
    startDynamo({ table: LOCAL.jobsTable, path: folders.dynamodb }),
  ]);
  const s3 = new S3Client({ ...common, endpoint: s3e!.url, forcePathStyle: true });
  const dynamo = new DynamoDBClient({ ...common, endpoint: ddb!.url });
  return {
    s3,
    store: new JobStore(dynamo, LOCAL.jobsTable),
    batches: new BatchStore(dynamo, LOCAL.jobsTable),
    admission: new AdmissionStore(dynamo, LOCAL.jobsTable),
    dynamodbUrl: ddb!.url,
    close: async () => {
      s3.destroy();
      dynamo.destroy();
      await Promise.all([s3e!.close(), ddb!.close()]);
    },
  };
}

const submitted = (id: string, extra: Record<string, unknown> = {}) => ({
  inferenceId: id,
  status: 'IN_PROGRESS' as const,
  endpointName: LOCAL.endpointName,
  submittedAt: new Date().toISOString(),
  outputLocation: `s3://${LOCAL.outputBucket}/outputs/${id}.out`,
  failureLocation: `s3://${LOCAL.outputBucket}/failures/${id}-error.out`,
  ...extra,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'async-jobs-state-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sandbox state across restarts', () => {
  it('keeps objects and job records, and settles the jobs the last run left IN_PROGRESS', async () => {
    const first = await start();
    try {
      await first.store.claim(submitted('done-before'));
      await first.store.transition('done-before', {
        status: 'COMPLETED',
        endpointName: LOCAL.endpointName,
        completedAt: new Date().toISOString(),
        expiresAt: 2_000_000_000,
        outputLocation: `s3://${LOCAL.outputBucket}/outputs/done-before.out`,
      });
      await first.store.claim(submitted('output-but-no-notification'));
      await first.store.claim(submitted('model-work-lost'));
      for (const id of ['done-before', 'output-but-no-notification']) {
        await first.s3.send(
          new PutObjectCommand({
            Bucket: LOCAL.outputBucket,
            Key: `outputs/${id}.out`,
            Body: `result of ${id}`,
            ContentType: 'text/plain',
          }),
        );
      }
    } finally {
      await first.close();
    }

    const second = await start();
    try {
      const report = await restoreJobs({ dynamodbUrl: second.dynamodbUrl, s3: second.s3 });
      expect(report).toEqual({ jobs: 3, finished: 1, interrupted: 1 });
      expect(await second.store.get('done-before')).toMatchObject({ status: 'COMPLETED' });
      expect(await second.store.get('output-but-no-notification')).toMatchObject({
        status: 'COMPLETED',
        result: 'result of output-but-no-notification',
      });
      expect(await second.store.get('model-work-lost')).toMatchObject({
        status: 'FAILED',
        failureReason: INTERRUPTED_REASON,
      });
      const out = await second.s3.send(
        new GetObjectCommand({ Bucket: LOCAL.outputBucket, Key: 'outputs/done-before.out' }),
      );
      expect(await out.Body!.transformToString()).toBe('result of done-before');
      expect(describeRestore(dir, report)).toBe(
        `[state] restored 3 jobs from ${dir} (1 left IN_PROGRESS by the last run failed: their model work was lost when it stopped, submit them again; 1 left IN_PROGRESS finished from their output in S3)`,
      );
      // Settled once: a third start finds nothing left to settle.
      expect(await restoreJobs({ dynamodbUrl: second.dynamodbUrl, s3: second.s3 })).toEqual({
        jobs: 3,
        finished: 0,
        interrupted: 0,
      });
    } finally {
      await second.close();
    }
  });

  it('--fresh forgets every job and object', async () => {
    expect(freshFlag(['--fresh', '--model-url', 'http://127.0.0.1:8080'])).toEqual({
      fresh: true,
      rest: ['--model-url', 'http://127.0.0.1:8080'],
    });
    expect(freshFlag([]).fresh).toBe(false);
    await forgetState(dir);
    const again = await start();
    try {
      expect(await again.store.get('done-before')).toBeUndefined();
      const report = await restoreJobs({ dynamodbUrl: again.dynamodbUrl, s3: again.s3 });
      expect(report.jobs).toBe(0);
      expect(describeRestore(dir, report)).toBe(
        `[state] no jobs to restore: starting empty (state kept in ${dir})`,
      );
      expect(await readdir(join(stateFolders(dir).s3, LOCAL.outputBucket))).toEqual([]);
    } finally {
      await again.close();
    }
  });

  it("names npm start's state relative to the project", () => {
    expect(describeRestore(SANDBOX_STATE_DIR, { jobs: 1, finished: 0, interrupted: 0 })).toBe(
      '[state] restored 1 job from .sandbox/state/',
    );
  });
});

describe("batches across the sandbox's restart", () => {
  const now = () => new Date().toISOString();
  const at = (n: number) => `b-${String(n).padStart(24, '0')}`;
  /** Interrupted by the stop: its jobs were still IN_PROGRESS (one had written its output). */
  const INTERRUPTED = at(1);
  /** Its jobs had ended, but the stop came before their lines were counted. */
  const UNCOUNTED = at(2);
  /** Finished, but the finish message died with the local queue before batchWorker took it. */
  const UNANNOUNCED = at(3);

  async function batchOf(batches: BatchStore, batchId: string, lines: number): Promise<void> {
    await batches.create({
      batchId,
      createdAt: now(),
      source: {
        kind: 'manifest',
        uri: `s3://${LOCAL.inputBucket}/batches/${batchId}/manifest.jsonl`,
      },
      expiresAt: 2_000_000_000,
    });
    await batches.openBlock(batchId, 0, lines, {}, 2_000_000_000);
    for (let line = 1; line <= lines; line++) await batches.addLine(batchId, 0, line, 'submitted');
    await batches.advance(batchId, 1);
    await batches.markExpanded(batchId, lines, 1, now());
  }

  const ended = (id: string, status: 'COMPLETED' | 'FAILED') => ({
    status,
    endpointName: LOCAL.endpointName,
    completedAt: now(),
    expiresAt: 2_000_000_000,
    ...(status === 'FAILED' ? { failureReason: 'model error' } : {}),
    outputLocation: `s3://${LOCAL.outputBucket}/outputs/${id}.out`,
  });

  it('reaches a terminal batch status with exactly one BatchCompleted each', async () => {
    await forgetState(dir);
    const first = await start();
    try {
      await batchOf(first.batches, INTERRUPTED, 3);
      for (let line = 1; line <= 3; line++) {
        await first.store.claim(
          submitted(`${INTERRUPTED}-${line}`, { batchId: INTERRUPTED, batchLine: line }),
        );
      }
      await first.s3.send(
        new PutObjectCommand({
          Bucket: LOCAL.outputBucket,
          Key: `outputs/${INTERRUPTED}-3.out`,
          Body: '0.9',
          ContentType: 'text/plain',
        }),
      );
      await batchOf(first.batches, UNCOUNTED, 2);
      for (let line = 1; line <= 2; line++) {
        const id = `${UNCOUNTED}-${line}`;
        await first.store.claim(submitted(id, { batchId: UNCOUNTED, batchLine: line }));
        await first.store.transition(id, ended(id, line === 1 ? 'COMPLETED' : 'FAILED'));
      }
      await batchOf(first.batches, UNANNOUNCED, 1);
      const id = `${UNANNOUNCED}-1`;
      await first.store.claim(submitted(id, { batchId: UNANNOUNCED, batchLine: 1 }));
      await first.store.transition(id, ended(id, 'COMPLETED'));
      await first.batches.addLine(UNANNOUNCED, 0, 1, 'completed');
      await first.batches.markBlockDone(UNANNOUNCED, 0);
      expect(await first.batches.finish(UNANNOUNCED, 1, now())).toBe(true);
    } finally {
      await first.close();
    }

    const second = await start();
    const events: { DetailType?: string; Detail?: string }[] = [];
    const bus = {
      async send(cmd: { input: { Entries: { DetailType?: string; Detail?: string }[] } }) {
        events.push(...cmd.input.Entries);
        return { FailedEntryCount: 0, Entries: [{ EventId: 'e' }] };
      },
    };
    // The sandbox's batch queue, feeding batchWorker as its event source mapping does.
    const sqs = await startLocalSqs({
      queues: [LOCAL.batchQueue],
      functions: {
        [LOCAL.batchQueue]: { invoke: (event) => processBatchEvent(event as never, worker) },
      },
    });
    const sqsClient = new SQSClient({ ...common, endpoint: sqs.url });
    const worker: WorkerDeps = workerPorts({
      config: { ...loadConfig(), eventBusName: 'test-bus' },
      batches: second.batches,
      queue: sqsBatchQueue(() => sqsClient, sqs.queueUrl(LOCAL.batchQueue)),
      s3: () => second.s3,
      eventBridge: () => bus as unknown as EventBridgeClient,
      submit: {
        store: second.store,
        s3: () => second.s3,
        sageMaker: () => {
          throw new Error('a finish submits nothing');
        },
      },
    });
    const restore = () =>
      restoreJobs({
        dynamodbUrl: second.dynamodbUrl,
        s3: second.s3,
        batchQueueUrl: sqs.queueUrl(LOCAL.batchQueue),
      });
    const completions = () =>
      events
        .filter((e) => e.DetailType === 'BatchCompleted')
        .map((e) => JSON.parse(e.Detail!).batchId as string)
        .sort();
    try {
      expect(await restore()).toEqual({ jobs: 6, finished: 1, interrupted: 2 });
      // batchWorker takes the finishes as the queue delivers them.
      while (completions().length < 3) await new Promise((r) => setTimeout(r, 20));
      await sqs.idle();
      const view = (batchId: string) =>
        getBatch(batchId, {
          batches: second.batches,
          objects: objectStoreOnDemand(() => second.s3),
        });
      expect(await view(INTERRUPTED)).toMatchObject({
        state: 'COMPLETED',
        counts: { expected: 3, inProgress: 0, completed: 1, failed: 2 },
      });
      expect(await view(UNCOUNTED)).toMatchObject({
        state: 'COMPLETED',
        counts: { expected: 2, inProgress: 0, completed: 1, failed: 1 },
      });
      expect(await view(UNANNOUNCED)).toMatchObject({
        state: 'COMPLETED',
        counts: { completed: 1 },
      });
      expect(completions()).toEqual([INTERRUPTED, UNCOUNTED, UNANNOUNCED]);

      // A further restart finds every batch complete: nothing is queued or announced again.
      const queued = sqs.messages.length;
      expect(await restore()).toEqual({ jobs: 6, finished: 0, interrupted: 0 });
      expect(sqs.messages.length).toBe(queued);
      expect(completions()).toEqual([INTERRUPTED, UNCOUNTED, UNANNOUNCED]);
    } finally {
      sqsClient.destroy();
      await sqs.close();
      await second.close();
    }
  });
});

describe("queue control across the sandbox's restart", () => {
  it('frees the slot of a dispatched job it fails and wakes the dispatcher', async () => {
    await forgetState(dir);
    const id = 'dispatched-before-the-stop';
    const first = await start();
    const since = new Date().toISOString();
    try {
      await first.store.claim(
        submitted(id, {
          priority: 'normal',
          tenant: 'teamA',
          maxQueueSeconds: 600,
          queueDeadline: new Date(Date.now() + 600_000).toISOString(),
          enqueuedAt: since,
        }),
      );
      expect(
        await first.admission.claimSlot(LOCAL.endpointName, 0, {
          inferenceId: id,
          tenant: 'teamA',
          since,
        }),
      ).toBe(true);
      const leaseUntil = new Date(Date.now() + 25_000).toISOString();
      expect((await first.store.dispatch(id, { slot: 0, at: since, leaseUntil })).dispatched).toBe(
        true,
      );
    } finally {
      await first.close();
    }

    const second = await start();
    const sqs = await startLocalSqs({ queues: [LOCAL.dispatchQueue] });
    try {
      const report = await restoreJobs({
        dynamodbUrl: second.dynamodbUrl,
        s3: second.s3,
        admission: { dispatchQueueUrl: sqs.queueUrl(LOCAL.dispatchQueue) },
      });
      expect(report).toEqual({ jobs: 1, finished: 0, interrupted: 1 });
      expect(await second.store.get(id)).toMatchObject({
        status: 'FAILED',
        failureReason: INTERRUPTED_REASON,
      });
      // Freed by the ending itself, not left to a dispatch round's sweep.
      expect(await second.admission.slots(LOCAL.endpointName, 1)).toEqual([{ index: 0 }]);
      expect(
        sqs.messages
          .filter((m) => m.queueName === LOCAL.dispatchQueue)
          .map((m) => JSON.parse(m.body) as unknown),
      ).toEqual([{ endpointName: LOCAL.endpointName }]);
    } finally {
      await sqs.close();
      await second.close();
    }
  });
});
