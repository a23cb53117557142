import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resetBatchClients } from '../../src/lib/adapters/batch-clients.ts';
import { resetClients } from '../../src/lib/adapters/clients.ts';
import { ANY_INFERENCE_ID, CLIENT_INFERENCE_ID } from '../../src/lib/domain/jobs.ts';
import { MAX_INLINE_INPUT_BYTES, SubmitQuery } from '../../src/lib/domain/submission.ts';
import { startLocalApiGateway, type LocalApiGateway } from '../../src/local/api-gateway.ts';
import { readyBanner, shownInStartLog } from '../../src/local/banner.ts';
import type { FunctionName } from '../../src/local/names.ts';
import { PROJECT_DIR } from '../../src/local/paths.ts';
import { matchRoute, ROUTES, type Route } from '../../src/local/routes.ts';
import type { LocalSageMaker } from '../../src/local/sagemaker.ts';
import { startLocalSqs, type LocalSqs } from '../../src/local/sqs.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import { lambdaContext, waitFor } from '../support/lambda.ts';
import { SUCCESS_TOPIC, snsEvent } from '../support/notifications.ts';
import {
  checkAnswer,
  METHODS,
  openapiRoutes,
  readYaml,
  serverlessRoutes,
  validate,
} from '../support/openapi.ts';
import { startTestRuntime } from '../support/runtime.ts';

/*
 * openapi.yaml is the contract: the real handlers, with the real SDK clients against s3rver,
 * dynalite and the local SageMaker runtime (no mocks: its fault switches give the throttle and the
 * outage), reached over HTTP through the sandbox's API Gateway front, must produce every
 * (route, status) pair the document lists, each answer valid against it (status, headers, body
 * shape, no undocumented field). The routes of openapi.yaml, serverless.yml, the sandbox and the
 * CLI must be the same.
 */

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Handler = (e: unknown, c: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
const HTTP_FUNCTIONS = [
  'submitJob',
  'getJob',
  'getResult',
  'listJobs',
  'createUpload',
  'retryJob',
  'createBatch',
  'getBatch',
  'cancelJob',
  'cancelBatch',
  'getQueue',
  'getActivity',
] as const;

/*
 * Answers documented but not produced here, and submit parameters documented ahead of the
 * schema: none (queue control's use cases are wired; each list must stay empty).
 */
const PENDING_PAIRS: string[] = [];
const PENDING_SUBMIT_PARAMS: string[] = [];

const doc: Json = readYaml('openapi.yaml');
let b: Backends;
let runtime: LocalSageMaker;
let gateway: LocalApiGateway;
let sqs: LocalSqs;
let handlers: Record<string, Handler>;
let onSuccess: (e: unknown, c: unknown) => Promise<unknown>;
let onError: (e: unknown, c: unknown) => Promise<unknown>;
const published: { topicArn: string; message: string }[] = [];
const faults = { throttle: false, unavailable: false };
/** `METHOD /path status` of every answer checked against the document. */
const seen = new Set<string>();

async function importHandlers(): Promise<Record<string, Handler>> {
  const entries = await Promise.all(
    HTTP_FUNCTIONS.map(
      async (fn) => [fn, (await import(`../../src/handlers/${fn}.ts`)).handler as Handler] as const,
    ),
  );
  return Object.fromEntries(entries);
}

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
    faults: { throttle: () => faults.throttle, unavailable: () => faults.unavailable },
  });
  // POST /batches queues its first step: a local SQS queue it may send to.
  sqs = await startLocalSqs({ queues: ['oa-batches'] });
  process.env.AWS_ENDPOINT_URL_SQS = sqs.url;
  process.env.BATCH_QUEUE_URL = sqs.queueUrl('oa-batches');
  handlers = await importHandlers();
  onSuccess = (await import('../../src/handlers/onSuccess.ts')).handler as never;
  onError = (await import('../../src/handlers/onError.ts')).handler as never;
  gateway = await startLocalApiGateway({
    port: 0,
    invoke: (fn: FunctionName, event) => handlers[fn]!(event, lambdaContext(fn)),
  });
});
afterAll(async () => {
  delete process.env.BATCH_QUEUE_URL;
  await sqs?.close();
  await gateway?.close();
  await runtime?.close();
  await b?.close();
});

