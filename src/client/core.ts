import { AsyncJobsError } from './errors.ts';
import {
  fetchWithin,
  isNoAnswer,
  type HttpResponse,
  type HttpTransport,
  type RequestOptions,
} from './http.ts';
import type {
  ActivityView,
  BatchLine,
  BatchRecord,
  JobPage,
  JobRecord,
  JobStatus,
  QueueView,
  RetryableStatus,
  SubmitOptions,
  Submitted,
  Upload,
  WaitOptions,
} from './types.ts';

/*
 * The job API's calls, over any HttpTransport: the Node client (index.ts) signs its requests,
 * the console's page (src/console/page) sends them plain to its own origin (browser.ts). Nothing
 * here needs Node: bodies are Uint8Array, text goes through TextEncoder/TextDecoder.
 */

/** The longest `?wait=` the API takes, in seconds (docs/api.md). */
export const MAX_WAIT_SECONDS = 20;

/**
 * Against an API that answers `?wait=` at once (one from before it), the loop falls back to
 * polling on this backoff (the CLI's former schedule) rather than asking in a tight loop.
 */
const FALLBACK_MS = { first: 250, factor: 1.5, max: 5000 };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const idPath = (id: string) => `/jobs/${encodeURIComponent(id)}`;

export interface ClientOptions {
  /** Monotonic milliseconds; tests pass a fake. */
  now?: () => number;
  /** How long a request waits for an answer or for more of its body (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number;
  /** The pause between polls of `wait`; tests pass a fake that moves their `now`. */
  sleep?: (ms: number) => Promise<void>;
}

/** A job's output as read from GET /jobs/{id}/result. */
export interface ResultBytes {
  bytes: Uint8Array;
  contentType?: string;
  text(): string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The job API's calls: submit, read, wait for and fetch the result of SageMaker async jobs,
 * retry, list, batches and uploads, each through `transport`.
 */
export class JobsClient {
  protected readonly http: HttpTransport;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(transport: HttpTransport, opts: Omit<ClientOptions, 'requestTimeoutMs'> = {}) {
    this.http = transport;
    this.now = opts.now ?? (() => performance.now());
    this.sleep = opts.sleep ?? sleep;
  }

  get baseUrl(): URL {
    return this.http.base;
  }

  /** A raw request to the API (signed as the others are), for routes the client has no method for. */
  request(method: string, path: string, opts?: RequestOptions): Promise<HttpResponse> {
    return this.http.request(method, path, opts);
  }

  private async call(
    method: string,
    path: string,
    ok: number[],
    opts?: RequestOptions,
  ): Promise<HttpResponse> {
    const res = await this.http.request(method, path, opts);
    if (!ok.includes(res.status)) throw this.http.errorOf(res, path);
    return res;
  }

  private json<T>(res: HttpResponse, what: string): T {
    try {
      return JSON.parse(decoder.decode(res.body)) as T;
    } catch {
      throw new AsyncJobsError(
        `${what} answered ${res.status} with a body that is not JSON: is this the job API?`,
        res.status,
        'invalid-answer',
      );
    }
  }

  /**
   * POST /jobs: `input` is the model input itself, or `{ inputLocation }` for an input already in
   * S3 (see `createUpload`). A known `inferenceId` answers the existing job (`created: false`).
   */
  async submit(
    input: string | Uint8Array | { inputLocation: string },
    opts: SubmitOptions = {},
  ): Promise<Submitted> {
    const byLocation = typeof input === 'object' && 'inputLocation' in input;
    const num = (n: number | undefined) => (n === undefined ? undefined : String(n));
    const res = await this.call('POST', '/jobs', [200, 202], {
      query: {
        ...opts.query,
        inferenceId: opts.inferenceId,
        accept: opts.accept,
        endpoint: opts.endpoint,
        customAttributes: opts.customAttributes,
        requestTtlSeconds: num(opts.requestTtlSeconds),
        invocationTimeoutSeconds: num(opts.invocationTimeoutSeconds),
        callbackUrl: opts.callbackUrl,
        taskToken: opts.taskToken,
        priority: opts.priority,
        maxQueueSeconds: num(opts.maxQueueSeconds),
        tenant: opts.tenant,
        inputLocation: byLocation ? input.inputLocation : undefined,
      },
      body: byLocation ? undefined : typeof input === 'string' ? encoder.encode(input) : input,
      headers: { 'content-type': opts.contentType ?? 'application/octet-stream' },
    });
    return { job: this.json<JobRecord>(res, 'POST /jobs'), created: res.status === 202 };
  }

