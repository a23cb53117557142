import type { JobRecord } from './types.ts';

/** Why a call failed: an HTTP answer, no answer at all, no credentials, or a wait that ran out. */
export type AsyncJobsErrorCode =
  'http' | 'unreachable' | 'credentials' | 'invalid-answer' | 'timeout';

/**
 * Every failure of AsyncJobsClient. `status` is the HTTP status (0 when the API never answered),
 * `message` the API's own `{"message"}` when it sent one.
 */
export class AsyncJobsError extends Error {
  override readonly name = 'AsyncJobsError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: AsyncJobsErrorCode,
    /** For `timeout`: the last record read, still IN_PROGRESS. */
    readonly job?: JobRecord,
  ) {
    super(message);
  }
}
