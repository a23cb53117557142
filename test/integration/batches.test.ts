import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchStore } from '../../src/lib/adapters/batch-store.ts';
import type { JobStore } from '../../src/lib/adapters/job-store.ts';
import type { WorkerDeps } from '../../src/lib/app/batch-worker.ts';
import { processBatchEvent, workerPorts } from '../../src/lib/wiring/batch-worker.ts';
import { getBatch } from '../../src/lib/app/batch-status.ts';
import { createBatch } from '../../src/lib/app/batches.ts';
import { cancelBatch } from '../../src/lib/app/cancel.ts';
import { processEvent } from '../../src/lib/wiring/results.ts';
import { checkJob, reconcile } from '../../src/lib/app/reconcile.ts';
import { EXPIRY_GRACE_SECONDS } from '../../src/lib/domain/jobs.ts';
import { loadConfig, type Config } from '../../src/lib/config.ts';
import { listJobs } from '../../src/lib/http/listing.ts';
import { EMULATOR_CREDENTIALS } from '../../src/local/emulators.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import { MemoryQueue } from '../support/fakes/batch-queue.ts';
import {
  INPUT_BUCKET,
  OUTPUT_BUCKET,
  SUCCESS_TOPIC,
  ERROR_TOPIC,
  completed,
  failed,
  snsEvent,
} from '../support/notifications.ts';
import { answering } from '../support/answers.ts';
import { endingPorts } from '../../src/lib/wiring/endings.ts';
import { objectStoreOnDemand } from '../../src/lib/adapters/lazy.ts';

/*
 * Batches end to end in-process: the real handlers' use cases with real SDK clients against
 * dynalite and s3rver, the batch queue in memory (test/support/batch-queue.ts: visibility,
 * receive counts, batchItemFailures), and a SageMaker fake that counts InvokeEndpointAsync per
 * InferenceId and throttles every Nth call. Each invoked job's notification is delivered (some
 * twice) through processEvent, as onSuccess/onError would.
 */

let b: Backends;
let batches: BatchStore;
let dynamo: DynamoDBClient;
let cfg: Config;

beforeAll(async () => {
  b = await startBackends();
  dynamo = new DynamoDBClient({
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
    endpoint: b.dynamoUrl,
  });
  batches = new BatchStore(dynamo, process.env.JOBS_TABLE as string);
  cfg = { ...loadConfig(), eventBusName: 'test-bus' };
});
afterAll(async () => {
  dynamo?.destroy();
  await b?.close();
});

/**
 * InvokeEndpointAsync as SageMaker answers it, throttling every `throttleEvery`th call. The
 * throttle is the SDK's ThrottlingException ("The request was throttled. Retry the request after
 * a brief wait.", https://docs.aws.amazon.com/sagemaker/latest/APIReference/CommonErrors.html):
 * status 400 with that name, which invokeError maps to a retryable 429.
 */
function fakeSageMaker(throttleEvery: number) {
  const invocations = new Map<string, number>();
  const invoked: string[] = [];
  let calls = 0;
  const client = {
    async send(cmd: { input: { InferenceId: string } }) {
      calls++;
      if (throttleEvery > 0 && calls % throttleEvery === 0) {
        throw Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottlingException',
          $metadata: { httpStatusCode: 400 },
        });
      }
      const id = cmd.input.InferenceId;
      invocations.set(id, (invocations.get(id) ?? 0) + 1);
      invoked.push(id);
      return {
        InferenceId: id,
        OutputLocation: `s3://${OUTPUT_BUCKET}/outputs/${id}.out`,
        FailureLocation: `s3://${OUTPUT_BUCKET}/failures/${id}.out`,
      };
    },
  };
  return { client: () => client as unknown as SageMakerRuntimeClient, invocations, invoked };
}