  /**
   * GET /jobs/{id}; with `waitSeconds` (0..20) the API holds the answer until the job is terminal
   * or that time has passed.
   */
  async get(id: string, opts: { waitSeconds?: number } = {}): Promise<JobRecord> {
    const query = opts.waitSeconds === undefined ? undefined : { wait: String(opts.waitSeconds) };
    const res = await this.call('GET', idPath(id), [200], { query });
    return this.json<JobRecord>(res, 'GET /jobs/{id}');
  }

  /**
   * The job once it is COMPLETED or FAILED: one plain read, then long-polls of at most 20 s each.
   * After `timeoutMs` an AsyncJobsError with code `timeout` carrying the last record read.
   */
  async wait(id: string, opts: WaitOptions = {}): Promise<JobRecord> {
    const timeoutMs = opts.timeoutMs ?? Number.POSITIVE_INFINITY;
    const started = this.now();
    let fallback = FALLBACK_MS.first;
    // The first read answers at once, so a caller learns the job's state (queued, waiting for
    // capacity) without waiting 20 s for it; the long-polls follow.
    let waitSeconds: number | undefined;
    for (;;) {
      const asked = this.now();
      const job = await this.get(id, { waitSeconds });
      if (isTerminal(job.status)) return job;
      const elapsed = this.now() - started;
      opts.onPoll?.(job, elapsed);
      if (elapsed >= timeoutMs) {
        throw new AsyncJobsError(
          `job ${id} still ${job.status} after ${Math.round(elapsed)} ms`,
          0,
          'timeout',
          job,
        );
      }
      // A long-poll answered well before its time, still unfinished: the API did not wait.
      if (
        waitSeconds !== undefined &&
        (waitSeconds === 0 || this.now() - asked < waitSeconds * 1000 - 500)
      ) {
        await this.sleep(Math.min(fallback, timeoutMs - elapsed));
        fallback = Math.min(fallback * FALLBACK_MS.factor, FALLBACK_MS.max);
      }
      const left = timeoutMs - (this.now() - started);
      waitSeconds = Math.max(0, Math.min(MAX_WAIT_SECONDS, Math.floor(left / 1000)));
    }
  }

  /**
   * GET /jobs/{id}/result: the output's bytes, followed to the presigned S3 URL for a large one
   * (unsigned: the URL is the grant).
   */
  async result(id: string): Promise<ResultBytes> {
    const res = await this.call('GET', `${idPath(id)}/result`, [200, 302]);
    let bytes = res.body;
    let contentType = res.headers.get('content-type') ?? undefined;
    if (res.status === 302) {
      const location = res.headers.get('location');
      if (!location)
        throw new AsyncJobsError('the result redirect has no location', 302, 'invalid-answer');
      let download;
      try {
        download = await fetchWithin(location, {}, this.http.timeoutMs);
      } catch (err) {
        throw new AsyncJobsError(
          isNoAnswer(err)
            ? `the result download did not answer within ${this.http.timeoutMs / 1000} s (request timeout)`
            : `cannot download the result (${(err as Error).message})`,
          0,
          'unreachable',
        );
      }
      if (download.status < 200 || download.status > 299) {
        throw new AsyncJobsError(
          `the result download failed (HTTP ${download.status})`,
          download.status,
          'http',
        );
      }
      bytes = download.body;
      contentType = download.headers.get('content-type') ?? undefined;
    }
    return { bytes, contentType, text: () => decoder.decode(bytes) };
  }

  /**
   * Where GET /jobs/{id}/result is: a link a browser can follow, the redirect to S3 included
   * (a page's fetch cannot read that redirect's target).
   */
  resultUrl(id: string): string {
    return new URL(`${idPath(id).slice(1)}/result`, this.http.base).href;
  }

  /** `submit`, then `wait` for the job's end. */
  async submitAndWait(
    input: string | Uint8Array | { inputLocation: string },
    opts: SubmitOptions & WaitOptions = {},
  ): Promise<JobRecord> {
    const { job } = await this.submit(input, opts);
    return isTerminal(job.status) ? job : this.wait(job.inferenceId, opts);
  }

  /**
   * POST /jobs/{id}/retry: a new attempt of a FAILED, CANCELLED or EXPIRED job (`<id>.2`, `.3`,
   * ...), its record (`retryOf`, `attempt`). A 409 when the job (its latest attempt) is
   * IN_PROGRESS or COMPLETED (`isRetryable`).
   */
  async retry(id: string): Promise<JobRecord> {
    const res = await this.call('POST', `${idPath(id)}/retry`, [202]);
    return this.json<JobRecord>(res, 'POST /jobs/{id}/retry');
  }

