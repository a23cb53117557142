import { createServer, type Server } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalApiGateway, type LocalApiGateway } from '../../../src/local/api-gateway.ts';

/*
 * The sandbox's API Gateway front with a fake function: the payload format 2.0 event it builds
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html:
 * lower-case header names, duplicates joined with commas, cookies in their own field), how it
 * writes an answer, and what it answers itself.
 */

let gateway: LocalApiGateway;
const events: APIGatewayProxyEventV2[] = [];
let answer: unknown = { statusCode: 204 };

beforeAll(async () => {
  gateway = await startLocalApiGateway({
    port: 0,
    invoke: async (_fn, event) => {
      events.push(event);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  });
});
afterAll(() => gateway.close());

describe('the local API Gateway', () => {
  it('passes the request as sent: every header, the query, the path variable, the body', async () => {
    const res = await fetch(`${gateway.url}/jobs/a%20b?x=1&x=2&y=`, {
      headers: { 'X-Thing': 'one', cookie: 'c1=a; c2=b' },
    });
    expect(res.status).toBe(204);
    const e = events.at(-1)!;
    expect(e).toMatchObject({
      version: '2.0',
      routeKey: 'GET /jobs/{inferenceId}',
      rawPath: '/jobs/a%20b',
      rawQueryString: 'x=1&x=2&y=',
      queryStringParameters: { x: '1,2', y: '' },
      pathParameters: { inferenceId: 'a b' },
      cookies: ['c1=a', 'c2=b'],
      requestContext: { http: { method: 'GET', path: '/jobs/a%20b' }, stage: '$default' },
      isBase64Encoded: false,
    });
    expect(e.headers['x-thing']).toBe('one');
    expect(e.headers.cookie).toBeUndefined();
    expect(e.body).toBeUndefined();
  });

  it('keeps a Content-Type it could not parse, and sends none when none came', async () => {
    await fetch(`${gateway.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'text/ csv' },
      body: 'a,b',
    });
    expect(events.at(-1)!.headers['content-type']).toBe('text/ csv');
    await fetch(`${gateway.url}/jobs`, { method: 'POST', body: new Uint8Array([0, 255]) });
    const e = events.at(-1)!;
    expect(e.headers['content-type']).toBeUndefined();
    expect(e).toMatchObject({
      isBase64Encoded: true,
      body: Buffer.from([0, 255]).toString('base64'),
    });
    await fetch(`${gateway.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: '1,2\n',
    });
    expect(events.at(-1)).toMatchObject({ isBase64Encoded: false, body: '1,2\n' });
  });

  it("writes the function's answer: status, headers, a base64 body decoded", async () => {
    answer = {
      statusCode: 200,
      headers: { 'Content-Type': 'application/octet-stream', 'x-one': '1' },
      body: Buffer.from([1, 2, 3]).toString('base64'),
      isBase64Encoded: true,
    };
    const res = await fetch(`${gateway.url}/jobs/x/result`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('x-one')).toBe('1');
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([1, 2, 3]);
    answer = { statusCode: 204 };
  });

  it('answers 500 {"message":"Internal Server Error"} when the function fails', async () => {
    answer = new Error('boom');
    const res = await fetch(`${gateway.url}/jobs/x`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: 'Internal Server Error' });
    answer = { statusCode: 204 };
  });

  it('refuses to start on a port another program holds', async () => {
    const other: Server = createServer((_q, r) => r.end('not us'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    const port = (other.address() as { port: number }).port;
    try {
      await expect(
        startLocalApiGateway({ port, invoke: async () => ({ statusCode: 200 }) }),
      ).rejects.toThrow(`port ${port} is in use by another program`);
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
  });
});