function fakeBus() {
  const events: { DetailType?: string; Detail?: string }[] = [];
  const client = {
    async send(cmd: { input: { Entries: { DetailType?: string; Detail?: string }[] } }) {
      events.push(...cmd.input.Entries);
      return { FailedEntryCount: 0, Entries: [{ EventId: 'e' }] };
    },
  };
  return { client: () => client as unknown as EventBridgeClient, events };
}

interface Rig {
  queue: MemoryQueue;
  sm: ReturnType<typeof fakeSageMaker>;
  bus: ReturnType<typeof fakeBus>;
  deps: WorkerDeps;
  /** Invoked jobs whose notification was not delivered yet. */
  pending: string[];
}

function rig(throttleEvery: number, store: JobStore = b.store): Rig {
  const queue = new MemoryQueue();
  const sm = fakeSageMaker(throttleEvery);
  const bus = fakeBus();
  const deps: WorkerDeps = workerPorts({
    config: cfg,
    batches,
    queue,
    s3: () => b.s3,
    eventBridge: bus.client,
    submit: { store, s3: () => b.s3, sageMaker: sm.client },
  });
  return { queue, sm, bus, deps, pending: [] };
}

/** Line n fails when n % 10 === 3; every 10th notification is delivered twice. */
async function deliverOutcomes(r: Rig, count = r.pending.length): Promise<void> {
  const ids = r.pending.splice(0, count);
  let n = 0;
  await Promise.all(
    ids.map(async (id) => {
      const line = Number(/-(\d+)$/.exec(id)?.[1] ?? 0);
      const fails = line % 10 === 3;
      const event = snsEvent({
        topic: fails ? ERROR_TOPIC : SUCCESS_TOPIC,
        message: fails ? failed(id) : completed(id, { responseBody: Buffer.from('{"y":1}') }),
      });
      const times = n++ % 10 === 0 ? 2 : 1;
      for (let i = 0; i < times; i++) {
        await processEvent(
          event,
          fails ? ERROR_TOPIC : SUCCESS_TOPIC,
          endingPorts({
            config: cfg,
            store: b.store,
            s3: () => b.s3,
            batches: { batches, queue: r.queue },
          }),
        );
      }
    }),
  );
}

/** Lambda's poller: up to `concurrency` batches of 10 at once, until the queue is empty. */
async function drain(r: Rig, opts: { concurrency?: number; stopAfter?: number } = {}) {
  let rounds = 0;
  for (;;) {
    const events = [];
    for (let i = 0; i < (opts.concurrency ?? 4); i++) {
      const e = r.queue.receive(10);
      if (e && e.Records.length > 0) events.push(e);
    }
    if (events.length === 0) {
      if (r.pending.length > 0) await deliverOutcomes(r);
      else if (!r.queue.advance()) return;
      continue;
    }
    await Promise.all(
      events.map(async (e) => r.queue.settle(e, await processBatchEvent(e, r.deps))),
    );
    r.pending.push(...r.sm.invoked.splice(0));
    if (r.pending.length >= 50) await deliverOutcomes(r);
    if (opts.stopAfter !== undefined && ++rounds >= opts.stopAfter) return;
  }
}

function manifest(lines: number, mk: (n: number) => Record<string, unknown>): Buffer {
  return Buffer.from(
    Array.from({ length: lines }, (_, i) => JSON.stringify(mk(i + 1))).join('\n') + '\n',
  );
}

