import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { AsyncJobsError } from './errors.ts';

/*
 * Requests to the job API: plain to a loopback address (the sandbox), SigV4-signed with the
 * standard AWS credential chain (service execute-api) to anything else, as apiAuth=iam requires.
 */

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** node:crypto as the signer's SHA-256 (an HMAC when given a key). */
class Sha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

export function isLocal(url: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(url.hostname);
}

/** `https://<id>.execute-api.<region>.amazonaws.com` names its region; else AWS_REGION. */
function regionOf(url: URL): string {
  return (
    /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1] ??
    process.env.AWS_REGION ??
    process.env.AWS_DEFAULT_REGION ??
    'us-east-1'
  );
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

/**
 * The longest a request waits for an answer, or for more of an answer's body: longer than API
 * Gateway's 30 s integration limit (and the API's 20 s `?wait=`), so only an API or a connection
 * that hangs is cut, never a slow answer the API would still give.
 */
export const REQUEST_TIMEOUT_MS = 35_000;

/** No answer, or no more of its body, within the request timeout. */
class NoAnswer extends Error {
  override readonly name = 'NoAnswer';
}

/**
 * `fetch`, its whole body read, ended with NoAnswer when the headers do not come within `ms` or
 * the body stops for `ms`: fetch itself waits for minutes (undici's 300 s).
 */
export async function fetchWithin(
  url: URL | string,
  init: RequestInit,
  ms: number,
): Promise<RawResponse> {
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), ms);
  try {
    const res = await fetch(url, { ...init, signal: controller.signal });
    const chunks: Uint8Array[] = [];
    if (res.body) {
      for await (const chunk of res.body) {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(), ms);
        chunks.push(chunk);
      }
    }
    return { status: res.status, headers: res.headers, body: Buffer.concat(chunks) };
  } catch (err) {
    if (controller.signal.aborted) throw new NoAnswer(`no answer within ${ms / 1000} s`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `fetchWithin` gave up waiting. */
export function isNoAnswer(err: unknown): boolean {
  return err instanceof NoAnswer;
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: Buffer | Uint8Array;
  headers?: Record<string, string>;
}

export class Transport {
  readonly base: URL;
  private signer?: SignatureV4;

  /**
   * Throws a TypeError when `apiUrl` is not an http(s) URL. `timeoutMs`: how long a request waits
   * for an answer or for more of its body (REQUEST_TIMEOUT_MS).
   */
  constructor(
    apiUrl: string,
    readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {
    this.base = new URL(apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`);
    if (!['http:', 'https:'].includes(this.base.protocol)) {
      throw new TypeError(`${apiUrl} is not an http(s) URL`);
    }
  }

  private async sign(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body?: Uint8Array,
  ): Promise<Record<string, string>> {
    if (isLocal(url)) return headers;
    this.signer ??= new SignatureV4({
      service: 'execute-api',
      region: regionOf(url),
      credentials: defaultProvider(),
      sha256: Sha256,
    });
    try {
      const signed = await this.signer.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: { ...headers, host: url.host },
        body,
      });
      return signed.headers as Record<string, string>;
    } catch (err) {
      throw new AsyncJobsError(
        `no AWS credentials to sign the request to ${url.host} (${err instanceof Error ? err.message : 'unknown'})`,
        0,
        'credentials',
      );
    }
  }

  async request(method: string, path: string, opts: RequestOptions = {}): Promise<RawResponse> {
    const url = new URL(path.replace(/^\//, ''), this.base);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, v);
    const headers = await this.sign(method, url, { ...opts.headers }, opts.body);
    try {
      return await fetchWithin(
        url,
        { method, headers, body: opts.body, redirect: 'manual' },
        this.timeoutMs,
      );
    } catch (err) {
      if (isNoAnswer(err)) {
        throw new AsyncJobsError(
          `the API at ${this.base.origin} did not answer within ${this.timeoutMs / 1000} s (request timeout)`,
          0,
          'unreachable',
        );
      }
      const c = (err as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
      const cause = c?.code ?? c?.errors?.[0]?.code ?? (err as Error).message;
      throw new AsyncJobsError(
        `cannot reach the API at ${this.base.origin} (${cause})`,
        0,
        'unreachable',
      );
    }
  }

  /** The API's `{"message"}` of an error answer (or the status) as an AsyncJobsError. */
  errorOf(res: RawResponse, path: string): AsyncJobsError {
    return apiErrorOf(res, isLocal(new URL(path.replace(/^\//, ''), this.base)));
  }
}

/** An error answer as an AsyncJobsError: the API's `{"message"}`, else the status. */
export function apiErrorOf(res: RawResponse, local = true): AsyncJobsError {
  let message = `HTTP ${res.status}`;
  try {
    message = (JSON.parse(res.body.toString('utf8')) as { message?: string }).message ?? message;
  } catch {
    // keep the status
  }
  if (res.status === 403 && !local) {
    message =
      'the API refused the signed request (403): do these credentials allow execute-api:Invoke?';
  }
  return new AsyncJobsError(message, res.status, 'http');
}
