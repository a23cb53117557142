import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AsyncJobsError } from '../client/errors.ts';
import { REQUEST_TIMEOUT_MS } from '../client/http.ts';
import { Transport } from '../client/transport.ts';
import { matchRoute } from '../local/routes.ts';
import { buildConsole, type ConsoleAssets } from './build.ts';
import { SECURITY_HEADERS, consoleSite, fromOwnPage, jsonAnswer } from './serve.ts';

/*
 * `async-jobs console --api <url>`: the console's page on a loopback port, and the API's routes
 * (openapi.yaml's, as src/local/routes.ts lists them) forwarded to <url> through the client's
 * Node transport: SigV4-signed with the caller's own credentials, or with the bearer token in JWT
 * mode. The page never sees a credential; nothing but the documented routes is forwarded, and
 * only for the console's own page (fromOwnPage: no other site may make this port sign for it).
 */

/** The largest request body forwarded: HTTP API's payload quota. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** The API's answer headers the page may need; the rest (API Gateway's, CORS) stay behind. */
const PASSED_HEADERS = ['content-type', 'location', 'retry-after', 'cache-control'];

export interface ConsoleProxyOptions {
  /** The deployed API's base URL (or the sandbox's). */
  api: string;
  /** The loopback port to serve on; 0 or omitted: a free one. */
  port?: number;
  /** JWT mode: sent as `Authorization: Bearer <token>` instead of a SigV4 signature. */
  token?: string;
  /** The page, built already (tests build it once); else built here. */
  assets?: ConsoleAssets;
  timeoutMs?: number;
}

export interface ConsoleProxy {
  /** Where the page is: http://127.0.0.1:<port>/console */
  url: string;
  close(): Promise<void>;
}

/** What S3 hosts a presigned upload URL of a deployed API may name (virtual-host or path style). */
const S3_HOST = /^([a-z0-9.-]+\.)?s3([.-][a-z0-9-]+)*\.amazonaws\.com(\.cn)?$/;

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function startConsoleProxy(opts: ConsoleProxyOptions): Promise<ConsoleProxy> {
  const timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const transport = new Transport(opts.api, timeoutMs, { bearerToken: opts.token });
  const apiOrigin = transport.base.origin;
  const assets = opts.assets ?? (await buildConsole());
  let port = 0;
  const site = consoleSite(assets, () => port, {
    // A deployed API presigns for S3 over https; a sandbox behind --api for its own S3 (loopback).
    allowUpload: (url) =>
      url.searchParams.has('X-Amz-Signature') &&
      ((url.protocol === 'https:' && S3_HOST.test(url.hostname)) ||
        (new URL(apiOrigin).hostname === '127.0.0.1' && url.hostname === '127.0.0.1')),
    timeoutMs,
  });

  const forward = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const body = await readBody(req);
    if (!body) {
      jsonAnswer(res, 413, 'Request Entity Too Large');
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'accept']) {
      const v = req.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    let answer;
    try {
      answer = await transport.request(req.method ?? 'GET', url.pathname, {
        query: Object.fromEntries(url.searchParams),
        body: body.byteLength > 0 ? body : undefined,
        headers,
      });
    } catch (err) {
      const message = err instanceof AsyncJobsError ? err.message : 'the API could not be reached';
      jsonAnswer(res, 502, message);
      return;
    }
    const out: Record<string, string> = { ...SECURITY_HEADERS };
    for (const name of PASSED_HEADERS) {
      const v = answer.headers.get(name);
      if (v !== null) out[name] = v;
    }
    res.writeHead(answer.status, { ...out, 'content-length': answer.body.byteLength });
    res.end(answer.body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!fromOwnPage(req, port)) {
      req.resume();
      jsonAnswer(res, 403, 'this console answers its own page on 127.0.0.1 only');
      return;
    }
    if (await site(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      req.resume();
      res.writeHead(302, { ...SECURITY_HEADERS, location: '/console', 'content-length': 0 });
      res.end();
      return;
    }
    if (!matchRoute(req.method ?? 'GET', url.pathname)) {
      req.resume();
      jsonAnswer(res, 404, 'Not Found');
      return;
    }
    await forward(req, res, url);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) jsonAnswer(res, 500, 'Internal Server Error');
      else res.destroy();
    });
  });
  // Loopback only, whatever the caller asks: the port acts with the caller's credentials.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/console`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
