import { JobsClient, type ClientOptions } from './core.ts';
import { Transport, asBuffer, type RawResponse, type TransportOptions } from './transport.ts';
import type { RequestOptions } from './http.ts';

export {
  JobsClient,
  MAX_WAIT_SECONDS,
  isRetryable,
  isTerminal,
  type ClientOptions,
} from './core.ts';
export { AsyncJobsError, type AsyncJobsErrorCode } from './errors.ts';
export {
  REQUEST_TIMEOUT_MS,
  isLocal,
  type RawResponse,
  type RequestOptions,
  type TransportOptions,
} from './transport.ts';
export type * from './types.ts';

/** A job's output (GET /jobs/{id}/result), its bytes as a Buffer. */
export interface JobResult {
  bytes: Buffer;
  contentType?: string;
  text(): string;
}

/**
 * The job API from TypeScript (Node): submit, read, wait for and fetch the result of SageMaker
 * async jobs. Requests to a loopback URL go unsigned (the sandbox); with `bearerToken` they carry
 * it (apiAuth=jwt); all others are SigV4-signed with the default AWS credential chain.
 */
export class AsyncJobsClient extends JobsClient {
  /** `apiUrl`: the API's base URL, e.g. http://127.0.0.1:3000 or https://<id>.execute-api... */
  constructor(apiUrl: string, opts: ClientOptions & TransportOptions = {}) {
    super(new Transport(apiUrl, opts.requestTimeoutMs, { bearerToken: opts.bearerToken }), opts);
  }

  /** A raw request to the API (signed as the others are), for routes the client has no method for. */
  override async request(
    method: string,
    path: string,
    opts?: RequestOptions,
  ): Promise<RawResponse> {
    const res = await super.request(method, path, opts);
    return { ...res, body: asBuffer(res.body) };
  }

  /**
   * GET /jobs/{id}/result: the output's bytes, followed to the presigned S3 URL for a large one
   * (unsigned: the URL is the grant).
   */
  override async result(id: string): Promise<JobResult> {
    const { bytes, contentType } = await super.result(id);
    const buffer = asBuffer(bytes);
    return { bytes: buffer, contentType, text: () => buffer.toString('utf8') };
  }
}
