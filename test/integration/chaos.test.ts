import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jobStore, resetClients, s3 } from '../../src/lib/adapters/clients.ts';
import { advanceWallClock, resetWallClock, wallClock } from '../../src/lib/adapters/clock.ts';
import { JobStore } from '../../src/lib/adapters/job-store.ts';
import { config } from '../../src/lib/config.ts';
import type { Job } from '../../src/lib/domain/jobs.ts';
import { reconcile } from '../../src/lib/app/reconcile.ts';
import { runModel } from '../../src/local/model.ts';
import type { LocalSageMaker } from '../../src/local/sagemaker.ts';
import { startTestRuntime } from '../support/runtime.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import {
  prng,
  SAGEMAKER_UNAVAILABLE,
  startFaultProxy,
  type FaultProxy,
  type ProxiedRequest,
} from '../support/faults.ts';
import { lambdaContext } from '../support/lambda.ts';
import { ERROR_TOPIC, SUCCESS_TOPIC, failed, snsEvent } from '../support/notifications.ts';
import { endingPorts } from '../../src/lib/wiring/endings.ts';

/*
 * Chaos: 500 jobs through the real handlers, with 10% of the handlers' S3 and DynamoDB requests
 * and 5% of their SageMaker requests failing (500s and 503s, resets, and calls applied whose
 * answer is lost), every notification delivered one to three times in random order (5% never
 * sent), Lambda's retries and a DLQ, then reconcile. Some first submits meet faults aimed at one
 * job, on every SDK attempt: SageMaker refuses the invoke (503), or accepts it and the answer is
 * lost; for half of those DynamoDB also fails the DeleteItem that releases the claim, so the
 * retry finds a claim never queued. The client retries with the same inferenceId, waiting each
 * Retry-After on the process's wall clock (moved, never slept). Every job must reach SageMaker and
 * end in its correct terminal state exactly once, a retry must never be answered a claim that was
 * never queued, and late duplicates must change nothing.
 */

const JOBS = 500;
const FAULT_RATE = 0.1;
const LOST_RATE = 0.05;
/** Invokes failing at random, per request (the SDK makes two attempts). */
const SAGEMAKER_FAULT_RATE = 0.05;
/** Jobs whose first submit SageMaker refuses on every attempt. */
const REFUSED_RATE = 0.08;
/** Jobs whose first submit SageMaker accepts on every attempt, each answer lost. */
const LOST_ANSWER_RATE = 0.05;
const SEED = Number(process.env.CHAOS_SEED ?? 20261124);
const random = prng(SEED);

type Handler = (e: unknown, c: unknown) => Promise<unknown>;
let b: Backends;
let runtime: LocalSageMaker;
let proxies: FaultProxy[] = [];
let sageMakerProxy: FaultProxy;
let submitJob: Handler;
let onSuccess: Handler;
let onError: Handler;
const published: { topicArn: string; message: string }[] = [];

const idOf = (i: number) => `chaos-${i}`;
type Aimed = { invoke: 'refuse' | 'lose'; release: boolean };
/** Faults aimed at a job's first submit, drawn before anything runs; cleared once it answered. */
const aimed = new Map<string, Aimed>();
const planned = new Map<string, Aimed>();
for (let i = 0; i < JOBS; i++) {
  const r = random();
  const invoke = r < REFUSED_RATE ? 'refuse' : r < REFUSED_RATE + LOST_ANSWER_RATE ? 'lose' : null;
  if (invoke) planned.set(idOf(i), { invoke, release: random() < 0.5 });
}
/** InvokeEndpointAsync calls the local runtime accepted, by job. */
const accepted = new Map<string, number>();
/** Terminal transitions that applied (as their callers heard it), and takeovers, by job. */
const applied = new Map<string, number>();
const takenOver = new Map<string, number>();
const lostReleases = new Map<string, number>();
/** Invokes accepted by the time a job's first submit answered. */
const firstAccepted = new Map<string, number>();
const bump = (m: Map<string, number>, id: string) => m.set(id, (m.get(id) ?? 0) + 1);

