import { createHash } from 'node:crypto';
import { DEFAULT_TENANT, type Lane } from './admission.ts';
import type { JobStatus, PublicJob, ResultEncoding } from './wire.ts';

export type { JobStatus, PublicJob, ResultEncoding } from './wire.ts';

/** Every status, in the order listings and counts name them. */
export const JOB_STATUSES: readonly JobStatus[] = [
  'IN_PROGRESS',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'EXPIRED',
];

/**
 * The job record: the DynamoDB item. Its public fields (wire.ts) are the body of GET /jobs/{id};
 * these are never answered (publicView drops them).
 */
export interface Job extends PublicJob {
  expiresAt?: number;
  /** The index key: `<status>#<shard>` (see JOBS_INDEX); moves once, when the job finishes. */
  shardKey?: string;
  /** A random token of the submit that claimed the id, to recognise its own retried claim. */
  claimToken?: string;
  /** When the claiming submit is surely gone (src/lib/domain/claims.ts); never returned. */
  leaseUntil?: string;
  /** When getJob last looked in S3 for this unfinished job (its re-check follows the schedule). */
  checkedAt?: string;
  /** Owner mode: the caller that submitted the job (src/lib/http/owner.ts); never returned. */
  owner?: string;
  /** A Step Functions task token given at submit; a bearer capability, never returned. */
  taskToken?: string;
  /** What InvokeEndpointAsync was given besides the input, so a retry can repeat it; never returned. */
  invocation?: Invocation;
  /* Queue control (docs/queue.md, docs/store.md); the public fields are PublicJob's (wire.ts). */
  /**
   * When the job entered its lane (ISO-8601). On a claim it is the marker that the job waits:
   * the store then writes the waiting index keys in the same write (with `priority` and
   * `queueDeadline`); a claim without it never waits (admission off). Never returned.
   */
  enqueuedAt?: string;
  /** When a cancel was requested of a job handed to SageMaker; never returned. */
  cancelRequestedAt?: string;
  /** The window's slot the job holds while handed to SageMaker; never returned. */
  slot?: number;
  /** The waiting index key (WAITING_INDEX); present exactly while the job waits; never returned. */
  waitKey?: string;
  /** The waiting index sort key, kept after dispatch so a requeue restores its place; never returned. */
  waitSort?: string;
  /**
   * The by-tenant waiting index key (TENANT_WAITING_INDEX): written and removed with `waitKey`,
   * in the same writes; never returned.
   */
  tenantWaitKey?: string;
}

/** Waiting in its lane: never handed to SageMaker (or handed back by a requeue). */
export function isWaiting(job: Pick<Job, 'status' | 'waitKey'>): boolean {
  return job.status === 'IN_PROGRESS' && job.waitKey !== undefined;
}

/** The InvokeEndpointAsync parameters of a submit that a retry repeats. */
export interface Invocation {
  accept?: string;
  customAttributes?: string;
  requestTtlSeconds?: number;
  invocationTimeoutSeconds?: number;
}

/*
 * One index for the listing and for reconcile: partition key `shardKey` = `<status>#<shard>`,
 * sort key `submittedAt`, projecting only `owner` (for owner mode's filter). The shard is a hash
 * of the id, so one status's writes spread over SHARDS partition key values instead of one (about
 * 1,000 write units/s per key value, on indexes too). Only claim (insert) and the terminal
 * transition (key moves: delete + insert) write the index; markQueued, the result and getJob's
 * `checkedAt` are not projected, so they never do. IN_PROGRESS shards hold exactly the
 * unfinished jobs: reconcile reads those and nothing else.
 */
export const JOBS_INDEX = 'jobs-by-status';
/**
 * An IN_PROGRESS key takes two index writes per job (insert at claim, delete when it finishes):
 * 10,000 jobs/s is 20,000 WCU/s, ~625 per key over 32 keys, ~700 for the busiest by hash skew
 * (bench/store.ts simulates it), under the ~1,000 per key value; 16 keys would be 1,250.
 */
export const SHARDS = 32;

export function shardOf(inferenceId: string, shards = SHARDS): number {
  return createHash('sha256').update(inferenceId).digest().readUInt32BE(0) % shards;
}

export function shardKey(status: JobStatus, inferenceId: string): string {
  return `${status}#${String(shardOf(inferenceId)).padStart(2, '0')}`;
}

export function shardKeys(status: JobStatus): string[] {
  return Array.from({ length: SHARDS }, (_, i) => `${status}#${String(i).padStart(2, '0')}`);
}

