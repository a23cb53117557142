/*
 * The wire types of the job API (docs/api.md), declared here rather than imported from src/lib so
 * that a consumer of the client loads none of the server's code.
 */

export type JobStatus = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

/** The body of GET /jobs/{inferenceId}: the public job record. Newer APIs may add fields. */
export interface JobRecord {
  inferenceId: string;
  status: JobStatus;
  endpointName?: string;
  inputLocation?: string;
  outputLocation?: string;
  failureLocation?: string;
  failureReason?: string;
  inputContentType?: string;
  outputContentType?: string;
  /** The output itself when small enough (see resultEncoding); else use `result(id)`. */
  result?: string;
  resultEncoding?: 'utf8' | 'base64';
  resultBytes?: number;
  submittedAt?: string;
  completedAt?: string;
  expectedBy?: string;
  callbackUrl?: string;
  /** A retry (POST /jobs/{id}/retry): the original's id and this attempt's number (2, 3, ...). */
  retryOf?: string;
  attempt?: number;
  /** On an original once retried: how many attempts exist, and the id of the latest. */
  attempts?: number;
  retriedBy?: string;
  /**
   * Only while the job is queued and its endpoint has no instance in service (scale from zero);
   * only the sandbox answers it (docs/api.md).
   */
  waitingForCapacity?: true;
  /** Submitted with a Step Functions task token: where its callback stands (the token is never returned). */
  taskCallback?: {
    status: 'PENDING' | 'SENT' | 'EXPIRED' | 'INVALID';
    at: string;
    detail?: string;
  };
  /** A line of a batch (POST /batches): the batch and the line's number in its manifest. */
  batchId?: string;
  batchLine?: number;
}

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

export interface JobResult {
  bytes: Buffer;
  contentType?: string;
  text(): string;
}

export interface JobPage {
  jobs: JobRecord[];
  /** The token of the next page, for `list({ next })`. */
  next?: string;
}

export interface Upload {
  uploadUrl: string;
  inputLocation: string;
  /** The headers the PUT to uploadUrl must carry (it was signed with them). */
  headers: Record<string, string>;
}

/** One line of a batch manifest (POST /batches): an input in S3, or a small inline body. */
export type BatchLine = (
  { input: string; body?: never } | { body: string; encoding?: 'base64'; input?: never }
) & {
  inferenceId?: string;
  contentType?: string;
  customAttributes?: string;
  taskToken?: string;
};

/** GET /batches/{batchId}: counts, progress and, once COMPLETED, the output manifest. */
export interface BatchRecord {
  batchId: string;
  state: 'EXPANDING' | 'IN_PROGRESS' | 'COMPLETED';
  counts: {
    expected?: number;
    submitted: number;
    inProgress: number;
    completed: number;
    failed: number;
    refused: number;
    pending?: number;
  };
  progress?: number;
  createdAt: string;
  expandedAt?: string;
  finishedAt?: string;
  callbackUrl?: string;
  manifestLocation?: string;
  manifestUrl?: string;
}
