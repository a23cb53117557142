import { AsyncJobsError } from './errors.ts';

/*
 * The client's HTTP, safe in a browser as in Node: `fetch`, Uint8Array bodies, no node: module,
 * no Buffer. The Node transport (transport.ts) adds SigV4 signing on top; the console's page
 * (src/console/page) uses this one as it is, unsigned, against its own origin.
 */

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: Uint8Array;
  headers?: Record<string, string>;
}

/** What the client sends its requests through. */
export interface HttpTransport {
  readonly base: URL;
  /** How long a request waits for an answer or for more of its body. */
  readonly timeoutMs: number;
  request(method: string, path: string, opts?: RequestOptions): Promise<HttpResponse>;
  /** The API's `{"message"}` of an error answer (or the status) as an AsyncJobsError. */
  errorOf(res: HttpResponse, path: string): AsyncJobsError;
}

/**
 * The longest a request waits for an answer, or for more of an answer's body: longer than API
 * Gateway's 30 s integration limit (and the API's 20 s `?wait=`), so only an API or a connection
 * that hangs is cut, never a slow answer the API would still give.
 */
export const REQUEST_TIMEOUT_MS = 35_000;

export function isLocal(url: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(url.hostname);
}

/** No answer, or no more of its body, within the request timeout. */
class NoAnswer extends Error {
  override readonly name = 'NoAnswer';
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * `fetch`, its whole body read, ended with NoAnswer when the headers do not come within `ms` or
 * the body stops for `ms`: fetch itself waits for minutes (undici's 300 s).
 */
export async function fetchWithin(
  url: URL | string,
  init: RequestInit,
  ms: number,
): Promise<HttpResponse> {
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), ms);
  try {
    const res = await fetch(url, { ...init, signal: controller.signal });
    // A browser hides a redirect it was told not to follow (`redirect: 'manual'`): status 0,
    // no headers. It is still the API's 302 (a large result in S3).
    if (res.type === 'opaqueredirect')
      return { status: 302, headers: res.headers, body: concat([]) };
    const chunks: Uint8Array[] = [];
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(), ms);
        chunks.push(value);
      }
    }
    return { status: res.status, headers: res.headers, body: concat(chunks) };
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

/** An error answer as an AsyncJobsError: the API's `{"message"}`, else the status. */
export function apiErrorOf(res: HttpResponse, local = true): AsyncJobsError {
  let message = `HTTP ${res.status}`;
  try {
    message =
      (JSON.parse(new TextDecoder().decode(res.body)) as { message?: string }).message ?? message;
  } catch {
    // keep the status
  }
  if (res.status === 403 && !local) {
    message =
      'the API refused the signed request (403): do these credentials allow execute-api:Invoke?';
  }
  return new AsyncJobsError(message, res.status, 'http');
}

/**
 * Plain `fetch` requests to the API at `apiUrl`, with the headers `prepare` gives each (the Node
 * transport signs there). Throws a TypeError when `apiUrl` is not an http(s) URL.
 */
export class FetchTransport implements HttpTransport {
  readonly base: URL;

  constructor(
    apiUrl: string,
    readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {
    this.base = new URL(apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`);
    if (!['http:', 'https:'].includes(this.base.protocol)) {
      throw new TypeError(`${apiUrl} is not an http(s) URL`);
    }
  }

  protected async prepare(
    _method: string,
    _url: URL,
    headers: Record<string, string>,
    _body?: Uint8Array,
  ): Promise<Record<string, string>> {
    return headers;
  }

  /** Whether an error answer came from an API this transport does not sign for. */
  protected unsigned(_url: URL): boolean {
    return true;
  }

  url(path: string, query: Record<string, string | undefined> = {}): URL {
    const url = new URL(path.replace(/^\//, ''), this.base);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    return url;
  }

  async request(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    const url = this.url(path, opts.query);
    const headers = await this.prepare(method, url, { ...opts.headers }, opts.body);
    try {
      return await fetchWithin(
        url,
        // A Uint8Array is a BodyInit at run time; the DOM's types want its buffer's exact kind.
        { method, headers, body: opts.body as RequestInit['body'], redirect: 'manual' },
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

  errorOf(res: HttpResponse, path: string): AsyncJobsError {
    return apiErrorOf(res, this.unsigned(this.url(path)));
  }
}
