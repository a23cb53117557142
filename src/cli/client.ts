import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

/*
 * The CLI's HTTP client: plain requests to the local sandbox, SigV4-signed requests (the standard
 * AWS credential chain) to a deployed API. Errors say what to do, not what failed inside.
 */

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 3,
  ) {
    super(message);
  }
}

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

export interface Response {
  status: number;
  headers: Headers;
  body: Buffer;
  json<T>(): T;
}

export class ApiClient {
  readonly base: URL;
  private signer?: SignatureV4;

  constructor(apiUrl: string) {
    try {
      this.base = new URL(apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`);
    } catch {
      throw new CliError(`--api "${apiUrl}" is not a URL (expected e.g. http://127.0.0.1:3000)`, 2);
    }
    if (!['http:', 'https:'].includes(this.base.protocol)) {
      throw new CliError(`--api "${apiUrl}" must be an http(s) URL`, 2);
    }
  }

  private async sign(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body?: Buffer,
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
      throw new CliError(
        `no AWS credentials to sign the request to ${url.host} (${err instanceof Error ? err.message : 'unknown'}); ` +
          'set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws sso login',
      );
    }
  }

  async request(
    method: string,
    path: string,
    opts: {
      query?: Record<string, string | undefined>;
      body?: Buffer;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Response> {
    const url = new URL(path.replace(/^\//, ''), this.base);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, v);
    const headers = await this.sign(method, url, { ...opts.headers }, opts.body);
    let res;
    try {
      res = await fetch(url, { method, headers, body: opts.body, redirect: 'manual' });
    } catch (err) {
      const c = (err as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
      const cause = c?.code ?? c?.errors?.[0]?.code ?? (err as Error).message;
      throw new CliError(
        `cannot reach the API at ${this.base.origin} (${cause}); is the sandbox running (npm start), or is --api / ASYNC_JOBS_API right?`,
      );
    }
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status === 403 && !isLocal(url)) {
      throw new CliError(
        `the API refused the signed request (403): do these credentials allow execute-api:Invoke?`,
      );
    }
    return {
      status: res.status,
      headers: res.headers,
      body,
      json<T>() {
        try {
          return JSON.parse(body.toString('utf8')) as T;
        } catch {
          throw new CliError(
            `${method} ${url.pathname} answered ${res.status} with a body that is not JSON: is --api the job API?`,
          );
        }
      },
    };
  }
}

/** The API's error body, or the status. */
export function apiError(res: Response, what: string): CliError {
  let message = `HTTP ${res.status}`;
  try {
    message = (JSON.parse(res.body.toString('utf8')) as { message?: string }).message ?? message;
  } catch {
    // keep the status
  }
  return new CliError(`${what}: ${message}`, res.status === 404 ? 4 : 3);
}