describe('POST /batches', () => {
  it('answers at once with the batch, and a malformed line as 400 naming its number', async () => {
    const r = rig(0);
    const view = await createBatch(
      { query: {}, body: manifest(3, (n) => ({ body: { x: n } })) },
      r.deps,
    );
    expect(view).toMatchObject({ state: 'EXPANDING', counts: { submitted: 0 } });
    expect(r.queue.messages.size).toBe(1);
    const bad = Buffer.from('{"body":"a"}\n\n{"input":"s3://other-bucket/x"}\n');
    await expect(answering(createBatch({ query: {}, body: bad }, r.deps))).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('line 3: input must be in the input bucket'),
    });
    await expect(
      answering(createBatch({ query: {}, body: Buffer.from('{"body":"a"}\nnot json\n') }, r.deps)),
    ).rejects.toMatchObject({ status: 400, message: 'line 2: not JSON' });
    await expect(
      answering(
        createBatch({ query: {}, body: Buffer.from('{"body":"a","input":"s3://x/y"}') }, r.deps),
      ),
    ).rejects.toMatchObject({ status: 400, message: expect.stringContaining('line 1') });
    await expect(
      answering(
        createBatch(
          {
            query: {},
            body: Buffer.from('{"body":"a","inferenceId":"a1"}\n{"body":"b","inferenceId":"a1"}'),
          },
          r.deps,
        ),
      ),
    ).rejects.toMatchObject({ status: 400, message: 'line 2: inferenceId repeats line 1' });
  });
});