/** A request through the API Gateway front, its answer as the handler's result shape. */
async function call(
  method: string,
  path: string,
  init: { body?: string | Uint8Array; contentType?: string } = {},
): Promise<APIGatewayProxyStructuredResultV2> {
  const headers: Record<string, string> = {};
  if (init.contentType !== undefined) headers['content-type'] = init.contentType;
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers,
    body: init.body,
    redirect: 'manual',
  });
  return {
    statusCode: res.status,
    headers: Object.fromEntries(res.headers),
    body: Buffer.from(await res.arrayBuffer()).toString('base64'),
    isBase64Encoded: true,
  };
}

function json(answer: APIGatewayProxyStructuredResultV2): Json {
  return JSON.parse(Buffer.from(answer.body ?? '', 'base64').toString('utf8'));
}

/** Checks one answer against the document's operation and records the pair as produced. */
function conforms(
  route: string,
  answer: APIGatewayProxyStructuredResultV2,
  status: number,
): APIGatewayProxyStructuredResultV2 {
  expect({ route, status: answer.statusCode }).toEqual({ route, status });
  expect(checkAnswer(doc, route, answer)).toEqual([]);
  seen.add(`${route} ${status}`);
  return answer;
}

/** Delivers what the runtime published for one job to the subscribed handler, as SNS would. */
async function deliver(inferenceId: string): Promise<void> {
  const m = await waitFor(
    () => published.find((p) => (JSON.parse(p.message) as Json).inferenceId === inferenceId),
    { what: `the notification for ${inferenceId}` },
  );
  const fn = m.topicArn === SUCCESS_TOPIC ? onSuccess : onError;
  await fn(snsEvent({ topic: m.topicArn, message: m.message }), lambdaContext('results'));
}

const SUBMIT = 'POST /jobs';
const GET = 'GET /jobs/{inferenceId}';
const RESULT = 'GET /jobs/{inferenceId}/result';
const LIST = 'GET /jobs';
const UPLOAD = 'POST /uploads';
const RETRY = 'POST /jobs/{inferenceId}/retry';
const BATCH = 'POST /batches';
const BATCH_GET = 'GET /batches/{batchId}';
const CANCEL = 'POST /jobs/{inferenceId}/cancel';
const CANCEL_BATCH = 'POST /batches/{batchId}/cancel';
const QUEUE = 'GET /queue';
const ACTIVITY = 'GET /activity';

