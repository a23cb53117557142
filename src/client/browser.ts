import { JobsClient, type ClientOptions } from './core.ts';
import { FetchTransport } from './http.ts';

/*
 * The client in a browser (the console's page): plain fetch to the page's own origin, which
 * serves the API's routes (the sandbox) or forwards them signed (`async-jobs console`). No
 * node: module, no Buffer, no credentials: a test bundles this for the browser and holds it so.
 */

export { JobsClient, MAX_WAIT_SECONDS, isRetryable, isTerminal, type ResultBytes } from './core.ts';
export { AsyncJobsError, type AsyncJobsErrorCode } from './errors.ts';
export { FetchTransport, type HttpResponse, type HttpTransport } from './http.ts';
export type * from './types.ts';

/** A client of the API at `apiUrl` (the page passes its own origin), unsigned. */
export function browserClient(apiUrl: string, opts: ClientOptions = {}): JobsClient {
  return new JobsClient(new FetchTransport(apiUrl, opts.requestTimeoutMs), opts);
}
