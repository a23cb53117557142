import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobStore, resetClients, s3 } from '../../src/lib/adapters/clients.ts';
import { config } from '../../src/lib/config.ts';
import type { Job } from '../../src/lib/domain/jobs.ts';
import { reconcile } from '../../src/lib/app/reconcile.ts';
import { runModel } from '../../src/local/model.ts';
import type { LocalSageMaker } from '../../src/local/sagemaker.ts';
import { startTestRuntime } from '../support/runtime.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import { prng, startFaultProxy, type FaultProxy } from '../support/faults.ts';
import { lambdaContext } from '../support/lambda.ts';
import { ERROR_TOPIC, SUCCESS_TOPIC, failed, snsEvent } from '../support/notifications.ts';

/*
 * Chaos: 500 jobs through the real handlers, with 10% of the handlers' S3 and DynamoDB requests
 * failing (500s, resets, and writes whose answer is lost), every notification delivered one to
 * three times in random order (5% never sent), Lambda's retries and a DLQ, then reconcile. Every job must end in
 * its correct terminal state exactly once, and late duplicates must change nothing.
 */

const JOBS = 500;
const FAULT_RATE = 0.1;
const LOST_RATE = 0.05;
const SEED = Number(process.env.CHAOS_SEED ?? 20261124);
const random = prng(SEED);

type Handler = (e: unknown, c: unknown) => Promise<unknown>;
let b: Backends;
let runtime: LocalSageMaker;
let proxies: FaultProxy[] = [];
let submitJob: Handler;
let onSuccess: Handler;
let onError: Handler;
const published: { topicArn: string; message: string }[] = [];

beforeAll(async () => {
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
  });
  submitJob = (await import('../../src/handlers/submitJob.ts')).handler as never;
  onSuccess = (await import('../../src/handlers/onSuccess.ts')).handler as never;
  onError = (await import('../../src/handlers/onError.ts')).handler as never;
}, 60_000);

afterAll(async () => {
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
const idOf = (i: number) => `chaos-${i}`;

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
    };

    // Submit, retrying with the same inferenceId as a client does on 429/5xx.
    await pool(
      Array.from({ length: JOBS }, (_, i) => i),
      16,
      async (i) => {
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
          if (res.statusCode === 202 || res.statusCode === 200) return;
          expect(res.statusCode, String(res.body)).toBeGreaterThanOrEqual(429);
          if (attempt >= 10) throw new Error(`submit of ${idOf(i)} kept failing`);
          counts.submitRetries++;
        }
      },
    );
    await runtime.idle();
    expect(runtime.stats().accepted).toBe(JOBS);

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
    const deps = { config: config(), store: jobStore(), s3 };
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
    }

    const statuses = [...final.values()].reduce<Record<string, number>>((acc, j) => {
      acc[j.status] = (acc[j.status] ?? 0) + 1;
      return acc;
    }, {});
    console.log(
      `chaos (seed ${SEED}): ${JSON.stringify({
        jobs: JOBS,
        ...statuses,
        lostNotifications: JOBS - published.length,
        ...counts,
        s3Faults: proxies[0]!.counts,
        dynamodbFaults: proxies[1]!.counts,
      })}`,
    );
    expect(statuses).toEqual({ COMPLETED: JOBS - JOBS / 10, FAILED: JOBS / 10 });
  }, 240_000);
});
