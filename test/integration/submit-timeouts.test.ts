import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resetClients } from '../../src/lib/adapters/clients.ts';
import { TIME_BOUNDS, useTimeBounds, type TimeBounds } from '../../src/lib/adapters/time-bounds.ts';
import { resetConfig } from '../../src/lib/config.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import { startHangingServer, type HangingServer } from '../support/hanging-server.ts';
import { lambdaContext, submitEvent } from '../support/lambda.ts';

/*
 * POST /jobs through the submitJob handler, with DynamoDB on dynalite and S3 or SageMaker on a
 * loopback server that accepts and never answers: the caller gets a retryable 503 and the claim
 * is released, while the server still hangs. The bounds are shrunk through the table the clients
 * and submit read (useTimeBounds); DynamoDB keeps its production bounds, since dynalite must
 * answer. Without the handler's timeouts or submit's deadline, each of these waits until the test
 * times out.
 */

type Handler = (e: unknown, c: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let b: Backends;
let submitJob: Handler;
let silent: HangingServer;
let stalled: HangingServer;
const savedSageMaker = process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME;

beforeAll(async () => {
  b = await startBackends();
  [silent, stalled] = await Promise.all([
    startHangingServer({ mode: 'silent' }),
    startHangingServer({ mode: 'mid-body', contentType: 'application/json' }),
  ]);
  submitJob = (await import('../../src/handlers/submitJob.ts')).handler as never;
});

afterAll(async () => {
  await Promise.all([silent?.close(), stalled?.close(), b?.close()]);
});

afterEach(() => {
  if (savedSageMaker === undefined) delete process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME;
  else process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = savedSageMaker;
  process.env.AWS_ENDPOINT_URL_S3 = b.s3Url;
  useTimeBounds();
  resetConfig();
  resetClients();
});

function under(bounds: TimeBounds, endpoints: { s3?: string; sageMaker?: string }): void {
  if (endpoints.s3) process.env.AWS_ENDPOINT_URL_S3 = endpoints.s3;
  if (endpoints.sageMaker) process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = endpoints.sageMaker;
  useTimeBounds(bounds);
  resetConfig();
  resetClients();
}

const post = (inferenceId: string) =>
  submitEvent('1,2,3', { query: { inferenceId }, contentType: 'text/csv' });

/** The answer is a retryable 503, the claim is gone, and the server still hangs. */
async function answersRetryable(id: string, server: HangingServer): Promise<void> {
  const before = server.requests;
  const res = await submitJob(post(id), lambdaContext('submitJob'));
  expect(res.statusCode).toBe(503);
  expect(res.headers?.['Retry-After']).toBeDefined();
  expect(JSON.parse(String(res.body)).message).toMatch(/retry with the same inferenceId/);
  expect(await b.store.get(id)).toBeUndefined();
  expect(server.requests).toBeGreaterThan(before);
  expect(server.finished).toBe(0);
}

const quick = { connectMs: 1_000, headersMs: 300, idleMs: 300 };

describe('submit against a dependency that accepts and never answers', () => {
  it('SageMaker never answers InvokeEndpointAsync: 503, claim released', async () => {
    under({ ...TIME_BOUNDS, sageMaker: quick }, { sageMaker: silent.url });
    await answersRetryable('hang-sagemaker', silent);
  });

  it('S3 never answers the input upload: 503, claim released', async () => {
    under({ ...TIME_BOUNDS, s3: quick }, { s3: silent.url, sageMaker: silent.url });
    await answersRetryable('hang-s3', silent);
  });

  it('submit’s deadline alone ends a call its per-attempt bounds would let run (a body that stalls)', async () => {
    const lax = { connectMs: 1_000, headersMs: 600_000, idleMs: 600_000 };
    under(
      { ...TIME_BOUNDS, sageMaker: lax, submit: { deadlineMs: 3_000, releaseMs: 4_000 } },
      { sageMaker: stalled.url },
    );
    await answersRetryable('hang-deadline', stalled);
  });
});
