import type { JobRecord, QueueLane } from '../lib/domain/wire.ts';

/*
 * The client's own types; the API's bodies are the server's (src/lib/domain/wire.ts, types only
 * and importing nothing), re-exported under the names the client has always given them, so a
 * consumer of the client loads none of the server's code.
 */
export type {
  ActivityMinute,
  ActivityView,
  BatchCounts,
  BatchLine,
  BatchRecord,
  BatchState,
  JobPage,
  JobRecord,
  JobStatus,
  EndpointQueue,
  JobQueuePosition,
  ListedJob,
  QueueLane,
  QueueView,
  ResultEncoding,
  RetryableStatus,
  TaskCallback,
  TaskCallbackStatus,
  Upload,
} from '../lib/domain/wire.ts';

export interface SubmitOptions {
  /** The input's media type, passed to the model as ContentType (default application/octet-stream). */
  contentType?: string;
  inferenceId?: string;
  accept?: string;
  endpoint?: string;
  customAttributes?: string;
  requestTtlSeconds?: number;
  invocationTimeoutSeconds?: number;
  callbackUrl?: string;
  /** A Step Functions task token: the final outcome is sent back with SendTaskSuccess/Failure. */
  taskToken?: string;
  /** The job's lane in the stack's own queue (admission on; docs/queue.md); normal by default. */
  priority?: QueueLane;
  /** How long it may wait before SageMaker has it (10..21600, default 600); then EXPIRED. */
  maxQueueSeconds?: number;
  /** Whose share of the window it takes (not in owner mode, where the owner is the tenant). */
  tenant?: string;
  /** Further query parameters of POST /jobs, passed as given. */
  query?: Record<string, string | undefined>;
}

export interface Submitted {
  job: JobRecord;
  /** false when the inferenceId was already known (200): the existing job, not invoked again. */
  created: boolean;
}

export interface WaitOptions {
  /** How long to wait in all (default: no limit); on expiry an AsyncJobsError `timeout`. */
  timeoutMs?: number;
  /** Called with each non-terminal record read, and the ms since the wait began. */
  onPoll?: (job: JobRecord, elapsedMs: number) => void;
}
