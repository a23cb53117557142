import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetClients } from '../../src/lib/adapters/clients.ts';
import { advanceWallClock, resetWallClock } from '../../src/lib/adapters/clock.ts';
import { LEASE_MARGIN_MS } from '../../src/lib/domain/claims.ts';
import type { Job } from '../../src/lib/domain/jobs.ts';
import type { LocalSageMaker } from '../../src/local/sagemaker.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import {
  prng,
  SAGEMAKER_UNAVAILABLE,
  startFaultProxy,
  type FaultProxy,
  type ProxiedRequest,
} from '../support/faults.ts';
import { lambdaContext, submitEvent } from '../support/lambda.ts';
import { SUCCESS_TOPIC, snsEvent } from '../support/notifications.ts';
import { startTestRuntime } from '../support/runtime.ts';

/*
 * The reproduction through the real handlers, SDK clients and emulators, with fault
 * proxies in front of DynamoDB and the local SageMaker runtime: SageMaker refuses a submit's
 * invoke while DynamoDB fails the DeleteItem that releases its claim; SageMaker accepts an invoke
 * and its answer is lost; SageMaker accepts the connection and never answers.
 */

type Handler = (e: unknown, c: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let b: Backends;
let runtime: LocalSageMaker;
let proxies: FaultProxy[] = [];
let submitJob: Handler;
let onSuccess: (e: unknown, c: unknown) => Promise<unknown>;
const published: { topicArn: string; message: string }[] = [];
const accepted = new Map<string, number>();

/** Ids whose invokes SageMaker refuses, whose answers are lost, whose releases fail. */
const refuse = new Set<string>();
const lose = new Set<string>();
const failRelease = new Set<string>();

const header = (req: ProxiedRequest, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

beforeAll(async () => {
  b = await startBackends();
  runtime = await startTestRuntime(b.s3, {
    publish: async (topicArn, message) => void published.push({ topicArn, message }),
    log: (msg, fields) => {
      if (msg === 'request queued') {
        const id = String(fields.inferenceId);
        accepted.set(id, (accepted.get(id) ?? 0) + 1);
      }
    },
  });
  const never = () => 1;
  proxies = await Promise.all([
    startFaultProxy({
      target: b.dynamoUrl,
      rate: 0,
      random: never,
      errorBody: {
        contentType: 'application/x-amz-json-1.0',
        body: '{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected"}',
      },
      rule: (req) => {
        if (header(req, 'x-amz-target') !== 'DynamoDB_20120810.DeleteItem') return undefined;
        const key = (JSON.parse(req.body.toString()) as { Key: { inferenceId: { S: string } } }).Key
          .inferenceId.S;
        return failRelease.has(key) ? 'error' : undefined;
      },
    }),
    startFaultProxy({
      target: runtime.url,
      rate: 0,
      random: prng(1),
      errorBody: SAGEMAKER_UNAVAILABLE,
      rule: (req) => {
        const id = header(req, 'x-amzn-sagemaker-inference-id') ?? '';
        return refuse.has(id) ? 'error' : lose.has(id) ? 'lost-answer' : undefined;
      },
    }),
  ]);
  process.env.AWS_ENDPOINT_URL_DYNAMODB = proxies[0]!.url;
  process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = proxies[1]!.url;
  resetClients();
  submitJob = (await import('../../src/handlers/submitJob.ts')).handler as never;
  onSuccess = (await import('../../src/handlers/onSuccess.ts')).handler as never;
});

afterAll(async () => {
  resetWallClock();
  await runtime?.close();
  await Promise.all(proxies.map((p) => p.close()));
  await b?.close();
});

const post = (inferenceId: string) =>
  submitEvent('1,2\n', { query: { inferenceId }, contentType: 'text/csv' });

const submit = (id: string, context = lambdaContext('submitJob')) => submitJob(post(id), context);
const message = (r: APIGatewayProxyStructuredResultV2) =>
  (JSON.parse(String(r.body)) as { message: string }).message;
const notificationsOf = (id: string) =>
  published.filter((p) => (JSON.parse(p.message) as { inferenceId: string }).inferenceId === id);

describe('claims through the handlers', () => {
  it('a refused invoke whose release is lost: the retry waits out the lease, then takes over', async () => {
    refuse.add('c-lost-release');
    failRelease.add('c-lost-release');
    const before = Date.now();
    const first = await submit('c-lost-release');
    const after = Date.now();
    refuse.clear();
    failRelease.clear();
    expect(first.statusCode).toBe(503);
    const dead = (await b.store.get('c-lost-release')) as Job;
    expect(dead).toMatchObject({ status: 'IN_PROGRESS' });
    expect(dead.outputLocation).toBeUndefined();
    // The lease is the handler's remaining time (the context says 29 s) plus the margin.
    const lease = Date.parse(dead.leaseUntil as string);
    expect(lease).toBeGreaterThanOrEqual(before + 29_000 + LEASE_MARGIN_MS);
    expect(lease).toBeLessThanOrEqual(after + 29_000 + LEASE_MARGIN_MS);

    const early = await submit('c-lost-release');
    expect(early.statusCode).toBe(503);
    expect(message(early)).toMatch(/still running; retry with the same inferenceId in \d+ s$/);
    const wait = Number(early.headers?.['Retry-After']);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(34);
    expect(accepted.get('c-lost-release')).toBeUndefined();

    // A client that waits Retry-After (the clock is moved, not slept).
    advanceWallClock(wait * 1000);
    const late = await submit('c-lost-release');
    expect(late.statusCode).toBe(202);
    expect(accepted.get('c-lost-release')).toBe(1);
    const job = (await b.store.get('c-lost-release')) as Job;
    expect(job.claimToken).not.toBe(dead.claimToken);
    expect(job.outputLocation).toBeDefined();
  });

  it('a lost SageMaker answer: the retry invokes again, and the job ends once', async () => {
    lose.add('c-lost-answer');
    const first = await submit('c-lost-answer');
    lose.clear();
    expect(first.statusCode).toBe(503);
    // The SDK's two attempts both reached SageMaker; the claim was released.
    const unheard = accepted.get('c-lost-answer') as number;
    expect(unheard).toBeGreaterThan(0);
    expect(await b.store.get('c-lost-answer')).toBeUndefined();

    const retry = await submit('c-lost-answer');
    expect(retry.statusCode).toBe(202);
    expect(accepted.get('c-lost-answer')).toBe(unheard + 1);
    await runtime.idle();
    const notes = notificationsOf('c-lost-answer');
    expect(notes).toHaveLength(unheard + 1);
    const deliver = (n: (typeof notes)[number]) =>
      onSuccess(snsEvent({ topic: SUCCESS_TOPIC, message: n.message }), lambdaContext('onSuccess'));
    await deliver(notes[0]!);
    const ended = (await b.store.get('c-lost-answer')) as Job;
    expect(ended.status).toBe('COMPLETED');
    for (const n of notes.slice(1)) await deliver(n);
    expect(await b.store.get('c-lost-answer')).toEqual(ended);
  });
});

describe('a SageMaker that accepts the connection and never answers', () => {
  let server: Server;
  const hanging: IncomingMessage[] = [];

  beforeAll(async () => {
    server = createServer((req) => void hanging.push(req));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    resetClients();
  });
  afterAll(async () => {
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = proxies[1]!.url;
    resetClients();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  });

  it('the invoke is cut before the invocation ends, answered 503, the claim released', async () => {
    const context = { ...lambdaContext('submitJob'), getRemainingTimeInMillis: () => 3_500 };
    const res = await submit('c-hang', context);
    expect(res.statusCode).toBe(503);
    expect(await b.store.get('c-hang')).toBeUndefined();
    // Ended while SageMaker held the request: this server never answers.
    expect(hanging.length).toBeGreaterThan(0);
  }, 20_000);
});