/*
 * The waiting index (docs/store.md): a sparse index of the jobs table holding only the jobs
 * waiting in a lane. Partition key `waitKey` = `<endpointName>#<lane>#<shard>` (the same SHARDS
 * as the jobs index: 10,000 jobs/s into one lane is ~625 index writes/s per key, insert and
 * delete), sort key `waitSort` = `<enqueuedAt>#<inferenceId>` (the lane's order; the id breaks
 * ties), projecting `tenant` and `queueDeadline` so a dispatch round reads no record.
 */
export const WAITING_INDEX = 'jobs-waiting';

export function waitKeyOf(endpointName: string, lane: Lane, inferenceId: string): string {
  return waitKeys(endpointName, lane)[shardOf(inferenceId)] as string;
}

export function waitKeys(endpointName: string, lane: Lane): string[] {
  return Array.from(
    { length: SHARDS },
    (_, i) => `${endpointName}#${lane}#${String(i).padStart(2, '0')}`,
  );
}

/*
 * The by-tenant waiting index (docs/store.md): the same waiting jobs, keyed by tenant too, so a
 * round reads every backlogged tenant's oldest jobs, however many older ones another tenant has.
 * Partition key `tenantWaitKey` = `<endpointName>#<lane>#<tenant>#<shard>` (SHARDS per
 * tenant-lane: one tenant sending 10,000 jobs/s into one lane is ~625 index writes/s per key),
 * sort key `waitSort` (the same value), projecting `tenant` and `queueDeadline`. A job carries
 * `tenantWaitKey` exactly while it carries `waitKey`: every write that sets or removes one does
 * the other.
 */
export const TENANT_WAITING_INDEX = 'jobs-waiting-by-tenant';

export function tenantWaitKeys(endpointName: string, lane: Lane, tenant: string): string[] {
  return Array.from(
    { length: SHARDS },
    (_, i) => `${endpointName}#${lane}#${tenant}#${String(i).padStart(2, '0')}`,
  );
}

export function tenantWaitKeyOf(
  endpointName: string,
  lane: Lane,
  tenant: string,
  inferenceId: string,
): string {
  return tenantWaitKeys(endpointName, lane, tenant)[shardOf(inferenceId)] as string;
}

/** The tenant a waiting job is keyed by: its own (every admitted job has one), else default. */
export function waitingTenantOf(job: Pick<Job, 'tenant'>): string {
  return job.tenant ?? DEFAULT_TENANT;
}

/** The lane a job waits in: its own priority, else normal (the submit's default). */
export function waitingLaneOf(job: Pick<Job, 'priority'>): Lane {
  return job.priority ?? 'normal';
}

export function waitSortOf(enqueuedAt: string, inferenceId: string): string {
  return `${enqueuedAt}#${inferenceId}`;
}

/** The waiting index keys a claim is written with: only a claim marked to wait (`enqueuedAt`). */
export function waitingKeys(
  job: Job,
): { waitKey: string; waitSort: string; tenantWaitKey: string } | undefined {
  if (!job.enqueuedAt || !job.priority || !job.queueDeadline || !job.endpointName) return undefined;
  return {
    waitKey: waitKeyOf(job.endpointName, job.priority, job.inferenceId),
    waitSort: waitSortOf(job.enqueuedAt, job.inferenceId),
    tenantWaitKey: tenantWaitKeyOf(
      job.endpointName,
      job.priority,
      waitingTenantOf(job),
      job.inferenceId,
    ),
  };
}

/** Owner mode: how many index queries one listing page may take to find the caller's jobs. */
export const OWNER_PAGE_QUERIES = 5;

/** An id a client may choose: safe as an S3 key segment and a URL path segment. */
export const CLIENT_INFERENCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** SageMaker's own InferenceId limit, for jobs submitted elsewhere and looked up here. */
export const ANY_INFERENCE_ID = /^[\x21-\x7e][\x20-\x7e]{0,63}$/;

export function publicView(job: Job): PublicJob {
  const {
    expiresAt: _expiresAt,
    claimToken: _claimToken,
    leaseUntil: _leaseUntil,
    owner: _owner,
    shardKey: _shardKey,
    checkedAt: _checkedAt,
    invocation: _invocation,
    taskToken: _taskToken,
    slot: _slot,
    waitKey: _waitKey,
    waitSort: _waitSort,
    tenantWaitKey: _tenantWaitKey,
    enqueuedAt: _enqueuedAt,
    cancelRequestedAt: _cancelRequestedAt,
    ...rest
  } = job;
  return rest;
}

/** An unfinished job old enough that its notification may have been lost. */
export function isStale(job: Job, afterSeconds: number, now = new Date()): boolean {
  if (job.status !== 'IN_PROGRESS' || !job.submittedAt) return false;
  return Date.parse(job.submittedAt) + afterSeconds * 1000 <= now.getTime();
}

