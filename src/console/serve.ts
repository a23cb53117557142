import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { REQUEST_TIMEOUT_MS } from '../client/http.ts';
import type { ConsoleAssets } from './build.ts';

/*
 * The console's own answers, beside the API that the sandbox serves or that `async-jobs console`
 * forwards: the page, its two assets and the upload relay, each with a strict CSP. The page may
 * connect to its own origin only, so a large input's PUT to its presigned S3 URL goes through the
 * relay, which forwards it to an S3 URL and nowhere else.
 */

/** Every console answer's policy: the page's own script and style, nothing inline, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export interface ConsoleSiteOptions {
  /** Whether the relay may PUT to this (presigned) URL: the S3 the API's uploads point at. */
  allowUpload: (url: URL) => boolean;
  /** How long the relay waits for S3 to answer or to take more of the body. */
  timeoutMs?: number;
}

/** Handles a request when it is the console's (true), else leaves it to the API (false). */
export type ConsoleSite = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

function answer(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Buffer | string,
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function jsonAnswer(res: ServerResponse, status: number, message: string): void {
  answer(res, status, { 'content-type': 'application/json' }, JSON.stringify({ message }));
}

/**
 * Whether a request comes from the console's own page (or a person typing its URL): a cross-site
 * page must not make this origin act for it (the proxy signs with the caller's credentials), and
 * a Host that is not the loopback address is a DNS-rebinding page.
 */
export function fromOwnPage(req: IncomingMessage, port: number): boolean {
  const host = req.headers.host ?? '';
  if (![`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host)) return false;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://${host}`;
}

/** The headers a presigned PUT was signed with (POST /uploads' `headers`), and no others. */
function uploadHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value !== 'string') continue;
    if (/^(content-type|content-length|content-md5|if-none-match|x-amz-.*)$/.test(name)) {
      out[name] = value;
    }
  }
  return out;
}

function relay(
  req: IncomingMessage,
  res: ServerResponse,
  target: URL,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve) => {
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const out = send(target, { method: 'PUT', headers: uploadHeaders(req) }, (s3) => {
      const chunks: Buffer[] = [];
      s3.on('data', (c: Buffer) => chunks.push(c));
      s3.on('end', () => {
        answer(
          res,
          s3.statusCode ?? 502,
          { 'content-type': s3.headers['content-type'] ?? 'application/octet-stream' },
          Buffer.concat(chunks),
        );
        resolve();
      });
      s3.on('error', () => {
        if (!res.headersSent) jsonAnswer(res, 502, 'the upload was cut off');
        resolve();
      });
    });
    // An S3 that stops answering ends the relay, and so the page's upload, instead of hanging.
    out.setTimeout(timeoutMs, () => out.destroy(new Error('no answer')));
    out.on('error', () => {
      if (!res.headersSent) jsonAnswer(res, 502, 'the upload did not reach S3');
      resolve();
    });
    req.pipe(out);
  });
}

export function consoleSite(
  assets: ConsoleAssets,
  port: () => number,
  opts: ConsoleSiteOptions,
): ConsoleSite {
  const timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
  return async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://local').pathname.replace(/\/$/, '');
    if (path !== '/console' && !path.startsWith('/console/')) return false;
    const method = req.method ?? 'GET';
    if (path === '/console/upload' && method === 'PUT') {
      if (!fromOwnPage(req, port())) {
        req.resume();
        jsonAnswer(res, 403, 'the upload relay takes requests from the console page only');
        return true;
      }
      let target: URL | undefined;
      try {
        target = new URL(String(req.headers['x-upload-url'] ?? ''));
      } catch {
        target = undefined;
      }
      if (!target || !opts.allowUpload(target)) {
        req.resume();
        jsonAnswer(res, 400, 'x-upload-url is not an upload URL of this API');
        return true;
      }
      await relay(req, res, target, timeoutMs);
      return true;
    }
    const file = assets.files.get(path);
    req.resume();
    if (!file || (method !== 'GET' && method !== 'HEAD')) {
      jsonAnswer(res, 404, 'Not Found');
      return true;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': file.contentType,
      'content-length': file.body.byteLength,
      // Built at each start: a browser asks again rather than keep an old build.
      'cache-control': 'no-cache',
    });
    res.end(method === 'HEAD' ? undefined : file.body);
    return true;
  };
}
