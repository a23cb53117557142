import { createServer, type Server } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_INVOKE_REQUEST_BYTES,
  MAX_REQUEST_HEAD_BYTES,
  RequestEntityTooLarge,
  STARTING_MESSAGE,
  startLocalApiGateway,
  type LocalApiGateway,
} from '../../../src/local/api-gateway.ts';

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

  it("passes a function's own 413 on as it answered it", async () => {
    const message = 'the input is larger than a Lambda request allows; upload it';
    answer = {
      statusCode: 413,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message }),
    };
    const res = await fetch(`${gateway.url}/jobs`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ message });
    answer = { statusCode: 204 };
  });

  it('answers 413 {"message"} for an event Lambda would refuse (6 MiB), without invoking', async () => {
    const before = events.length;
    // Text: the body itself is the bulk of the event.
    const text = await fetch(`${gateway.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'a'.repeat(MAX_INVOKE_REQUEST_BYTES),
    });
    expect(text.status).toBe(413);
    expect(await text.json()).toEqual({ message: 'Request Entity Too Large' });
    // Binary: 5 MiB grows to about 6.7 MiB in base64, past Lambda's limit though under 6 MiB sent.
    const binary = await fetch(`${gateway.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(5 * 1024 * 1024),
    });
    expect(binary.status).toBe(413);
    expect(await binary.json()).toEqual({ message: 'Request Entity Too Large' });
    expect(events.length).toBe(before);
  });

  it('answers 413 when whatever runs the function refuses the payload as Lambda does', async () => {
    for (const refusal of [
      new RequestEntityTooLarge('too large'),
      Object.assign(new Error('Request must be smaller than 6291456 bytes'), {
        name: 'RequestEntityTooLargeException',
      }),
    ]) {
      answer = refusal;
      const res = await fetch(`${gateway.url}/jobs`, { method: 'POST', body: 'x' });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({ message: 'Request Entity Too Large' });
    }
    answer = { statusCode: 204 };
  });

  it('answers 413 above the 10 MB quota, and the connection stays usable', async () => {
    const res = await fetch(`${gateway.url}/jobs`, {
      method: 'POST',
      body: new Uint8Array(10 * 1024 * 1024 + 1),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ message: 'Request Entity Too Large' });
    // The client's pool reuses its connections: none of them was reset under it.
    for (let i = 0; i < 3; i++) expect((await fetch(`${gateway.url}/jobs/x`)).status).toBe(204);
  });

  it('answers 431 {"message"} for a request line and headers above 10,240 bytes, below and above Node\'s own limit', async () => {
    const head = (q: number) => `${gateway.url}/jobs?x=${'a'.repeat(q)}`;
    expect((await fetch(head(MAX_REQUEST_HEAD_BYTES - 200))).status).toBe(204);
    // 12 KB: parsed by Node (16 KiB), refused by the gateway; 20 KB: refused by Node's parser.
    for (const q of [12_000, 20_000]) {
      const res = await fetch(head(q));
      expect(res.status).toBe(431);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toEqual({ message: 'Request Header Fields Too Large' });
    }
    const headers = await fetch(`${gateway.url}/jobs/x`, {
      headers: { 'x-big': 'b'.repeat(11_000) },
    });
    expect(headers.status).toBe(431);
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

  it('while starting, answers every request 503 with Retry-After and says so; never a function', async () => {
    let invoked = 0;
    const starting = await startLocalApiGateway({
      port: 0,
      starting: true,
      invoke: async () => {
        invoked++;
        return { statusCode: 204 };
      },
    });
    try {
      for (const [method, path] of [
        ['GET', '/jobs/x'],
        ['POST', '/jobs'],
        ['GET', '/openapi.yaml'],
        ['GET', '/nowhere'],
      ] as const) {
        const res = await fetch(`${starting.url}${path}`, {
          method,
          body: method === 'POST' ? 'a' : undefined,
        });
        expect({ path, status: res.status }).toEqual({ path, status: 503 });
        expect(res.headers.get('retry-after')).toBe('1');
        expect(await res.json()).toEqual({ message: STARTING_MESSAGE });
      }
      expect(STARTING_MESSAGE).toBe('the sandbox is starting; retry shortly');
      expect(invoked).toBe(0);
      starting.open();
      expect((await fetch(`${starting.url}/jobs/x`)).status).toBe(204);
      expect(invoked).toBe(1);
    } finally {
      await starting.close();
    }
  });
});