  /**
   * POST /jobs/{id}/cancel: a waiting job ends CANCELLED at once (`cancelled: true`); one already
   * handed to SageMaker is marked `cancelRequested` and ends CANCELLED when SageMaker answers
   * (`cancelled: false`). A 409 when the job ended otherwise (COMPLETED, FAILED, EXPIRED).
   */
  async cancelJob(id: string): Promise<{ job: JobRecord; cancelled: boolean }> {
    const res = await this.call('POST', `${idPath(id)}/cancel`, [200, 202]);
    return {
      job: this.json<JobRecord>(res, 'POST /jobs/{id}/cancel'),
      cancelled: res.status === 200,
    };
  }

  /** POST /batches/{batchId}/cancel: every job of the batch, and the lines not submitted yet. */
  async cancelBatch(batchId: string): Promise<BatchRecord> {
    const res = await this.call('POST', `/batches/${encodeURIComponent(batchId)}/cancel`, [202]);
    return this.json<BatchRecord>(res, 'POST /batches/{batchId}/cancel');
  }

  /** GET /queue: per endpoint, the depth and oldest age of each lane, in flight, the window. */
  async getQueue(): Promise<QueueView> {
    const res = await this.call('GET', '/queue', [200]);
    return this.json<QueueView>(res, 'GET /queue');
  }

  /**
   * GET /activity?minutes=: endings per minute and submit-to-result p50/p99 (1..180 minutes),
   * summed over the stack's endpoints, or of `endpoint` alone.
   */
  async getActivity(opts: { minutes?: number; endpoint?: string } = {}): Promise<ActivityView> {
    const res = await this.call('GET', '/activity', [200], {
      query: {
        minutes: opts.minutes === undefined ? undefined : String(opts.minutes),
        endpoint: opts.endpoint,
      },
    });
    return this.json<ActivityView>(res, 'GET /activity');
  }

  /** GET /jobs?status=: a page of jobs in one status, newest first. */
  async list(opts: { status: JobStatus; limit?: number; next?: string }): Promise<JobPage> {
    const res = await this.call('GET', '/jobs', [200], {
      query: {
        status: opts.status,
        limit: opts.limit === undefined ? undefined : String(opts.limit),
        next: opts.next,
      },
    });
    return this.json<JobPage>(res, 'GET /jobs');
  }

  /**
   * POST /batches: one job per line, submitted in the background at a pace SageMaker accepts
   * (docs/batches.md); `{ prefix }` takes every object under an S3 prefix instead. Answers at once.
   */
  async submitBatch(
    lines: BatchLine[] | { prefix: string },
    opts: { callbackUrl?: string; endpoint?: string } = {},
  ): Promise<BatchRecord> {
    const byPrefix = !Array.isArray(lines);
    const res = await this.call('POST', '/batches', [202], {
      query: {
        prefix: byPrefix ? lines.prefix : undefined,
        callbackUrl: opts.callbackUrl,
        endpoint: opts.endpoint,
      },
      body: byPrefix
        ? undefined
        : encoder.encode(lines.map((l) => `${JSON.stringify(l)}\n`).join('')),
      headers: byPrefix ? undefined : { 'content-type': 'application/x-ndjson' },
    });
    return this.json<BatchRecord>(res, 'POST /batches');
  }

  /** GET /batches/{batchId}. */
  async batch(batchId: string): Promise<BatchRecord> {
    const res = await this.call('GET', `/batches/${encodeURIComponent(batchId)}`, [200]);
    return this.json<BatchRecord>(res, 'GET /batches/{batchId}');
  }

  /** GET /jobs?batchId=: a page of a batch's jobs, in manifest order. */
  async batchJobs(batchId: string, opts: { limit?: number; next?: string } = {}): Promise<JobPage> {
    const res = await this.call('GET', '/jobs', [200], {
      query: {
        batchId,
        limit: opts.limit === undefined ? undefined : String(opts.limit),
        next: opts.next,
      },
    });
    return this.json<JobPage>(res, 'GET /jobs?batchId=');
  }

  /** POST /uploads: a presigned PUT URL for an input too large for POST /jobs (docs/uploads.md). */
  async createUpload(opts: {
    contentType: string;
    contentLength: number;
    checksumSha256?: string;
  }): Promise<Upload> {
    const res = await this.call('POST', '/uploads', [201], {
      query: {
        contentType: opts.contentType,
        contentLength: String(opts.contentLength),
        checksumSha256: opts.checksumSha256,
      },
    });
    return this.json<Upload>(res, 'POST /uploads');
  }
}

export function isTerminal(status: JobStatus): boolean {
  return status !== 'IN_PROGRESS';
}

const RETRYABLE: Record<RetryableStatus, true> = { FAILED: true, CANCELLED: true, EXPIRED: true };

/** Whether POST /jobs/{id}/retry takes a job whose latest attempt has this status. */
export function isRetryable(status: JobStatus): status is RetryableStatus {
  return Object.hasOwn(RETRYABLE, status);
}