/**
 * When an unfinished job is looked for in S3, as multiples of RECONCILE_AFTER_SECONDS after its
 * submit (900 s: 15, 30, 45, 60 min, then 1.5, 2, 3, 4, 6, 8 h). Every 15 minutes in the first hour,
 * so a lost notification of a young job is recovered within one step plus one reconcile period;
 * then backing off, up to past the latest expectedBy SageMaker allows (6 h queue + 1 h run).
 */
export const CHECK_STEPS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32] as const;
/** RequestTTLSeconds (at most 6 h) + InvocationTimeoutSeconds (at most 1 h) + 15 min. */
const LATEST_EXPECTED_MS = (21_600 + 3_600 + 900) * 1000;

/** The schedule's check times in ms after submit; with `afterSeconds` 0, one check at 0. */
export function checkOffsets(afterSeconds: number): number[] {
  if (afterSeconds <= 0) return [0];
  const unit = afterSeconds * 1000;
  const offsets = CHECK_STEPS.map((k) => k * unit);
  // A short first check time still reaches past the latest expectedBy, 8 units apart.
  while ((offsets.at(-1) as number) < LATEST_EXPECTED_MS) {
    offsets.push((offsets.at(-1) as number) + 8 * unit);
  }
  return offsets;
}

/**
 * Whether an unfinished job is due for a look in S3 (getJob): past expectedBy always; otherwise
 * only when a check time passed since the last look (`checkedAt`), so polls of a stale job do not
 * each read S3.
 */
export function checkDue(job: Job, afterSeconds: number, now = new Date()): boolean {
  if (!isStale(job, afterSeconds, now)) return false;
  if (job.expectedBy && Date.parse(job.expectedBy) < now.getTime()) return true;
  if (!job.checkedAt) return true;
  const submitted = Date.parse(job.submittedAt as string);
  const age = now.getTime() - submitted;
  const last = checkOffsets(afterSeconds)
    .filter((o) => o <= age)
    .pop();
  return last !== undefined && Date.parse(job.checkedAt) < submitted + last;
}

/** SageMaker's defaults when a submit does not set them: 6 hours in the queue, 15 minutes to run. */
export function expectedBy(submitted: Date, ttlSeconds = 21_600, timeoutSeconds = 900): string {
  return new Date(submitted.getTime() + (ttlSeconds + timeoutSeconds) * 1000).toISOString();
}

/**
 * How long past expectedBy a job with neither output nor failure is still waited for before it is
 * failed as expired. expectedBy counts from the submit's start, before the input upload and
 * InvokeEndpointAsync (SageMaker's RequestTTLSeconds starts when it receives the request), and
 * SageMaker still writes the output after the invocation ends: a job dequeued by an instance
 * that scaled from zero at the end of its TTL may answer a little after expectedBy. Shorter than
 * the 15 minutes the check schedule reaches past the latest expectedBy, so the last check sees it.
 */
export const EXPIRY_GRACE_SECONDS = 300;

/** Whether an unfinished job's deadline (expectedBy plus the grace) has passed. */
export function pastDeadline(job: Job, now: Date): boolean {
  if (!job.expectedBy) return false;
  return Date.parse(job.expectedBy) + EXPIRY_GRACE_SECONDS * 1000 < now.getTime();
}

export function expiresAt(from: Date, ttlDays: number): number {
  return Math.floor(from.getTime() / 1000) + ttlDays * 86_400;
}

/** What a notification knows about a job; also enough to create a record it has never seen. */
export interface Outcome {
  status: Exclude<JobStatus, 'IN_PROGRESS'>;
  /**
   * Queue control's endings apply only to a record in this state: `waiting` (in its lane, never
   * handed to SageMaker: CANCELLED, EXPIRED) or `cancelRequested` (handed to SageMaker, then
   * cancelled: its ending becomes CANCELLED). Without it (a notification's or reconcile's
   * COMPLETED/FAILED) the transition applies only to a job neither waiting nor cancel-requested.
   */
  from?: 'waiting' | 'cancelRequested';
  endpointName: string;
  inputLocation?: string;
  inputContentType?: string;
  receivedAt?: string;
  completedAt: string;
  expiresAt: number;
  outputLocation?: string;
  failureLocation?: string;
  failureReason?: string;
  outputContentType?: string;
  result?: string;
  resultEncoding?: ResultEncoding;
  resultBytes?: number;
}

/** A terminal transition's answer: whether it applied, and the record after it (or as found). */
export interface Transition {
  applied: boolean;
  /** ALL_NEW when applied; ALL_OLD when not (absent where DynamoDB does not return it). */
  job?: Job;
}

/** An entry of the jobs index: the keys, plus what it projects. */
export type IndexEntry = Pick<Job, 'inferenceId' | 'submittedAt' | 'shardKey' | 'owner'>;