describe('the routes agree', () => {
  it('openapi.yaml documents exactly the httpApi routes of serverless.yml, each named for its function', () => {
    const sls = serverlessRoutes();
    expect(openapiRoutes(doc).sort()).toEqual(sls.map((r) => r.route).sort());
    for (const { route, fn } of sls) {
      const [method, path] = route.split(' ') as [string, string];
      expect(doc.paths[path][method.toLowerCase()].operationId, route).toBe(fn);
    }
  });

  it("the ids it documents are the handlers': any SageMaker InferenceId to read, narrower to submit", () => {
    expect(doc.components.parameters.InferenceId.schema.pattern).toBe(ANY_INFERENCE_ID.source);
    const submitId = doc.paths['/jobs'].post.parameters.find((p: Json) => p.name === 'inferenceId');
    expect(submitId.schema.pattern).toBe(CLIENT_INFERENCE_ID.source);
  });

  it("the sandbox's route table is serverless.yml's", () => {
    const sls = serverlessRoutes().map((r) => `${r.route} ${r.fn}`);
    expect(ROUTES.map((r) => `${r.method} ${r.path} ${r.fn}`).sort()).toEqual(sls.sort());
  });

  it('the start banner lists every route of serverless.yml with its function, uncut', () => {
    const banner = readyBanner(
      {
        apiUrl: 'http://127.0.0.1:3000',
        s3Url: 's3',
        dynamodbUrl: 'ddb',
        sageMakerUrl: 'sm',
        lambdaUrl: 'lambda',
        eventBridgeUrl: 'eb',
        sqs: { url: 'sqs' },
      },
      { seconds: 1 },
    ).split('\n');
    for (const { route, fn } of serverlessRoutes()) {
      const [method, path] = route.split(' ') as [string, string];
      const line = banner.find((l) =>
        new RegExp(`^\\s+${method}\\s+${escape(path)}\\s+${fn}$`).test(l),
      );
      expect(line, `${route} (${fn}) in:\n${banner.join('\n')}`).toBeDefined();
    }
    // The console the sandbox serves beside the API (docs/console.md).
    expect(banner).toContainEqual(
      expect.stringMatching(/^\s+Console\s+http:\/\/127\.0\.0\.1:3000\/console\s/),
    );
  });

  it("the start log shows the sandbox's and the functions' lines, not their EMF metric lines", () => {
    expect(shownInStartLog('[lambda:getJob] {"level":"INFO","message":"job submitted"}')).toBe(
      true,
    );
    expect(shownInStartLog('[lambda] getJob timed out after 29 s {}')).toBe(true);
    expect(shownInStartLog('[sns] delivered {}')).toBe(true);
    const emf =
      '[lambda:onSuccess] {"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"JobsCompleted":1}';
    expect(shownInStartLog(emf)).toBe(false);
    expect(shownInStartLog(emf, true)).toBe(true);
  });

  it("POST /jobs documents exactly the query parameters submit's schema takes", () => {
    const documented = (doc.paths['/jobs'].post.parameters as Json[])
      .filter((p) => p.in === 'query')
      .map((p) => p.name as string);
    const taken = Object.keys(SubmitQuery.shape);
    const pending = PENDING_SUBMIT_PARAMS.filter((p) => !taken.includes(p));
    expect(documented.sort()).toEqual([...taken, ...pending].sort());
  });

  it('every request the client (and so the CLI) makes is a documented route', async () => {
    const documented: Route[] = openapiRoutes(doc).map((r) => {
      const [method, path] = r.split(' ') as [Route['method'], string];
      return { method, path, fn: 'getJob' };
    });
    // The CLI and the console's page make every request through the typed client's calls
    // (src/client/core.ts), which name its routes.
    const source = (await readFile(join(PROJECT_DIR, 'src/client/core.ts'), 'utf8'))
      .replaceAll('${idPath(id)}', '/jobs/x')
      .replaceAll('idPath(id)', "'/jobs/x'");
    const calls = [...source.matchAll(/\.call\(\s*'([A-Z]+)',\s*(['`])(.*?)\2/g)];
    expect(calls.length).toBeGreaterThanOrEqual(6);
    for (const [, method, , path] of calls) {
      // A template's `${...}` is one path segment's value.
      const sample = path!.replace(/\$\{[^}]*\}/g, 'x');
      expect(matchRoute(method!, sample, documented), `${method} ${path}`).toBeDefined();
    }
  });

  it('the validator refuses what the document does not describe', () => {
    const job = { $ref: '#/components/schemas/Job' };
    expect(validate(doc, job, { inferenceId: 'a', status: 'COMPLETED' })).toEqual([]);
    expect(validate(doc, job, { inferenceId: 'a', status: 'DONE' })).toHaveLength(1);
    expect(validate(doc, job, { status: 'FAILED' })).toEqual(['$: missing inferenceId']);
    expect(validate(doc, job, { inferenceId: 'a', status: 'FAILED', owner: 'x' })).toEqual([
      '$: undocumented field owner',
    ]);
    expect(validate(doc, job, { inferenceId: 'a', status: 'FAILED', resultBytes: '3' })).toEqual([
      '$.resultBytes: string, expected integer',
    ]);
    expect(checkAnswer(doc, SUBMIT, { statusCode: 418, body: '{}' })).toEqual([
      'POST /jobs answered 418, which openapi.yaml does not document',
    ]);
  });

  it('the validator checks what JSON Schema 2020-12 (OpenAPI 3.1) says, formats included', () => {
    const job = { $ref: '#/components/schemas/Job' };
    // RFC 3339 date-time, which Date.parse alone would let through.
    expect(
      validate(doc, job, { inferenceId: 'a', status: 'FAILED', completedAt: 'May 1' }),
    ).toEqual(['$.completedAt: must match format "date-time"']);
    expect(
      validate(doc, { $ref: '#/components/schemas/JobPage' }, { jobs: [{ status: 'FAILED' }] }),
    ).toEqual(['$.jobs[0]: missing inferenceId']);
    // 3.1 makes a field nullable with a type array; 3.0's `nullable` is no keyword of it.
    const nullable = { type: ['string', 'null'], maxLength: 2 };
    expect(validate(doc, nullable, null)).toEqual([]);
    expect(validate(doc, nullable, 'abc')).toHaveLength(1);
    expect(() => validate(doc, { type: 'string', nullable: true }, null)).toThrow(/nullable/);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('every documented answer, from the real handlers', () => {
  it('POST /jobs: 202 with Location, 200 for a known id, 400, 413, 415', async () => {
    const created = conforms(
      SUBMIT,
      await call('POST', '/jobs?inferenceId=oa-csv', {
        body: '1,2\n3,4\n',
        contentType: 'text/csv',
      }),
      202,
    );
    expect(created.headers?.location).toBe('/jobs/oa-csv');
    conforms(
      SUBMIT,
      await call('POST', '/jobs?inferenceId=oa-csv', { body: '5\n', contentType: 'text/csv' }),
      200,
    );
    conforms(SUBMIT, await call('POST', '/jobs?inferenceId=-bad-', { body: '1' }), 400);
    conforms(
      SUBMIT,
      await call('POST', '/jobs', { body: new Uint8Array(MAX_INLINE_INPUT_BYTES + 1) }),
      413,
    );
    for (const contentType of ['banana', 'text/ csv']) {
      const refused = conforms(
        SUBMIT,
        await call('POST', '/jobs', { body: '1', contentType }),
        415,
      );
      expect(json(refused).message).toMatch(/Content-Type/);
    }
  });

  it('POST /jobs: 429 and 503 with Retry-After when SageMaker throttles or is down', async () => {
    faults.throttle = true;
    try {
      conforms(SUBMIT, await call('POST', '/jobs', { body: '1', contentType: 'text/csv' }), 429);
    } finally {
      faults.throttle = false;
    }
    faults.unavailable = true;
    try {
      conforms(SUBMIT, await call('POST', '/jobs', { body: '1', contentType: 'text/csv' }), 503);
    } finally {
      faults.unavailable = false;
    }
  });

  it('POST /jobs: 503 with Retry-After while a claim never queued may still be invoked, then 202', async () => {
    const now = Date.now();
    const claim = (id: string, leaseMs: number) =>
      b.store.claim({
        inferenceId: id,
        status: 'IN_PROGRESS',
        endpointName: 'demo-endpoint',
        submittedAt: new Date(now - 60_000).toISOString(),
        leaseUntil: new Date(now + leaseMs).toISOString(),
        claimToken: `${id}-lost-release`,
        expiresAt: Math.floor(now / 1000) + 86_400,
      });
    await claim('oa-running', 60_000);
    await claim('oa-abandoned', -1_000);
    const running = conforms(
      SUBMIT,
      await call('POST', '/jobs?inferenceId=oa-running', { body: '1', contentType: 'text/csv' }),
      503,
    );
    expect(json(running).message).toMatch(/still running/);
    expect(Number(running.headers?.['retry-after'])).toBeGreaterThan(0);
    const taken = conforms(
      SUBMIT,
      await call('POST', '/jobs?inferenceId=oa-abandoned', { body: '1', contentType: 'text/csv' }),
      202,
    );
    expect(json(taken)).toMatchObject({ inferenceId: 'oa-abandoned', status: 'IN_PROGRESS' });
  });

  it('a body sent without Content-Type is stored as application/octet-stream', async () => {
    conforms(
      SUBMIT,
      await call('POST', '/jobs?inferenceId=oa-untyped', { body: new Uint8Array([1, 2]) }),
      202,
    );
    const job = json(conforms(GET, await call('GET', '/jobs/oa-untyped'), 200));
    expect(job.inputContentType).toBe('application/octet-stream');
  });

  it('GET /jobs/{id}: 200 for finished jobs (every field they carry), 400, 404', async () => {
    await deliver('oa-csv');
    const done = json(conforms(GET, await call('GET', '/jobs/oa-csv'), 200));
    expect(done).toMatchObject({ status: 'COMPLETED', resultEncoding: 'utf8' });
    for (const field of [
      'outputLocation',
      'outputContentType',
      'result',
      'resultBytes',
      'completedAt',
      'expectedBy',
    ]) {
      expect(done, field).toHaveProperty(field);
    }
    conforms(
      SUBMIT,
      await call('POST', '/jobs?inferenceId=oa-fail', { body: 'FAIL', contentType: 'text/plain' }),
      202,
    );
    await deliver('oa-fail');
    const failed = json(conforms(GET, await call('GET', '/jobs/oa-fail'), 200));
    expect(failed).toMatchObject({ status: 'FAILED' });
    expect(failed).toHaveProperty('failureReason');
    conforms(GET, await call('GET', `/jobs/${'x'.repeat(65)}`), 400);
    conforms(GET, await call('GET', '/jobs/oa-nobody'), 404);
    // SageMaker's InferenceId rule admits inner spaces, not a leading one (docs/api.md).
    conforms(GET, await call('GET', '/jobs/bad%20id'), 404);
    conforms(GET, await call('GET', '/jobs/%20bad'), 400);
  });

  it('GET /jobs/{id}/result: 200 inline, 302 by location, 400, 404, 409', async () => {
    const inline = conforms(RESULT, await call('GET', '/jobs/oa-csv/result'), 200);
    expect(inline.headers?.['content-type']).toBe(
      json(await call('GET', '/jobs/oa-csv')).outputContentType,
    );
    const rows = Array.from({ length: 20_000 }, (_, i) => `${i % 10},${i % 3}`).join('\n');
    conforms(
      SUBMIT,
      await call('POST', '/jobs?inferenceId=oa-big', { body: rows, contentType: 'text/csv' }),
      202,
    );
    await deliver('oa-big');
    const moved = conforms(RESULT, await call('GET', '/jobs/oa-big/result'), 302);
    expect(moved.headers?.location).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/async-jobs-local-output\//,
    );
    conforms(RESULT, await call('GET', `/jobs/${'x'.repeat(65)}/result`), 400);
    conforms(RESULT, await call('GET', '/jobs/oa-nobody/result'), 404);
    conforms(RESULT, await call('GET', '/jobs/oa-fail/result'), 409);
    conforms(RESULT, await call('GET', '/jobs/oa-untyped/result'), 409);
  });

  it('GET /jobs: 200 pages (results left out), 400', async () => {
    const page = json(conforms(LIST, await call('GET', '/jobs?status=COMPLETED&limit=1'), 200));
    expect(page.jobs).toHaveLength(1);
    expect(typeof page.next).toBe('string');
    const rest = json(
      conforms(LIST, await call('GET', `/jobs?status=completed&limit=100&next=${page.next}`), 200),
    );
    expect(rest.jobs.length).toBeGreaterThan(0);
    // A job of a batch is listed with its batchId and batchLine (docs/batches.md).
    const batchId = 'b-00000000000000000000abcd';
    await b.store.claim({
      inferenceId: 'oa-line',
      status: 'IN_PROGRESS',
      endpointName: 'demo-endpoint',
      submittedAt: new Date().toISOString(),
      batchId,
      batchLine: 1,
      expiresAt: Math.floor(Date.now() / 1000) + 86_400,
    });
    const running = json(
      conforms(LIST, await call('GET', '/jobs?status=IN_PROGRESS&limit=100'), 200),
    );
    expect(running.jobs.find((j: Json) => j.inferenceId === 'oa-line')).toMatchObject({
      batchId,
      batchLine: 1,
    });
    conforms(LIST, await call('GET', '/jobs?status=banana'), 400);
    conforms(LIST, await call('GET', '/jobs?status=FAILED&limit=0'), 400);
  });

  it('POST /uploads: 201, 400, 413, 415', async () => {
    conforms(UPLOAD, await call('POST', '/uploads?contentType=text/csv&contentLength=10'), 201);
    conforms(UPLOAD, await call('POST', '/uploads?contentType=text/csv'), 400);
    conforms(UPLOAD, await call('POST', '/uploads?contentLength=2000000000'), 413);
    conforms(UPLOAD, await call('POST', '/uploads?contentType=banana&contentLength=10'), 415);
  });

  it('POST /jobs/{id}/retry: 202 with Location, 400, 404, 409, 429, 503', async () => {
    const retried = conforms(RETRY, await call('POST', '/jobs/oa-fail/retry'), 202);
    expect(retried.headers?.location).toBe('/jobs/oa-fail.2');
    expect(json(retried)).toMatchObject({ retryOf: 'oa-fail', attempt: 2 });
    const original = json(conforms(GET, await call('GET', '/jobs/oa-fail'), 200));
    expect(original).toMatchObject({ attempts: 2, retriedBy: 'oa-fail.2' });
    conforms(RETRY, await call('POST', `/jobs/${'x'.repeat(65)}/retry`), 400);
    conforms(RETRY, await call('POST', '/jobs/oa-nobody/retry'), 404);
    conforms(RETRY, await call('POST', '/jobs/oa-csv/retry'), 409);
    conforms(
      SUBMIT,
      await call('POST', '/jobs?inferenceId=oa-fail-b', {
        body: 'FAIL',
        contentType: 'text/plain',
      }),
      202,
    );
    await deliver('oa-fail-b');
    faults.throttle = true;
    try {
      conforms(RETRY, await call('POST', '/jobs/oa-fail-b/retry'), 429);
    } finally {
      faults.throttle = false;
    }
    faults.unavailable = true;
    try {
      conforms(RETRY, await call('POST', '/jobs/oa-fail-b/retry'), 503);
    } finally {
      faults.unavailable = false;
    }
  });

  it('GET /jobs/{id}?wait=N: 200 once the job is terminal (or after N s), 400 for a bad N', async () => {
    const done = json(conforms(GET, await call('GET', '/jobs/oa-csv?wait=1'), 200));
    expect(done.status).toBe('COMPLETED');
    conforms(GET, await call('GET', '/jobs/oa-csv?wait=21'), 400);
  });

  it('POST /batches: 202 with Location, 400 naming the line, 413; GET /batches/{id}: 200, 404; GET /jobs?batchId=', async () => {
    const created = conforms(
      BATCH,
      await call('POST', '/batches', {
        body: '{"body":"1,2"}\n{"body":"3,4","contentType":"text/csv"}\n',
        contentType: 'application/x-ndjson',
      }),
      202,
    );
    const batch = json(created);
    expect(created.headers?.location).toBe(`/batches/${batch.batchId}`);
    expect(batch).toMatchObject({ state: 'EXPANDING' });
    expect(sqs.messages.some((m) => m.body.includes(batch.batchId))).toBe(true);
    const bad = json(
      conforms(BATCH, await call('POST', '/batches', { body: '{"body":"1"}\nnot json\n' }), 400),
    );
    expect(bad.message).toMatch(/^line 2: /);
    conforms(BATCH, await call('POST', '/batches?prefix=s3://async-jobs-local-input/inputs/'), 400);
    conforms(
      BATCH,
      await call('POST', '/batches', { body: '{"body":"1"}\n'.repeat(100_001) }),
      413,
    );
    const got = json(conforms(BATCH_GET, await call('GET', `/batches/${batch.batchId}`), 200));
    expect(got).toMatchObject({ batchId: batch.batchId, state: 'EXPANDING' });
    conforms(BATCH_GET, await call('GET', '/batches/b-0123456789abcdef01234567'), 404);
    const listed = json(conforms(LIST, await call('GET', `/jobs?batchId=${batch.batchId}`), 200));
    expect(listed.jobs).toEqual([]);
    conforms(LIST, await call('GET', `/jobs?batchId=${batch.batchId}&status=COMPLETED`), 400);
  });

  it('queue control (admission off): GET /queue 200 with no endpoint; cancel 200/202/400/404/409; batch cancel 202/404', async () => {
    const view = json(conforms(QUEUE, await call('GET', '/queue'), 200));
    expect(view).toEqual({ admission: 'off', endpoints: [] });
    conforms(CANCEL, await call('POST', '/jobs/%20bad/cancel'), 400);
    conforms(CANCEL, await call('POST', '/jobs/oa-nobody/cancel'), 404);
    // Only an unfinished job can be cancelled.
    conforms(
      SUBMIT,
      await call('POST', '/jobs?inferenceId=oa-done', { body: '1', contentType: 'text/csv' }),
      202,
    );
    await deliver('oa-done');
    conforms(CANCEL, await call('POST', '/jobs/oa-done/cancel'), 409);
    // Admission off, SageMaker has the job at once: cancel-requested (202), CANCELLED when its
    // notification arrives, and a repeat is answered 200 with the record.
    conforms(
      SUBMIT,
      await call('POST', '/jobs?inferenceId=oa-cancel', { body: '1', contentType: 'text/csv' }),
      202,
    );
    const asked = json(conforms(CANCEL, await call('POST', '/jobs/oa-cancel/cancel'), 202));
    expect(asked).toMatchObject({ status: 'IN_PROGRESS', cancelRequested: true });
    await deliver('oa-cancel');
    const again = json(conforms(CANCEL, await call('POST', '/jobs/oa-cancel/cancel'), 200));
    expect(again).toMatchObject({ status: 'CANCELLED' });
    // The model's answer is not kept (only where SageMaker wrote it stays on the record).
    expect(again.result).toBeUndefined();
    conforms(CANCEL_BATCH, await call('POST', '/batches/b-0123456789abcdef01234567/cancel'), 404);
    const batch = json(
      conforms(BATCH, await call('POST', '/batches', { body: '{"body":"1"}\n' }), 202),
    );
    const cancelled = json(
      conforms(CANCEL_BATCH, await call('POST', `/batches/${batch.batchId}/cancel`), 202),
    );
    expect(cancelled).toMatchObject({ batchId: batch.batchId });
  });

  it('queue control (admission on): GET /queue 200 before any round, 503 when DynamoDB is down', async () => {
    process.env.ADMISSION = 'on';
    vi.resetModules();
    let getQueue: Handler;
    try {
      getQueue = (await import('../../src/handlers/getQueue.ts')).handler as Handler;
    } finally {
      delete process.env.ADMISSION;
    }
    const event = {
      version: '2.0',
      routeKey: QUEUE,
      rawPath: '/queue',
      rawQueryString: '',
      headers: {},
      requestContext: { http: { method: 'GET', path: '/queue' } },
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    const answer = conforms(QUEUE, await getQueue(event, lambdaContext('getQueue')), 200);
    expect(JSON.parse(answer.body ?? '')).toEqual({ admission: 'on', endpoints: [] });
    const saved = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = 'http://127.0.0.1:1';
    try {
      // A fresh module graph: its DynamoDB client is built on first use, against port 1.
      vi.resetModules();
      process.env.ADMISSION = 'on';
      const down = (await import('../../src/handlers/getQueue.ts')).handler as Handler;
      delete process.env.ADMISSION;
      conforms(QUEUE, await down(event, lambdaContext('getQueue')), 503);
    } finally {
      delete process.env.ADMISSION;
      process.env.AWS_ENDPOINT_URL_DYNAMODB = saved;
    }
  });

  it('GET /activity: 200 with one point per minute, 400 for minutes out of 1..180 or an unknown endpoint', async () => {
    const view = json(conforms(ACTIVITY, await call('GET', '/activity'), 200));
    expect(view.minutes).toHaveLength(60);
    expect(view.endpoints).toEqual(['demo-endpoint']);
    const short = json(conforms(ACTIVITY, await call('GET', '/activity?minutes=3'), 200));
    expect(short.minutes).toHaveLength(3);
    conforms(ACTIVITY, await call('GET', '/activity?minutes=181'), 400);
    conforms(ACTIVITY, await call('GET', '/activity?minutes=0'), 400);
    const one = json(
      conforms(ACTIVITY, await call('GET', '/activity?endpoint=demo-endpoint'), 200),
    );
    expect(one.endpoints).toEqual(['demo-endpoint']);
    conforms(ACTIVITY, await call('GET', '/activity?endpoint=other-endpoint'), 400);
  });

  it('GET routes: 503 with Retry-After when DynamoDB is down', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    // Nothing listens on port 1: every attempt is refused, as an outage would be.
    process.env.AWS_ENDPOINT_URL_DYNAMODB = 'http://127.0.0.1:1';
    resetClients();
    resetBatchClients();
    try {
      conforms(GET, await call('GET', '/jobs/oa-csv'), 503);
      conforms(RESULT, await call('GET', '/jobs/oa-csv/result'), 503);
      conforms(LIST, await call('GET', '/jobs?status=COMPLETED'), 503);
      conforms(BATCH_GET, await call('GET', '/batches/b-0123456789abcdef01234567'), 503);
      conforms(ACTIVITY, await call('GET', '/activity'), 503);
      conforms(BATCH, await call('POST', '/batches', { body: '{"body":"1"}\n' }), 503);
      conforms(CANCEL, await call('POST', '/jobs/oa-csv/cancel'), 503);
      conforms(CANCEL_BATCH, await call('POST', '/batches/b-0123456789abcdef01234567/cancel'), 503);
    } finally {
      process.env.AWS_ENDPOINT_URL_DYNAMODB = saved;
      resetClients();
      resetBatchClients();
    }
  });

  it("owner mode: 403 without a verified caller, 409 for another caller's id", async () => {
    process.env.OWNER_MODE = 'true';
    vi.resetModules();
    let owned: Record<string, Handler>;
    try {
      owned = await importHandlers();
    } finally {
      delete process.env.OWNER_MODE;
    }
    const event = (
      route: string,
      path: string,
      caller?: string,
      body?: string,
    ): APIGatewayProxyEventV2 => {
      const [method] = route.split(' ') as [string];
      const match = matchRoute(method, path.split('?')[0]!)!;
      const query = Object.fromEntries(new URL(path, 'http://x').searchParams);
      return {
        version: '2.0',
        routeKey: route,
        rawPath: path.split('?')[0]!,
        rawQueryString: path.split('?')[1] ?? '',
        headers: body ? { 'content-type': 'text/csv' } : {},
        queryStringParameters: query,
        pathParameters: match.params,
        requestContext: {
          http: { method, path },
          ...(caller ? { authorizer: { iam: { userArn: caller } } } : {}),
        } as unknown as APIGatewayProxyEventV2['requestContext'],
        body,
        isBase64Encoded: false,
      };
    };
    const run = (fn: FunctionName, e: APIGatewayProxyEventV2) => owned[fn]!(e, lambdaContext(fn));
    conforms(SUBMIT, await run('submitJob', event(SUBMIT, '/jobs', undefined, '1')), 403);
    conforms(GET, await run('getJob', event(GET, '/jobs/oa-csv')), 403);
    conforms(RESULT, await run('getResult', event(RESULT, '/jobs/oa-csv/result')), 403);
    conforms(LIST, await run('listJobs', event(LIST, '/jobs?status=COMPLETED')), 403);
    conforms(RETRY, await run('retryJob', event(RETRY, '/jobs/oa-fail/retry')), 403);
    conforms(CANCEL, await run('cancelJob', event(CANCEL, '/jobs/oa-csv/cancel')), 403);
    conforms(
      CANCEL_BATCH,
      await run('cancelBatch', event(CANCEL_BATCH, '/batches/b-0123456789abcdef01234567/cancel')),
      403,
    );
    conforms(QUEUE, await run('getQueue', event(QUEUE, '/queue')), 403);
    conforms(ACTIVITY, await run('getActivity', event(ACTIVITY, '/activity')), 403);
    const alice = 'arn:aws:iam::123456789012:user/alice';
    const bob = 'arn:aws:iam::123456789012:user/bob';
    conforms(
      SUBMIT,
      await run('submitJob', event(SUBMIT, '/jobs?inferenceId=oa-owned', alice, '1')),
      202,
    );
    conforms(
      SUBMIT,
      await run('submitJob', event(SUBMIT, '/jobs?inferenceId=oa-owned', bob, '1')),
      409,
    );
    conforms(GET, await run('getJob', event(GET, '/jobs/oa-owned', bob)), 404);
  });

  it('the front answers an unknown route as API Gateway HTTP API does, and serves the document', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['DELETE', '/jobs/oa-csv'],
      ['PUT', '/jobs'],
      ['GET', '/jobs/oa-csv/result/extra'],
      ['GET', '/jobs/'],
    ] as const) {
      const res = await call(method, path);
      expect(res.statusCode, `${method} ${path}`).toBe(404);
      expect(json(res)).toEqual({ message: 'Not Found' });
      expect(res.headers?.['content-type']).toBe('application/json');
    }
    const served = await fetch(`${gateway.url}/openapi.yaml`);
    expect(served.headers.get('content-type')).toBe('application/yaml');
    expect(await served.text()).toBe(await readFile(join(PROJECT_DIR, 'openapi.yaml'), 'utf8'));
  });

  it('every (route, status) pair openapi.yaml documents was produced above', () => {
    const documented = Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
      METHODS.filter((m) => item[m]).flatMap((m) =>
        Object.keys(item[m].responses).map((s) => `${m.toUpperCase()} ${path} ${s}`),
      ),
    );
    expect(documented.filter((pair) => !seen.has(pair) && !PENDING_PAIRS.includes(pair))).toEqual(
      [],
    );
    // A pending pair that is produced has left the list.
    expect(PENDING_PAIRS.filter((pair) => seen.has(pair))).toEqual([]);
  });
});
