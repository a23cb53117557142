import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { AsyncJobsError } from './errors.ts';
import {
  FetchTransport,
  REQUEST_TIMEOUT_MS,
  apiErrorOf as httpApiErrorOf,
  fetchWithin as httpFetchWithin,
  isLocal,
  type HttpResponse,
  type RequestOptions,
} from './http.ts';

/*
 * Requests to the job API from Node: plain to a loopback address (the sandbox), with a bearer
 * token when given one (apiAuth=jwt), else SigV4-signed with the standard AWS credential chain
 * (service execute-api) as apiAuth=iam requires. The fetch itself is http.ts's, which the
 * browser uses too.
 */

export { REQUEST_TIMEOUT_MS, isLocal, isNoAnswer, type RequestOptions } from './http.ts';

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

/** `https://<id>.execute-api.<region>.amazonaws.com` names its region; else AWS_REGION. */
function regionOf(url: URL): string {
  return (
    /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1] ??
    process.env.AWS_REGION ??
    process.env.AWS_DEFAULT_REGION ??
    'us-east-1'
  );
}

/** An answer with its body as a Buffer, as Node code reads it. */
export interface RawResponse extends HttpResponse {
  body: Buffer;
}

export function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

const withBuffer = (res: HttpResponse): RawResponse => ({ ...res, body: asBuffer(res.body) });

/** `fetch`, its whole body read, within `ms` of silence (http.ts), the body as a Buffer. */
export async function fetchWithin(
  url: URL | string,
  init: RequestInit,
  ms: number,
): Promise<RawResponse> {
  return withBuffer(await httpFetchWithin(url, init, ms));
}

export interface TransportOptions {
  /** Sent as `Authorization: Bearer <token>` instead of a SigV4 signature (apiAuth=jwt). */
  bearerToken?: string;
}

export class Transport extends FetchTransport {
  private signer?: SignatureV4;

  /**
   * Throws a TypeError when `apiUrl` is not an http(s) URL. `timeoutMs`: how long a request waits
   * for an answer or for more of its body (REQUEST_TIMEOUT_MS).
   */
  constructor(
    apiUrl: string,
    timeoutMs = REQUEST_TIMEOUT_MS,
    private readonly opts: TransportOptions = {},
  ) {
    super(apiUrl, timeoutMs);
  }

  protected override unsigned(url: URL): boolean {
    return isLocal(url) || this.opts.bearerToken !== undefined;
  }

  protected override async prepare(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body?: Uint8Array,
  ): Promise<Record<string, string>> {
    if (this.opts.bearerToken !== undefined) {
      return { ...headers, authorization: `Bearer ${this.opts.bearerToken}` };
    }
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

  override async request(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<RawResponse> {
    return withBuffer(await super.request(method, path, opts));
  }
}

/** An error answer as an AsyncJobsError: the API's `{"message"}`, else the status. */
export function apiErrorOf(res: HttpResponse, local = true): AsyncJobsError {
  return httpApiErrorOf(res, local);
}
