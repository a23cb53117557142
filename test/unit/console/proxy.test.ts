import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleAssets } from '../../../src/console/build.ts';
import { startConsoleProxy, type ConsoleProxy } from '../../../src/console/proxy.ts';
import { CONTENT_SECURITY_POLICY } from '../../../src/console/serve.ts';

/*
 * `async-jobs console`'s proxy against a stand-in API on 127.0.0.2 (loopback, but not an address
 * the client takes for the sandbox, so it signs): what it forwards and how it signs, what it
 * refuses (undocumented routes, other sites, other Hosts, uploads to anywhere but S3), and that
 * every answer carries the console's CSP. The page itself is a stand-in: the build is the e2e
 * file's to exercise.
 */

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let api: Server;
let apiUrl: string;
const seen: Seen[] = [];
let proxy: ConsoleProxy | undefined;

const assets: ConsoleAssets = {
  files: new Map([
    [
      '/console',
      { body: Buffer.from('<!doctype html><title>c</title>'), contentType: 'text/html' },
    ],
    ['/console/app.js', { body: Buffer.from('export {}'), contentType: 'text/javascript' }],
    ['/console/app.css', { body: Buffer.from('body{}'), contentType: 'text/css' }],
  ]),
  metafile: { inputs: {}, outputs: {} },
};

beforeAll(async () => {
  api = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (req.url!.startsWith('/jobs/big/result')) {
        res.writeHead(302, { location: 'https://bucket.s3.amazonaws.com/out?X-Amz-Signature=x' });
        res.end();
        return;
      }
      res.writeHead(202, {
        'content-type': 'application/json',
        'access-control-allow-origin': '*',
        'x-amzn-requestid': 'r1',
      });
      res.end(JSON.stringify({ inferenceId: 'j1', status: 'IN_PROGRESS' }));
    });
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.2', r));
  apiUrl = `http://127.0.0.2:${(api.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => api.close(r)));
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  seen.length = 0;
});

const origin = () => new URL(proxy!.url).origin;

describe('async-jobs console (the proxy)', () => {
  it('serves the page with the strict CSP, on 127.0.0.1 only', async () => {
    proxy = await startConsoleProxy({ api: apiUrl, assets });
    expect(proxy.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console$/);
    const res = await fetch(proxy.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect((await fetch(`${origin()}/`, { redirect: 'manual' })).headers.get('location')).toBe(
      '/console',
    );
  });

  it('forwards a documented route SigV4-signed with the caller’s credentials', async () => {
    proxy = await startConsoleProxy({ api: apiUrl, assets });
    const res = await fetch(`${origin()}/jobs?inferenceId=j1`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', cookie: 'a=b', 'x-extra': 'no' },
      body: '1,2\n',
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ inferenceId: 'j1', status: 'IN_PROGRESS' });
    // The API's own headers stay behind; the console's policy comes along.
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    const [req] = seen;
    expect(req).toMatchObject({ method: 'POST', url: '/jobs?inferenceId=j1', body: '1,2\n' });
    expect(req!.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=S3RVER\/\d{8}\/us-east-1\/execute-api\/aws4_request, SignedHeaders=.*host.*, Signature=[0-9a-f]{64}$/,
    );
    expect(req!.headers['x-amz-content-sha256'] ?? req!.headers['x-amz-date']).toBeDefined();
    expect(req!.headers['content-type']).toBe('text/csv');
    expect(req!.headers.cookie).toBeUndefined();
    expect(req!.headers['x-extra']).toBeUndefined();
  });

  it('with --token sends Authorization: Bearer instead, and never hands the token to the page', async () => {
    proxy = await startConsoleProxy({ api: apiUrl, token: 'secret-jwt', assets });
    const res = await fetch(`${origin()}/jobs?status=FAILED`);
    expect(res.status).toBe(202);
    expect(seen[0]!.headers.authorization).toBe('Bearer secret-jwt');
    expect(await res.text()).not.toContain('secret-jwt');
    expect(await (await fetch(proxy.url)).text()).not.toContain('secret-jwt');
  });

  it('passes a result redirect to S3 on for the browser to follow', async () => {
    proxy = await startConsoleProxy({ api: apiUrl, assets });
    const res = await fetch(`${origin()}/jobs/big/result`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(/^https:\/\/bucket\.s3\.amazonaws\.com\//);
  });

  it('forwards nothing but the documented routes', async () => {
    proxy = await startConsoleProxy({ api: apiUrl, assets });
    for (const [method, path] of [
      ['GET', '/admin'],
      ['DELETE', '/jobs/j1'],
      ['GET', '/openapi.yaml'],
    ] as const) {
      const res = await fetch(`${origin()}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect(seen).toEqual([]);
  });

  it('refuses another site’s page, and a Host that is not loopback (DNS rebinding)', async () => {
    proxy = await startConsoleProxy({ api: apiUrl, assets });
    const cross = await fetch(`${origin()}/jobs?inferenceId=x`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(cross.status).toBe(403);
    const site = await fetch(`${origin()}/jobs/j1`, {
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expect(site.status).toBe(403);
    const port = new URL(proxy.url).port;
    const rebound = await new Promise<number>((resolve, reject) => {
      // fetch sets Host itself: a raw request names another one, as a rebound page's would.
      import('node:http').then(({ request }) =>
        request(
          { host: '127.0.0.1', port, path: '/jobs/j1', headers: { host: `evil.example:${port}` } },
          (r) => {
            r.resume();
            resolve(r.statusCode!);
          },
        )
          .on('error', reject)
          .end(),
      );
    });
    expect(rebound).toBe(403);
    expect(seen).toEqual([]);
  });

  it('relays an upload to S3 only: any other URL is refused before a byte is sent', async () => {
    proxy = await startConsoleProxy({ api: apiUrl, assets });
    for (const target of [
      `${apiUrl}/jobs`,
      'https://evil.example/put?X-Amz-Signature=x',
      'https://bucket.s3.amazonaws.com/in', // not presigned
      'not a url',
    ]) {
      const res = await fetch(`${origin()}/console/upload`, {
        method: 'PUT',
        headers: { 'x-upload-url': target },
        body: 'data',
      });
      expect(res.status, target).toBe(400);
    }
    expect(seen).toEqual([]);
  });
});
