import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalSageMaker, type LocalSageMaker } from '../../src/local/sagemaker.ts';
import { startTestRuntime } from '../support/runtime.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import { lambdaContext, submitEvent as post, waitFor } from '../support/lambda.ts';
import {
  ERROR_TOPIC,
  INPUT_BUCKET,
  OUTPUT_BUCKET,
  SUCCESS_TOPIC,
  snsEvent,
} from '../support/notifications.ts';

/*
 * submitJob and getJob with the real SDK clients against s3rver, dynalite and the local SageMaker
 * async runtime; then the runtime's notifications fed to onSuccess/onError: the whole loop minus
 * HTTP and SNS.
 */

type Handler = (e: unknown, c: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let b: Backends;
let runtime: LocalSageMaker;
let submitJob: Handler;
let getJob: Handler;
let onSuccess: (e: unknown, c: unknown) => Promise<unknown>;
let onError: (e: unknown, c: unknown) => Promise<unknown>;
const published: { topicArn: string; message: string }[] = [];
let throttle = false;

beforeAll(async () => {
  b = await startBackends();
  runtime = await startTestRuntime(b.s3, {
    region: 'us-east-1',
    endpoints: ['demo-endpoint'],
    includeResponseBody: false,
    concurrency: 2,
    publish: async (topicArn, message) => {
      published.push({ topicArn, message });
    },
    faults: { throttle: () => throttle },
  });
  submitJob = (await import('../../src/handlers/submitJob.ts')).handler as never;
  getJob = (await import('../../src/handlers/getJob.ts')).handler as never;
  onSuccess = (await import('../../src/handlers/onSuccess.ts')).handler as never;
  onError = (await import('../../src/handlers/onError.ts')).handler as never;
});
afterAll(async () => {
  await runtime?.close();
  await b?.close();
});
beforeEach(() => {
  throttle = false;
});

function get(inferenceId: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'GET /jobs/{inferenceId}',
    rawPath: `/jobs/${inferenceId}`,
    rawQueryString: '',
    headers: {},
    pathParameters: { inferenceId },
    requestContext: {
      http: { method: 'GET', path: `/jobs/${inferenceId}` },
    } as APIGatewayProxyEventV2['requestContext'],
    isBase64Encoded: false,
  };
}

const submit = (e: APIGatewayProxyEventV2) => submitJob(e, lambdaContext('submitJob'));
const fetchJob = (id: string) => getJob(get(id), lambdaContext('getJob'));
const body = (r: APIGatewayProxyStructuredResultV2) => JSON.parse(String(r.body));

/** Delivers what the runtime published for one job to the subscribed handler, as SNS would. */
async function deliver(inferenceId: string): Promise<void> {
  const m = await waitFor(
    () =>
      published.find(
        (p) => (JSON.parse(p.message) as { inferenceId: string }).inferenceId === inferenceId,
      ),
    { what: `the notification for ${inferenceId}` },
  );
  const fn = m.topicArn === SUCCESS_TOPIC ? onSuccess : onError;
  await fn(snsEvent({ topic: m.topicArn, message: m.message }), lambdaContext('results'));
}