describe('a 1,000-line batch with throttling', () => {
  let r: Rig;
  let batchId: string;

  beforeAll(async () => {
    r = rig(7);
    const view = await createBatch(
      {
        query: { callbackUrl: 'https://hooks.example.com/batches' },
        body: manifest(1000, (n) =>
          n % 100 === 0
            ? { body: `row,${n}`, contentType: 'text/csv' }
            : n === 555
              ? { input: `s3://${INPUT_BUCKET}/data/${n}.csv`, contentType: 'not a media type' }
              : { input: `s3://${INPUT_BUCKET}/data/${n}.csv`, contentType: 'text/csv' },
        ),
      },
      r.deps,
    );
    batchId = view.batchId;
    await drain(r);
  }, 240_000);

  it('invokes every line exactly once, throttled ones after a back-off', () => {
    expect(r.sm.invocations.size).toBe(999);
    expect([...r.sm.invocations.values()].every((n) => n === 1)).toBe(true);
    // Throttled messages came back with a later visibility: the clock moved by back-offs.
    expect(r.queue.now).toBeGreaterThan(0);
  });

  it('counts exactly under duplicate notifications, and refuses the bad line with its reason', async () => {
    const view = await getBatch(batchId, { batches, objects: objectStoreOnDemand(() => b.s3) });
    expect(view.counts).toEqual({
      expected: 1000,
      submitted: 999,
      inProgress: 0,
      completed: 899,
      failed: 100,
      refused: 1,
      cancelled: 0,
      expired: 0,
      pending: 0,
    });
    expect(view.state).toBe('COMPLETED');
    expect(view.progress).toBe(1);
    expect(view.finishedAt).toBeDefined();
    expect(view.manifestUrl).toMatch(/^http/);
  });

  it('writes the output manifest: every line, its job and output location', async () => {
    const text = (await b.getObject(INPUT_BUCKET, `batches/${batchId}/results.jsonl`)).toString(
      'utf8',
    );
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1000);
    expect(lines[0]).toEqual({
      line: 1,
      inferenceId: `${batchId}-1`,
      status: 'COMPLETED',
      outputLocation: `s3://${OUTPUT_BUCKET}/outputs/${batchId}-1.out`,
      failureLocation: `s3://${OUTPUT_BUCKET}/failures/${batchId}-1.out`,
    });
    expect(lines[2]).toMatchObject({
      line: 3,
      status: 'FAILED',
      failureReason: expect.any(String),
    });
    expect(lines[554]).toEqual({
      line: 555,
      status: 'REFUSED',
      reason: 'Content-Type must be a valid media type, such as text/csv',
    });
  });

  it('sends BatchCompleted once, with the callbackUrl for the webhook rule', async () => {
    const done = r.bus.events.filter((e) => e.DetailType === 'BatchCompleted');
    expect(done).toHaveLength(1);
    expect(JSON.parse(done[0]!.Detail!)).toMatchObject({
      batchId,
      state: 'COMPLETED',
      callbackUrl: 'https://hooks.example.com/batches',
      counts: { completed: 899, failed: 100, refused: 1 },
    });
  });

  it('lists the batch jobs in line order, page by page', async () => {
    const first = await listJobs({ batchId, limit: '3' }, b.store, undefined, batches);
    expect(first.jobs.map((j) => j.inferenceId)).toEqual([1, 2, 3].map((n) => `${batchId}-${n}`));
    expect(first.jobs[0]).toMatchObject({ batchId, batchLine: 1, status: 'COMPLETED' });
    const second = await listJobs(
      { batchId, limit: '3', next: first.next },
      b.store,
      undefined,
      batches,
    );
    expect(second.jobs[0]?.batchLine).toBe(4);
    await expect(
      answering(listJobs({ batchId, next: 'bm90IGEgdG9rZW4' }, b.store, undefined, batches)),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe('POST /batches/{id}/cancel against dynalite', () => {
  /** The worker on every visible message, outcomes held back (the jobs stay unended). */
  async function work(r: Rig): Promise<void> {
    for (let e = r.queue.receive(10); e; e = r.queue.receive(10)) {
      r.queue.settle(e, await processBatchEvent(e, r.deps));
    }
  }

  it('marks the batch and queues the work; the worker cancels every unended job, once', async () => {
    const r = rig(0);
    const { batchId } = await createBatch(
      { query: {}, body: manifest(300, (n) => ({ body: `row,${n}`, contentType: 'text/csv' })) },
      r.deps,
    );
    await work(r);
    expect(r.sm.invocations.size).toBe(300);
    r.sm.invoked.splice(0);
    const cancel = { batches: { batches, queue: r.queue } };
    const answer = await cancelBatch({ batchId }, cancel);
    expect(answer).toMatchObject({ batchId, blocks: 2 });
    // The request cancelled nothing itself: the jobs are as they were until the worker runs.
    expect((await b.store.get(`${batchId}-1`))?.cancelRequested).toBeUndefined();
    expect(r.queue.messages.size).toBe(2);
    await work(r);
    // Admission off: every job is SageMaker's, so each is cancel-requested.
    for (const line of [1, 250, 251, 300]) {
      expect(await b.store.get(`${batchId}-${line}`)).toMatchObject({
        status: 'IN_PROGRESS',
        cancelRequested: true,
      });
    }
    // Delivered again (and asked again): nothing changes.
    await cancelBatch({ batchId }, cancel);
    await work(r);
    // SageMaker's answers end them CANCELLED, and the batch completes once.
    r.pending.push(...Array.from({ length: 300 }, (_, i) => `${batchId}-${i + 1}`));
    // 50 at a time, as drain does: dynalite is one process on a shared machine.
    while (r.pending.length > 0) await deliverOutcomes(r, 50);
    await drain(r);
    const view = await getBatch(batchId, { batches, objects: objectStoreOnDemand(() => b.s3) });
    expect(view).toMatchObject({
      state: 'COMPLETED',
      counts: { expected: 300, cancelled: 300, completed: 0, failed: 0, inProgress: 0 },
    });
    expect(r.bus.events.filter((e) => e.DetailType === 'BatchCompleted')).toHaveLength(1);
    expect([...r.sm.invocations.values()].every((n) => n === 1)).toBe(true);
  }, 120_000);
});

describe('a crash half-way', () => {
  it('resumes from the queue without invoking any line twice', async () => {
    // The first worker dies: its expansion after queuing the lines of a block but before the
    // next step, and its submits after InvokeEndpointAsync but before the record was updated.
    let crashes = 0;
    const crashing = Object.create(b.store) as JobStore;
    crashing.markQueued = async (id, locations) => {
      if (Number(/-(\d+)$/.exec(id)?.[1]) % 9 === 0 && crashes++ < 20) throw new Error('crash');
      return b.store.markQueued(id, locations);
    };
    const r = rig(11, crashing);
    let expandCrashes = 0;
    r.queue.failSend = (m) => m[0]?.t === 'expand' && m[0].block === 1 && expandCrashes++ === 0;
    const view = await createBatch(
      { query: {}, body: manifest(300, (n) => ({ body: `x${n}`, contentType: 'text/plain' })) },
      r.deps,
    );
    await drain(r, { stopAfter: 6 });
    const halfway = r.sm.invocations.size;
    expect(halfway).toBeGreaterThan(0);
    expect(halfway).toBeLessThan(300);

    // A new worker (new process) picks up what the queue still holds.
    const restarted: Rig = { ...rig(11), queue: r.queue, pending: r.pending };
    restarted.deps.queue = r.queue;
    expect(expandCrashes).toBeGreaterThan(0);
    await drain(restarted);
    const all = new Map(r.sm.invocations);
    for (const [id, n] of restarted.sm.invocations) all.set(id, (all.get(id) ?? 0) + n);
    expect(all.size).toBe(300);
    expect([...all.values()].every((n) => n === 1)).toBe(true);
    const after = await getBatch(view.batchId, {
      batches,
      objects: objectStoreOnDemand(() => b.s3),
    });
    expect(after.counts).toMatchObject({ expected: 300, completed: 270, failed: 30, refused: 0 });
    expect(after.state).toBe('COMPLETED');
    const events = [...r.bus.events, ...restarted.bus.events].filter(
      (e) => e.DetailType === 'BatchCompleted',
    );
    expect(events).toHaveLength(1);
  }, 240_000);
});

describe('POST /batches?prefix=', () => {
  it('takes every object under the prefix, one job each', async () => {
    for (let i = 0; i < 5; i++) {
      await b.s3.send(
        new PutObjectCommand({
          Bucket: INPUT_BUCKET,
          Key: `drop/2026-11-26/${i}.csv`,
          Body: `a,${i}`,
          ContentType: 'text/csv',
        }),
      );
    }
    const r = rig(0);
    const view = await createBatch(
      { query: { prefix: `s3://${INPUT_BUCKET}/drop/2026-11-26/` }, body: Buffer.alloc(0) },
      r.deps,
    );
    await drain(r);
    expect([...r.sm.invocations.keys()].sort()).toEqual(
      [1, 2, 3, 4, 5].map((n) => `${view.batchId}-${n}`),
    );
    const done = await getBatch(view.batchId, {
      batches,
      objects: objectStoreOnDemand(() => b.s3),
    });
    expect(done.counts).toMatchObject({ expected: 5, completed: 4, failed: 1 });
    // A redelivered finish and a late duplicate outcome send no second BatchCompleted.
    await r.queue.send([{ t: 'finish', batchId: view.batchId }]);
    r.pending.push(`${view.batchId}-1`);
    await drain(r);
    expect(r.bus.events.filter((e) => e.DetailType === 'BatchCompleted')).toHaveLength(1);
    await expect(
      answering(
        createBatch(
          { query: { prefix: 's3://someone-elses-bucket/x/' }, body: Buffer.alloc(0) },
          r.deps,
        ),
      ),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe('batches whose last job ends without a notification', () => {
  /** Every message the queue holds, processed as batchWorker would; notifications never come. */
  async function work(r: Rig): Promise<void> {
    for (;;) {
      const e = r.queue.receive(10);
      if (e && e.Records.length > 0) {
        r.queue.settle(e, await processBatchEvent(e, r.deps));
        continue;
      }
      if (!r.queue.advance()) return;
    }
  }

  it('each path that ends it counts the line, and each batch completes once', async () => {
    const r = rig(0);
    // One batch per path; line 1 of each ends by its notification, line 2 by the path.
    const paths = ['output found', 'failure found', 'expired', "getJob's check"] as const;
    const ids: Record<string, string> = {};
    for (const path of paths) {
      const view = await createBatch(
        {
          query: {},
          body: manifest(2, (n) => ({ body: `${path} ${n}`, contentType: 'text/plain' })),
        },
        r.deps,
      );
      ids[path] = view.batchId;
    }
    await work(r);
    expect(r.sm.invoked).toHaveLength(8);
    const ending = endingPorts({
      config: cfg,
      store: b.store,
      s3: () => b.s3,
      eventBridge: r.bus.client,
      batches: { batches, queue: r.queue },
    });
    for (const batchId of Object.values(ids)) {
      await processEvent(
        snsEvent({
          topic: SUCCESS_TOPIC,
          message: completed(`${batchId}-1`, { responseBody: Buffer.from('1') }),
        }),
        SUCCESS_TOPIC,
        ending,
      );
    }
    await b.putOutput(`outputs/${ids['output found']}-2.out`, '0.5', 'text/plain');
    await b.putOutput(`failures/${ids['failure found']}-2.out`, 'out of memory', 'text/plain');
    await b.putOutput(`outputs/${ids["getJob's check"]}-2.out`, '0.7', 'text/plain');
    // GET /jobs/{id} of a stale job: the same check reconcile makes, from getJob.
    const polled = await b.store.get(`${ids["getJob's check"]}-2`);
    expect(await checkJob(polled!, ending)).toMatchObject({ verdict: 'completed' });
    // The scheduled run, past the others' deadlines: one found output, one failure, one expiry.
    const later = () => new Date(Date.now() + (21_600 + 900 + EXPIRY_GRACE_SECONDS + 1) * 1000);
    expect(await reconcile({ ...ending, now: later }, { olderThanSeconds: 0 })).toMatchObject({
      completed: 1,
      failed: 1,
      expired: 1,
      errors: 0,
    });
    await work(r);

    const expected = {
      'output found': { completed: 2, failed: 0 },
      'failure found': { completed: 1, failed: 1 },
      expired: { completed: 1, failed: 1 },
      "getJob's check": { completed: 2, failed: 0 },
    };
    for (const path of paths) {
      const view = await getBatch(ids[path]!, {
        batches,
        objects: objectStoreOnDemand(() => b.s3),
      });
      expect(view, path).toMatchObject({
        state: 'COMPLETED',
        counts: { expected: 2, inProgress: 0, ...expected[path] },
      });
      const done = r.bus.events.filter(
        (e) => e.DetailType === 'BatchCompleted' && JSON.parse(e.Detail!).batchId === ids[path],
      );
      expect(done, path).toHaveLength(1);
    }
    // Every job was announced once, whichever path ended it.
    const outcomes = r.bus.events.filter((e) => e.DetailType !== 'BatchCompleted');
    expect(outcomes).toHaveLength(8);

    // A second run and a late notification end nothing again: no second BatchCompleted.
    await reconcile({ ...ending, now: later }, { olderThanSeconds: 0 });
    await processEvent(
      snsEvent({ topic: ERROR_TOPIC, message: failed(`${ids.expired}-2`) }),
      ERROR_TOPIC,
      ending,
    );
    await work(r);
    expect(r.bus.events.filter((e) => e.DetailType === 'BatchCompleted')).toHaveLength(4);
  }, 120_000);
});

describe('the sample events (events/batch-*.json)', () => {
  it('a POST /batches event is accepted, and an SQS submit message invokes its line', async () => {
    const { readFile } = await import('node:fs/promises');
    const { bodyBytes } = await import('../../src/lib/http/answers.ts');
    const load = async (f: string) => JSON.parse(await readFile(`events/${f}`, 'utf8'));
    const r = rig(0);
    const post = await load('batch-create.json');
    const view = await createBatch({ query: {}, body: bodyBytes(post) }, r.deps);
    expect(view.state).toBe('EXPANDING');
    const answer = await processBatchEvent(await load('batch-submit-sqs.json'), r.deps);
    expect(answer.batchItemFailures).toEqual([]);
    expect([...r.sm.invocations.keys()]).toEqual(['b-0123456789abcdef01234567-1']);
  });
});