function header(req: ProxiedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

beforeAll(async () => {
  const transition = JobStore.prototype.transition;
  vi.spyOn(JobStore.prototype, 'transition').mockImplementation(async function (
    this: JobStore,
    ...args: Parameters<JobStore['transition']>
  ) {
    const t = await transition.apply(this, args);
    if (t.applied) bump(applied, args[0]);
    return t;
  });
  const release = JobStore.prototype.release;
  vi.spyOn(JobStore.prototype, 'release').mockImplementation(async function (
    this: JobStore,
    ...args: Parameters<JobStore['release']>
  ) {
    try {
      return await release.apply(this, args);
    } catch (err) {
      // Lost for good only if the claim is still there: an attempt before the one that failed
      // may have deleted it, its answer lost.
      if ((await b.store.get(args[0]))?.claimToken === args[1]) bump(lostReleases, args[0]);
      throw err;
    }
  });
  const takeOver = JobStore.prototype.takeOver;
  vi.spyOn(JobStore.prototype, 'takeOver').mockImplementation(async function (
    this: JobStore,
    ...args: Parameters<JobStore['takeOver']>
  ) {
    const t = await takeOver.apply(this, args);
    if (t.taken) bump(takenOver, args[0].inferenceId);
    return t;
  });
  b = await startBackends();
  proxies = await Promise.all([
    startFaultProxy({
      target: b.s3Url,
      rate: FAULT_RATE,
      random,
      errorBody: {
        contentType: 'application/xml',
        body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected</Message></Error>',
      },
    }),
    startFaultProxy({
      target: b.dynamoUrl,
      rate: FAULT_RATE,
      random,
      errorBody: {
        contentType: 'application/x-amz-json-1.0',
        body: '{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected"}',
      },
      // The DeleteItem releasing the claim of a job whose first submit is aimed at, every attempt.
      rule: (req) => {
        if (header(req, 'x-amz-target') !== 'DynamoDB_20120810.DeleteItem') return undefined;
        const key = (JSON.parse(req.body.toString()) as { Key?: { inferenceId?: { S?: string } } })
          .Key?.inferenceId?.S;
        return key && aimed.get(key)?.release ? 'error' : undefined;
      },
    }),
  ]);
  process.env.AWS_ENDPOINT_URL_S3 = proxies[0]!.url;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = proxies[1]!.url;
  resetClients();
  runtime = await startTestRuntime(b.s3, {
    concurrency: 8,
    publish: async (topicArn, message) => void published.push({ topicArn, message }),
    // Some notifications are never sent at all: only reconcile can finish those jobs.
    faults: { dropNotification: () => random() < LOST_RATE },
    log: (msg, fields) => {
      if (msg === 'request queued') bump(accepted, String(fields.inferenceId));
    },
  });
  sageMakerProxy = await startFaultProxy({
    target: runtime.url,
    rate: SAGEMAKER_FAULT_RATE,
    random,
    errorBody: SAGEMAKER_UNAVAILABLE,
    rule: (req) => {
      const fault = aimed.get(header(req, 'x-amzn-sagemaker-inference-id') ?? '')?.invoke;
      return fault === 'refuse' ? 'error' : fault === 'lose' ? 'lost-answer' : undefined;
    },
  });
  proxies.push(sageMakerProxy);
  process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = sageMakerProxy.url;
  resetClients();
  submitJob = (await import('../../src/handlers/submitJob.ts')).handler as never;
  onSuccess = (await import('../../src/handlers/onSuccess.ts')).handler as never;
  onError = (await import('../../src/handlers/onError.ts')).handler as never;
}, 60_000);

afterAll(async () => {
  vi.restoreAllMocks();
  resetWallClock();
  await runtime?.close();
  await Promise.all(proxies.map((p) => p.close()));
  await b?.close();
});

async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

const inputOf = (i: number) => (i % 10 === 3 ? 'FAIL' : `${i % 7},${i % 5}\n`);

describe('chaos', () => {
  it('every job reaches its correct terminal state exactly once', async () => {
    const counts = {
      submitAttempts: 0,
      submitRetries: 0,
      deliveries: 0,
      invocations: 0,
      invocationFailures: 0,
      deadLettered: 0,
      reconcileRounds: 0,
      reconciled: 0,
      stillRunning: 0,
    };

    // Submit, retrying with the same inferenceId as a client does on 429/5xx, after Retry-After.
    await pool(
      Array.from({ length: JOBS }, (_, i) => i),
      16,
      async (i) => {
        const first = planned.get(idOf(i));
        if (first) aimed.set(idOf(i), first);
        for (let attempt = 1; ; attempt++) {
          counts.submitAttempts++;
          const res = (await submitJob(
            {
              version: '2.0',
              headers: { 'content-type': 'text/csv' },
              queryStringParameters: { inferenceId: idOf(i) },
              body: inputOf(i),
              isBase64Encoded: false,
            },
            lambdaContext('submitJob'),
          )) as APIGatewayProxyStructuredResultV2;
          if (aimed.delete(idOf(i))) firstAccepted.set(idOf(i), accepted.get(idOf(i)) ?? 0);
          if (res.statusCode === 200) {
            // The defect this guards: a retry answered with a claim nothing will ever invoke.
            const job = JSON.parse(String(res.body)) as Job;
            const queued = job.status !== 'IN_PROGRESS' || job.outputLocation !== undefined;
            expect(queued, `${idOf(i)} answered 200 with a claim never queued`).toBe(true);
          }
          if (res.statusCode === 202 || res.statusCode === 200) return;
          expect(res.statusCode, String(res.body)).toBeGreaterThanOrEqual(429);
          if (attempt >= 20) throw new Error(`submit of ${idOf(i)} kept failing`);
          counts.submitRetries++;
          const wait = Number(res.headers?.['Retry-After'] ?? 0);
          if (/still running/.test(String(res.body))) {
            counts.stillRunning++;
            expect(wait, String(res.body)).toBeGreaterThan(0);
          }
          advanceWallClock(wait * 1000);
        }
      },
    );
    await runtime.idle();
    // Every job reached SageMaker; one whose first answers were lost reached it again on a retry.
    expect(lostReleases.size).toBeGreaterThan(0);
    for (let i = 0; i < JOBS; i++) {
      const id = idOf(i);
      expect(accepted.get(id) ?? 0, id).toBeGreaterThan(0);
      if (planned.get(id)?.invoke === 'lose') {
        expect(accepted.get(id), id).toBeGreaterThan(firstAccepted.get(id) as number);
      }
      // A claim left behind by a lost release was taken over by a retry.
      if (lostReleases.has(id)) expect(takenOver.get(id) ?? 0, id).toBeGreaterThan(0);
    }
    expect(runtime.stats().accepted).toBe([...accepted.values()].reduce((a, n) => a + n, 0));

    // Each notification one to three times, in random order; Lambda's two retries, then the DLQ.
    const deliveries = shuffle(
      published.flatMap((p) => Array.from({ length: 1 + Math.floor(random() * 3) }, () => p)),
    );
    counts.deliveries = deliveries.length;
    const dlq: typeof published = [];
    const deliver = async (p: (typeof published)[number]) => {
      const fn = p.topicArn === SUCCESS_TOPIC ? onSuccess : onError;
      for (let attempt = 1; attempt <= 3; attempt++) {
        counts.invocations++;
        try {
          await fn(snsEvent({ topic: p.topicArn, message: p.message }), lambdaContext('result'));
          return;
        } catch {
          counts.invocationFailures++;
        }
      }
      dlq.push(p);
    };
    await pool(deliveries, 16, deliver);
    counts.deadLettered = dlq.length;

    // Reconcile until nothing is left unfinished (a round may itself meet faults), then redrive.
    const deps = endingPorts({ config: config(), store: jobStore(), s3, now: wallClock });
    for (let round = 0; round < 10; round++) {
      counts.reconcileRounds++;
      const report = await reconcile(deps, { olderThanSeconds: 0 });
      counts.reconciled += report.completed + report.failed;
      if (report.checked === 0 && report.errors === 0) break;
    }
    await pool(dlq, 8, deliver);

    const final = new Map<string, Job>();
    for (let i = 0; i < JOBS; i++) {
      const job = await b.store.get(idOf(i));
      expect(job, idOf(i)).toBeDefined();
      final.set(idOf(i), job!);
      if (inputOf(i) === 'FAIL') {
        expect(job!.status, idOf(i)).toBe('FAILED');
      } else {
        expect(job!.status, idOf(i)).toBe('COMPLETED');
        expect(job!.result).toBe(
          runModel(Buffer.from(inputOf(i)), 'text/csv', undefined).body.toString(),
        );
      }
    }

    // Late duplicates of everything, and a forged late failure for every job: nothing flips.
    await pool(shuffle([...published]), 16, deliver);
    await pool(
      Array.from({ length: JOBS }, (_, i) => i),
      16,
      (i) => deliver({ topicArn: ERROR_TOPIC, message: JSON.stringify(failed(idOf(i))) }),
    );
    for (let i = 0; i < JOBS; i++) {
      expect(await b.store.get(idOf(i))).toEqual(final.get(idOf(i)));
      // Ended once: no second terminal write ever applied, whatever was delivered twice.
      expect(applied.get(idOf(i)) ?? 0, idOf(i)).toBeLessThanOrEqual(1);
    }

    const statuses = [...final.values()].reduce<Record<string, number>>((acc, j) => {
      acc[j.status] = (acc[j.status] ?? 0) + 1;
      return acc;
    }, {});
    console.log(
      `chaos (seed ${SEED}): ${JSON.stringify({
        jobs: JOBS,
        ...statuses,
        lostNotifications: runtime.stats().accepted - published.length,
        ...counts,
        aimedAtFirstSubmits: planned.size,
        invokes: runtime.stats().accepted,
        lostReleases: lostReleases.size,
        takeovers: [...takenOver.values()].reduce((a, n) => a + n, 0),
        s3Faults: proxies[0]!.counts,
        dynamodbFaults: proxies[1]!.counts,
        sageMakerFaults: sageMakerProxy.counts,
      })}`,
    );
    expect(statuses).toEqual({ COMPLETED: JOBS - JOBS / 10, FAILED: JOBS / 10 });
  }, 600_000);
});