describe('submitJob against the emulators', () => {
  it('stores the input byte-exact, invokes the endpoint and records the job IN_PROGRESS', async () => {
    const res = await submit(
      post('1,2,3\n4,5,6\n', { contentType: 'text/csv', query: { inferenceId: 'csv-1' } }),
    );
    expect(res.statusCode).toBe(202);
    expect(res.headers?.location).toBe('/jobs/csv-1');
    const job = body(res);
    expect(job).toMatchObject({
      inferenceId: 'csv-1',
      status: 'IN_PROGRESS',
      endpointName: 'demo-endpoint',
      inputLocation: `s3://${INPUT_BUCKET}/inputs/csv-1`,
      inputContentType: 'text/csv',
    });
    expect(job.outputLocation).toMatch(new RegExp(`^s3://${OUTPUT_BUCKET}/outputs/`));
    expect(job.failureLocation).toMatch(new RegExp(`^s3://${OUTPUT_BUCKET}/failures/`));
    expect(job.expiresAt).toBeUndefined();
    expect((await b.getObject(INPUT_BUCKET, 'inputs/csv-1')).toString()).toBe('1,2,3\n4,5,6\n');
  });

  it('runs the whole loop: submit, model, notification, result visible through getJob', async () => {
    const res = await submit(
      post('{"a":1,"b":[2,3]}', {
        contentType: 'application/json',
        query: { inferenceId: 'loop-1' },
      }),
    );
    expect(res.statusCode).toBe(202);
    await deliver('loop-1');
    const job = body(await fetchJob('loop-1'));
    expect(job.status).toBe('COMPLETED');
    expect(job.resultEncoding).toBe('utf8');
    expect(JSON.parse(job.result)).toBeTypeOf('object');
    expect(job.outputLocation).toBe(body(res).outputLocation);
  });

  it('writes a base64 (binary) body byte-exact', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const res = await submit(
      post(bytes, { contentType: 'application/octet-stream', query: { inferenceId: 'bin-1' } }),
    );
    expect(res.statusCode).toBe(202);
    expect(await b.getObject(INPUT_BUCKET, 'inputs/bin-1')).toEqual(bytes);
  });

  it('generates a UUID when no inferenceId is given', async () => {
    const res = await submit(post('1\n', { contentType: 'text/csv' }));
    expect(res.statusCode).toBe(202);
    expect(body(res).inferenceId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a repeated id with 200 and the existing job, invoking nothing', async () => {
    await submit(post('1\n', { contentType: 'text/csv', query: { inferenceId: 'rep-1' } }));
    await runtime.idle();
    const before = runtime.stats().accepted;
    const again = await submit(
      post('9\n', { contentType: 'text/csv', query: { inferenceId: 'rep-1' } }),
    );
    expect(again.statusCode).toBe(200);
    expect(body(again).inferenceId).toBe('rep-1');
    expect(runtime.stats().accepted).toBe(before);
    expect((await b.getObject(INPUT_BUCKET, 'inputs/rep-1')).toString()).toBe('1\n');
  });

  it('a notification that outran the submit wins: the submit answers the finished job', async () => {
    await b.putOutput('outputs/early.out', '"early"');
    const { completed } = await import('../support/notifications.ts');
    await onSuccess(
      snsEvent({ topic: SUCCESS_TOPIC, message: completed('early') }),
      lambdaContext('x'),
    );
    const res = await submit(
      post('1\n', { contentType: 'text/csv', query: { inferenceId: 'early' } }),
    );
    expect(res.statusCode).toBe(200);
    expect(body(res)).toMatchObject({ status: 'COMPLETED', result: '"early"' });
  });

  it('a FAIL input ends FAILED with the reason', async () => {
    await submit(post('FAIL', { contentType: 'text/plain', query: { inferenceId: 'fail-1' } }));
    await deliver('fail-1');
    const job = body(await fetchJob('fail-1'));
    expect(job.status).toBe('FAILED');
    expect(job.failureReason).toMatch(/\S/);
  });

  it('SageMaker throttling answers 429 with Retry-After and leaves no record', async () => {
    throttle = true;
    const res = await submit(
      post('1\n', { contentType: 'text/csv', query: { inferenceId: 'thr-1' } }),
    );
    expect(res.statusCode).toBe(429);
    expect(res.headers?.['Retry-After']).toBeDefined();
    expect(Object.keys(body(res))).toEqual(['message']);
    expect(await b.store.get('thr-1')).toBeUndefined();
    expect((await fetchJob('thr-1')).statusCode).toBe(404);
    throttle = false;
    const retry = await submit(
      post('1\n', { contentType: 'text/csv', query: { inferenceId: 'thr-1' } }),
    );
    expect(retry.statusCode).toBe(202);
  });

  it('an unknown endpoint (SageMaker ValidationError) answers 400 and leaves no record', async () => {
    const { resetConfig } = await import('../../src/lib/config.ts');
    const runtime2 = await startLocalSageMaker({
      port: 0,
      s3: b.s3,
      region: 'us-east-1',
      endpoints: ['another-endpoint'],
      outputBucket: OUTPUT_BUCKET,
      outputPrefix: 'outputs/',
      failurePrefix: 'failures/',
      successTopicArn: SUCCESS_TOPIC,
      errorTopicArn: ERROR_TOPIC,
      publish: async () => undefined,
    });
    const { resetClients } = await import('../../src/lib/adapters/clients.ts');
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = runtime2.url;
    resetClients();
    resetConfig();
    try {
      const res = await submit(
        post('1\n', { contentType: 'text/csv', query: { inferenceId: 'val-1' } }),
      );
      expect(res.statusCode).toBe(400);
      expect(await b.store.get('val-1')).toBeUndefined();
    } finally {
      process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = runtime.url;
      resetClients();
      await runtime2.close();
    }
  });

  it.each([
    ['a bad inferenceId', { inferenceId: '../etc/passwd' }, 400],
    ['an id too long', { inferenceId: 'a'.repeat(65) }, 400],
    ['requestTtlSeconds too small', { requestTtlSeconds: '59' }, 400],
    ['a non-numeric timeout', { invocationTimeoutSeconds: 'soon' }, 400],
    ['inputLocation outside the input bucket', { inputLocation: `s3://${OUTPUT_BUCKET}/x` }, 400],
    ['an endpoint outside the allow-list', { endpoint: 'another-endpoint' }, 400],
  ] as [string, Record<string, string>, number][])(
    'rejects %s with %i and invokes nothing',
    async (_what, query, status) => {
      const before = runtime.stats().accepted;
      const res = await submit(
        post(query.inputLocation ? undefined : '1\n', { contentType: 'text/csv', query }),
      );
      expect(res.statusCode).toBe(status);
      expect(Object.keys(body(res))).toEqual(['message']);
      expect(runtime.stats().accepted).toBe(before);
    },
  );

  it('rejects a malformed Content-Type with 415 and an empty body with 400', async () => {
    expect((await submit(post('1', { contentType: 'not a type' }))).statusCode).toBe(415);
    expect((await submit(post('', { contentType: 'text/csv' }))).statusCode).toBe(400);
  });

  it('submits an input already uploaded, by inputLocation', async () => {
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await b.s3.send(
      new PutObjectCommand({ Bucket: INPUT_BUCKET, Key: 'uploads/big.csv', Body: '1,1\n' }),
    );
    const res = await submit(
      post(undefined, {
        contentType: 'text/csv',
        query: { inferenceId: 'loc-1', inputLocation: `s3://${INPUT_BUCKET}/uploads/big.csv` },
      }),
    );
    expect(res.statusCode).toBe(202);
    expect(body(res).inputLocation).toBe(`s3://${INPUT_BUCKET}/uploads/big.csv`);
    await deliver('loc-1');
    expect(body(await fetchJob('loc-1')).status).toBe('COMPLETED');
  });

  it('getJob: 404 for an unknown id, 400 for an impossible one', async () => {
    const missing = await fetchJob('nobody');
    expect(missing.statusCode).toBe(404);
    expect(body(missing)).toEqual({ message: 'no job nobody' });
    expect((await fetchJob('x'.repeat(65))).statusCode).toBe(400);
  });
});
