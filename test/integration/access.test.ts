import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSageMaker } from '../../src/local/sagemaker.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import { lambdaContext, waitFor } from '../support/lambda.ts';
import { SUCCESS_TOPIC, completed, snsEvent } from '../support/notifications.ts';
import { startTestRuntime } from '../support/runtime.ts';

/*
 * Data in and out without passing through Lambda, and the listing, against s3rver and dynalite:
 * POST /uploads (presigned PUT), GET /jobs/{id}/result (inline or a presigned redirect),
 * GET /jobs?status= (the status index, paginated).
 */

type Handler = (e: unknown, c: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let b: Backends;
let runtime: LocalSageMaker;
const h: Record<string, Handler> = {};
const published: { topicArn: string; message: string }[] = [];

beforeAll(async () => {
  b = await startBackends();
  runtime = await startTestRuntime(b.s3, {
    publish: async (topicArn, message) => void published.push({ topicArn, message }),
  });
  for (const name of ['submitJob', 'getResult', 'createUpload', 'listJobs', 'onSuccess']) {
    h[name] = (await import(`../../src/handlers/${name}.ts`)).handler as Handler;
  }
});
afterAll(async () => {
  await runtime?.close();
  await b?.close();
});

const call = (name: string, event: Record<string, unknown>) =>
  h[name]!({ version: '2.0', headers: {}, isBase64Encoded: false, ...event }, lambdaContext(name));
const body = (r: APIGatewayProxyStructuredResultV2) => JSON.parse(String(r.body));
const result = (id: string) => call('getResult', { pathParameters: { inferenceId: id } });

async function finish(id: string) {
  const m = await waitFor(
    () =>
      published.find((p) => (JSON.parse(p.message) as { inferenceId: string }).inferenceId === id),
    { what: `the notification of ${id}` },
  );
  await h.onSuccess!(
    snsEvent({ topic: m.topicArn, message: m.message }),
    lambdaContext('onSuccess'),
  );
}

describe('POST /uploads', () => {
  const rows = Buffer.from(Array.from({ length: 5000 }, (_, i) => `${i % 9},${i % 4}`).join('\n'));
  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');
  const newUpload = async (q: Record<string, string>) => {
    const res = await call('createUpload', { queryStringParameters: q });
    expect(res.statusCode).toBe(201);
    return body(res) as {
      uploadUrl: string;
      headers: Record<string, string>;
      inputLocation: string;
    };
  };
  const s3Code = async (res: Response) => /<Code>([^<]*)<\/Code>/.exec(await res.text())?.[1];

  it('hands out a presigned PUT whose inputLocation submits and completes', async () => {
    const upload = await newUpload({
      contentType: 'text/csv',
      contentLength: String(rows.length),
      checksumSha256: sha256(rows),
    });
    expect(upload.inputLocation).toMatch(
      /^s3:\/\/async-jobs-local-input\/inputs\/uploads\/[0-9a-f-]{36}$/,
    );
    const put = await fetch(upload.uploadUrl, {
      method: 'PUT',
      headers: upload.headers,
      body: rows,
    });
    expect(put.status).toBe(200);
    const submitted = await call('submitJob', {
      headers: { 'content-type': 'text/csv' },
      queryStringParameters: { inferenceId: 'upl-1', inputLocation: upload.inputLocation },
    });
    expect(submitted.statusCode).toBe(202);
    await finish('upl-1');
    const out = await result('upl-1');
    expect(out.statusCode).toBe(200);
    expect(Buffer.from(String(out.body), 'base64').toString().split('\n')).toHaveLength(5001);
  });

  it('signs no checksum of a body it has not seen into the URL', async () => {
    const upload = await newUpload({ contentType: 'text/csv', contentLength: '10' });
    const params = [...new URL(upload.uploadUrl).searchParams.keys()];
    expect(params.filter((k) => /checksum|x-amz-trailer/i.test(k))).toEqual([]);
    expect(upload.headers).toEqual({
      'content-type': 'text/csv',
      'content-length': '10',
      'if-none-match': '*',
    });
  });

  it('refuses a body other than the one whose SHA-256 the caller stated: 400 BadDigest', async () => {
    const upload = await newUpload({
      contentType: 'text/csv',
      contentLength: String(rows.length),
      checksumSha256: sha256(Buffer.alloc(rows.length, 0x30)),
    });
    const put = await fetch(upload.uploadUrl, {
      method: 'PUT',
      headers: upload.headers,
      body: rows,
    });
    expect(put.status).toBe(400);
    expect(await s3Code(put)).toBe('BadDigest');
  });

  it('refuses another size or another content type than signed: 403', async () => {
    const upload = await newUpload({ contentType: 'text/csv', contentLength: '100' });
    const wrongSize = await fetch(upload.uploadUrl, {
      method: 'PUT',
      headers: { ...upload.headers, 'content-length': String(rows.length) },
      body: rows,
    });
    expect(wrongSize.status).toBe(403);
    expect(await s3Code(wrongSize)).toBe('SignatureDoesNotMatch');
    const wrongType = await fetch(upload.uploadUrl, {
      method: 'PUT',
      headers: { ...upload.headers, 'content-type': 'application/json' },
      body: rows.subarray(0, 100),
    });
    expect(wrongType.status).toBe(403);
    expect(await s3Code(wrongType)).toBe('SignatureDoesNotMatch');
  });

  it('cannot replace an input once uploaded: the second PUT is 412, the job reads the first', async () => {
    const upload = await newUpload({
      contentType: 'text/csv',
      contentLength: String(rows.length),
      checksumSha256: sha256(rows),
    });
    const put = () =>
      fetch(upload.uploadUrl, { method: 'PUT', headers: upload.headers, body: rows });
    expect((await put()).status).toBe(200);
    const again = await put();
    expect(again.status).toBe(412);
    expect(await s3Code(again)).toBe('PreconditionFailed');
    const key = upload.inputLocation.replace('s3://async-jobs-local-input/', '');
    expect(await b.getObject('async-jobs-local-input', key)).toEqual(rows);
  });

  it('answers 400 without a size, 413 above 1 GB, 415 for a malformed type', async () => {
    const status = async (q: Record<string, string>) =>
      (await call('createUpload', { queryStringParameters: q })).statusCode;
    expect(await status({ contentType: 'text/csv' })).toBe(400);
    expect(await status({ contentType: 'text/csv', contentLength: '1000000001' })).toBe(413);
    expect(await status({ contentType: 'nope', contentLength: '10' })).toBe(415);
    expect(await status({ contentLength: '10', checksumSha256: 'not-a-digest' })).toBe(400);
    const res = await call('createUpload', { queryStringParameters: { contentType: 'text/csv' } });
    expect(body(res)).toEqual({
      message: 'contentLength is required: the size of the input in bytes',
    });
  });
});

describe('GET /jobs/{id}/result', () => {
  it('answers a small output itself, byte-exact, with its content type', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await h.onSuccess!(
      snsEvent({
        topic: SUCCESS_TOPIC,
        message: completed('res-bin', { contentType: 'application/x-bytes', responseBody: bytes }),
      }),
      lambdaContext('onSuccess'),
    );
    const res = await result('res-bin');
    expect(res.statusCode).toBe(200);
    expect(res.headers?.['content-type']).toBe('application/x-bytes');
    // A result served as text/html must never be sniffed into a page in the API's origin.
    expect(res.headers?.['x-content-type-options']).toBe('nosniff');
    expect(res.isBase64Encoded).toBe(true);
    expect(Buffer.from(String(res.body), 'base64')).toEqual(bytes);
  });

  it('redirects a large output to a short-lived presigned URL that serves it', async () => {
    const big = Buffer.alloc(200_000, 0x7a);
    await b.putOutput('outputs/res-big.out', big, 'application/octet-stream');
    await h.onSuccess!(
      snsEvent({
        topic: SUCCESS_TOPIC,
        message: completed('res-big', { contentType: 'application/octet-stream' }),
      }),
      lambdaContext('onSuccess'),
    );
    const res = await result('res-big');
    expect(res.statusCode).toBe(302);
    const url = String(res.headers?.location);
    expect(url).toContain('X-Amz-Expires=300');
    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer())).toEqual(big);
  });

  it('answers 409 for an unfinished job, 404 for an unknown one', async () => {
    await call('submitJob', {
      headers: { 'content-type': 'text/csv' },
      queryStringParameters: { inferenceId: 'res-wait', customAttributes: 'delay_ms=60000' },
      body: '1\n',
    });
    const pending = await result('res-wait');
    expect(pending.statusCode).toBe(409);
    expect(body(pending).message).toContain('IN_PROGRESS');
    expect((await result('res-nobody')).statusCode).toBe(404);
  });
});

