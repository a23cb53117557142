import type { Job } from './jobs.ts';
import type { JobStatus, RetryableStatus } from './wire.ts';

/*
 * Retrying a failed job: every attempt is a job of its own, `<base>.<n>` (n >= 2), made from the
 * original's input and parameters; the original (attempt 1) keeps the count of attempts and a
 * pointer to the latest. Pure: the ids, the policy of automatic retries and their backoff.
 */

/**
 * SageMaker's InferenceId: 1 to 64 characters (InvokeEndpointAsync API reference,
 * https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpointAsync.html).
 * An attempt's id must stay within it, and within CLIENT_INFERENCE_ID (jobs.ts), which allows `.`.
 */
export const MAX_INFERENCE_ID_LENGTH = 64;

/** SQS's largest per-message DelaySeconds: 900 s (SendMessage API reference). */
export const MAX_RETRY_DELAY_SECONDS = 900;

/**
 * What is worth retrying by default: the container answered 5xx (a crash, an out-of-memory, an
 * overloaded model server) or SageMaker reported a model error, throttling or missing capacity.
 * Client errors (4xx: the input is wrong), an expired request and an unreadable input fail the
 * same way again, and are not retried.
 */
export const DEFAULT_AUTO_RETRY_ON =
  'server error \\(5[0-9][0-9]\\)|ModelError|ServiceUnavailable|Throttl|InsufficientCapacity';

export interface AutoRetryPolicy {
  /** Attempts a job may take in all, counting the first; 0 or 1: no automatic retry. */
  maxAttempts: number;
  /** Matched against `failureReason`. */
  on: RegExp;
  /** The delay before the 2nd attempt; doubled for each further one, at most 900 s. */
  baseDelaySeconds: number;
}

/**
 * The endings `POST /jobs/{id}/retry` makes a new attempt of (RetryableStatus): a failure, and
 * the two queue control endings (docs/queue.md) a caller may want to run after all: an expired
 * job (it never reached the model in time) and a cancelled one (resubmitted deliberately). A
 * COMPLETED job has its result; one IN_PROGRESS may still get it.
 */
const RETRYABLE: Record<RetryableStatus, true> = { FAILED: true, CANCELLED: true, EXPIRED: true };

export function isRetryable(status: JobStatus): status is RetryableStatus {
  return Object.hasOwn(RETRYABLE, status);
}

/** The attempt number of a record: originals have none stored and are attempt 1. */
export function attemptOf(job: Pick<Job, 'attempt'>): number {
  return job.attempt ?? 1;
}

/** The original's id, for any attempt of it. */
export function baseIdOf(job: Pick<Job, 'inferenceId' | 'retryOf'>): string {
  return job.retryOf ?? job.inferenceId;
}

/** The id of attempt `n` of `base`: the base itself for the first. */
export function attemptId(base: string, n: number): string {
  return n <= 1 ? base : `${base}.${n}`;
}

/** Whether an automatic retry follows this failed attempt. */
export function willAutoRetry(
  job: Pick<Job, 'status' | 'attempt' | 'failureReason'>,
  policy: AutoRetryPolicy | undefined,
): boolean {
  if (!policy || job.status !== 'FAILED') return false;
  if (attemptOf(job) >= policy.maxAttempts) return false;
  return policy.on.test(job.failureReason ?? '');
}

/** Exponential backoff: base, 2 x base, 4 x base, ... before attempts 2, 3, 4, ..., capped. */
export function retryDelaySeconds(failedAttempt: number, baseDelaySeconds: number): number {
  const delay = baseDelaySeconds * 2 ** Math.max(0, failedAttempt - 1);
  return Math.min(MAX_RETRY_DELAY_SECONDS, Math.round(delay));
}

/** What the outcome event and the webhook say about attempts. */
export function attemptFields(
  job: Pick<Job, 'status' | 'attempt' | 'failureReason'>,
  policy: AutoRetryPolicy | undefined,
): { attempt: number; finalAttempt: boolean } {
  return { attempt: attemptOf(job), finalAttempt: !willAutoRetry(job, policy) };
}

/** The message an automatic retry waits in the queue as: which attempt failed. */
export interface RetryMessage {
  inferenceId: string;
  attempt: number;
}

export function parseRetryMessage(body: string): RetryMessage | undefined {
  try {
    const m = JSON.parse(body) as Partial<RetryMessage>;
    if (typeof m.inferenceId !== 'string' || !m.inferenceId) return undefined;
    if (typeof m.attempt !== 'number' || !Number.isInteger(m.attempt) || m.attempt < 1) {
      return undefined;
    }
    return { inferenceId: m.inferenceId, attempt: m.attempt };
  } catch {
    return undefined;
  }
}
