/*
 * The bodies of the job API (openapi.yaml, docs/api.md) as types, declared once for the server and
 * for the client. Types only and importing nothing: the client (src/client, published as
 * `./client`) takes them with `import type`, so a client bundle holds none of the server's code
 * and a consumer's type check reads no server module. The domain's records extend them with the
 * fields that are never answered (jobs.ts, batches.ts).
 */

/**
 * IN_PROGRESS covers a job waiting in the project's own queue (queue control, docs/queue.md) and
 * one handed to SageMaker; CANCELLED and EXPIRED (never handed to SageMaker in time) are terminal
 * like COMPLETED and FAILED.
 */
export type JobStatus = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'EXPIRED';
/** A priority lane of queue control (docs/queue.md). */
export type JobPriority = 'high' | 'normal' | 'low';
export type ResultEncoding = 'utf8' | 'base64';

/**
 * Where a job's callback stands, on the public record as `taskCallback`:
 * PENDING (the job runs), SENT (Step Functions accepted the outcome), EXPIRED (it answered
 * TaskTimedOut: the task gave up waiting), INVALID (InvalidToken or TaskDoesNotExist).
 */
export type TaskCallbackStatus = 'PENDING' | 'SENT' | 'EXPIRED' | 'INVALID';

export interface TaskCallback {
  status: TaskCallbackStatus;
  /** When the status was reached (ISO-8601). */
  at: string;
  /** SENT: which call was made; EXPIRED/INVALID: the exception Step Functions answered. */
  detail?: string;
}

/** The stored job record's public fields (the DynamoDB item without its internal ones). */
export interface PublicJob {
  inferenceId: string;
  status: JobStatus;
  endpointName?: string;
  inputLocation?: string;
  outputLocation?: string;
  failureLocation?: string;
  failureReason?: string;
  inputContentType?: string;
  outputContentType?: string;
  /** The output itself when small enough (see resultEncoding); else GET /jobs/{id}/result. */
  result?: string;
  resultEncoding?: ResultEncoding;
  resultBytes?: number;
  submittedAt?: string;
  completedAt?: string;
  /** When SageMaker must have answered: submit + RequestTTLSeconds + InvocationTimeoutSeconds. */
  expectedBy?: string;
  /** Where to POST the outcome (a signed webhook), given at submit. */
  callbackUrl?: string;
  /** A retry (POST /jobs/{id}/retry): the original's id and this attempt's number (2, 3, ...). */
  retryOf?: string;
  attempt?: number;
  /** On an original once retried: how many attempts exist, and the id of the latest. */
  attempts?: number;
  retriedBy?: string;
  /** Submitted with a Step Functions task token: where its callback stands (the token is never returned). */
  taskCallback?: TaskCallback;
  /** A line of a batch (POST /batches): the batch and the line's number in its manifest. */
  batchId?: string;
  batchLine?: number;
  /** Queue control (docs/queue.md): the lane, the tenant and how long it may wait. */
  priority?: JobPriority;
  tenant?: string;
  maxQueueSeconds?: number;
  /** After it the job is never handed to SageMaker: it ends EXPIRED (ISO-8601). */
  queueDeadline?: string;
  /** When it was handed to SageMaker (ISO-8601); absent while it waits in its lane. */
  dispatchedAt?: string;
  /** POST /jobs/{id}/cancel reached it in flight: its ending will be CANCELLED. */
  cancelRequested?: true;
}

/** Where a waiting job stands: `exact` false when the figures are lower bounds. */
export interface JobQueuePosition {
  lane: JobPriority;
  position: number;
  ahead: number;
  exact: boolean;
}

/** The body of GET /jobs/{inferenceId}: the public job record. Newer APIs may add fields. */
export interface JobRecord extends PublicJob {
  /**
   * Only while the job is queued and its endpoint has no instance in service (scale from zero);
   * only the sandbox answers it (docs/api.md).
   */
  waitingForCapacity?: true;
  /** Only while the job waits in the project's own queue (admission on, docs/queue.md). */
  queue?: JobQueuePosition;
}

/** A job in a listing: the result is left out (GET /jobs/{id} or /result has it). */
export type ListedJob = Omit<PublicJob, 'result'>;

/** GET /jobs (by status, or a batch's jobs). */
export interface JobPage {
  jobs: ListedJob[];
  /** The token of the next page; absent on the last one. */
  next?: string;
}

/** POST /uploads: where to PUT an input too large for POST /jobs, and how. */
export interface Upload {
  method: 'PUT';
  uploadUrl: string;
  /** The headers the PUT to uploadUrl must carry (it was signed with them). */
  headers: Record<string, string>;
  /** The s3:// URI to submit the job with (POST /jobs?inputLocation=). */
  inputLocation: string;
  expiresAt: string;
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

export type BatchState = 'EXPANDING' | 'IN_PROGRESS' | 'COMPLETED';

export interface BatchCounts {
  expected?: number;
  submitted: number;
  inProgress: number;
  completed: number;
  failed: number;
  cancelled: number;
  expired: number;
  refused: number;
  pending?: number;
}

/** GET /batches/{batchId} (and POST /batches): counts, progress and, once COMPLETED, the manifest. */
export interface BatchRecord {
  batchId: string;
  state: BatchState;
  counts: BatchCounts;
  /** Ended lines over expected lines, 0..1; absent while the expansion has not reached the end. */
  progress?: number;
  createdAt: string;
  expandedAt?: string;
  finishedAt?: string;
  callbackUrl?: string;
  manifestLocation?: string;
  /** Once COMPLETED, a presigned GET of the manifest (15 minutes). */
  manifestUrl?: string;
}