describe('GET /jobs?status=', () => {
  it('pages through one status, newest first, without result bodies', async () => {
    for (let i = 0; i < 5; i++) {
      await b.store.claim({
        inferenceId: `list-${i}`,
        status: 'FAILED',
        submittedAt: `2026-11-2${i}T00:00:00.000Z`,
        failureReason: 'x',
        result: 'body',
      });
    }
    const first = await call('listJobs', {
      queryStringParameters: { status: 'FAILED', limit: '3' },
    });
    expect(first.statusCode).toBe(200);
    const page1 = body(first);
    expect(page1.jobs.map((j: { inferenceId: string }) => j.inferenceId)).toEqual([
      'list-4',
      'list-3',
      'list-2',
    ]);
    expect(page1.jobs[0]).not.toHaveProperty('result');
    const page2 = body(
      await call('listJobs', {
        queryStringParameters: { status: 'FAILED', limit: '3', next: page1.next },
      }),
    );
    expect(page2.jobs.map((j: { inferenceId: string }) => j.inferenceId)).toEqual([
      'list-1',
      'list-0',
    ]);
    expect(page2.next).toBeUndefined();
  });

  it('answers 400 for a missing status, a bad limit or a forged page token', async () => {
    expect((await call('listJobs', { queryStringParameters: {} })).statusCode).toBe(400);
    expect((await call('listJobs', { queryStringParameters: { status: 'DONE' } })).statusCode).toBe(
      400,
    );
    expect(
      (await call('listJobs', { queryStringParameters: { status: 'FAILED', limit: '500' } }))
        .statusCode,
    ).toBe(400);
    const forged = Buffer.from(
      JSON.stringify({ inferenceId: 'x', status: 'COMPLETED', submittedAt: 'y' }),
    ).toString('base64url');
    expect(
      (await call('listJobs', { queryStringParameters: { status: 'FAILED', next: forged } }))
        .statusCode,
    ).toBe(400);
  });

  it('answers 400, never 500, for a page token whose values are of the wrong type', async () => {
    const tokens = [
      { inferenceId: 'x', status: 'FAILED', submittedAt: { S: '2026' } },
      { inferenceId: 7, status: 'FAILED', submittedAt: '2026' },
      { inferenceId: 'x\u0000', status: 'FAILED', submittedAt: '2026' },
      null,
      [1, 2, 3],
      'FAILED',
    ].map((t) => Buffer.from(JSON.stringify(t)).toString('base64url'));
    for (const next of [...tokens, '%%%', 'e30']) {
      const res = await call('listJobs', { queryStringParameters: { status: 'FAILED', next } });
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body as string)).toEqual({
        message: 'next is not a page token of this listing',
      });
    }
  });

  it('tells a missing status from an unknown one; every answer says nosniff', async () => {
    const missing = await call('listJobs', { queryStringParameters: {} });
    expect(missing.headers?.['x-content-type-options']).toBe('nosniff');
    expect(JSON.parse(missing.body as string).message).toMatch(/^status is required/);
    const unknown = await call('listJobs', { queryStringParameters: { status: 'banana' } });
    expect(JSON.parse(unknown.body as string).message).toMatch(/^status must be one of/);
    // Any case, as the CLI takes it.
    const lower = await call('listJobs', { queryStringParameters: { status: 'failed' } });
    expect(lower.statusCode).toBe(200);
    expect(body(lower).jobs.every((j: { status: string }) => j.status === 'FAILED')).toBe(true);
  });
});
