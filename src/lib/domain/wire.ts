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
/**
 * What `POST /jobs/{id}/retry` makes a new attempt of (docs/api.md): the server's rule
 * (domain/retry.ts) and the client's `isRetryable` are each a record over exactly this type.
 */
export type RetryableStatus = Extract<JobStatus, 'FAILED' | 'CANCELLED' | 'EXPIRED'>;
/** A priority lane of queue control (docs/queue.md). */
export type JobPriority = QueueLane;
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
  /** Queue control (docs/queue.md): the lane, the tenant whose share it takes, its deadline. */
  priority?: QueueLane;
  tenant?: string;
  maxQueueSeconds?: number;
  /** submittedAt + maxQueueSeconds: not handed to SageMaker by then, it ends EXPIRED. */
  queueDeadline?: string;
  /** When it was handed to SageMaker (admission on). */
  dispatchedAt?: string;
  /** Cancelled after it was handed to SageMaker: it ends CANCELLED when SageMaker answers. */
  cancelRequested?: true;
}

/** The body of GET /jobs/{inferenceId}: the public job record. Newer APIs may add fields. */
export interface JobRecord extends PublicJob {
  /**
   * Only while the job is queued and its endpoint has no instance in service (scale from zero);
   * only the sandbox answers it (docs/api.md).
   */
  waitingForCapacity?: true;
  /** Only while the job waits in the stack's own queue (admission on). */
  queue?: JobQueuePosition;
}

/*
 * Queue control's bodies (docs/queue.md), defined here once: src/lib/domain/admission.ts's Lane,
 * QueuePosition and QueueSnapshot are these types.
 */
/** Strict priority lanes, most urgent first. */
export type QueueLane = 'high' | 'normal' | 'low';

/** Where a waiting job stands (GET /jobs/{id} while waiting). */
export interface JobQueuePosition {
  lane: QueueLane;
  /** 1 + the waiting jobs of its lane enqueued before it. */
  position: number;
  /** Jobs that go first: position - 1 plus the depth of the lanes ahead of it. */
  ahead: number;
  /** False when a count reached its cap (POSITION_CAP): the figures are then lower bounds. */
  exact: boolean;
}

/** One endpoint's queue as the dispatcher saw it on its last round (GET /queue). */
export interface EndpointQueue {
  endpointName: string;
  computedAt: string;
  /** When the depths were counted (every tick; a woken round once the last count is 10 s old). */
  depthCountedAt?: string;
  lanes: Record<QueueLane, { depth: number; exact: boolean; oldestAgeSeconds?: number }>;
  inFlight: number;
  inFlightByTenant: Record<string, number>;
  window: number;
  /** What the window was computed from. */
  capacity: {
    instances: number;
    perInstanceConcurrency: number;
    headroom: number;
    observedAt: string;
  };
}

/** GET /queue. */
export interface QueueView {
  admission: 'on' | 'off';
  endpoints: EndpointQueue[];
}

/** One minute of GET /activity: endings by status, submit-to-result of the COMPLETED ones. */
export interface ActivityMinute {
  /** The minute's start (UTC, ISO-8601). */
  at: string;
  completed: number;
  failed: number;
  cancelled: number;
  expired: number;
  /** Null when no job completed in the minute. */
  p50Ms: number | null;
  p99Ms: number | null;
}

/** GET /activity. */
export interface ActivityView {
  /** The endpoints summed. */
  endpoints: string[];
  /** Oldest first, one per whole minute up to the current one (which is still filling). */
  minutes: ActivityMinute[];
  /** p50Ms and p99Ms are within this fraction of the true value (the histogram's bucket width). */
  percentileError: number;
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
  /** Queue control (docs/queue.md): as POST /jobs's `priority`, `maxQueueSeconds`, `tenant`. */
  priority?: QueueLane;
  maxQueueSeconds?: number;
  tenant?: string;
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
