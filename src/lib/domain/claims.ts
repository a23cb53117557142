import { Unavailable } from './errors.ts';
import type { Job } from './jobs.ts';

/*
 * Claims and their leases (docs/reliability.md, "Submit: claims, leases and takeovers"). A submit
 * claims its id before it uploads or invokes; the claim carries a token and a lease end no
 * earlier than the moment the submitting Lambda invocation must have ended. A claim never queued
 * with SageMaker (no outputLocation) whose lease is over was left by a submit that is gone: the
 * next submit of the id takes it over. While the lease runs, that submit may still be invoking,
 * so a retry is told to come back when it ends.
 */

/** Lambda ends every invocation by its timeout, at most 15 minutes (Lambda quotas). */
export const LAMBDA_MAX_TIMEOUT_MS = 900_000;

/**
 * Added to the submitting invocation's deadline. A lease is written by one host's clock and
 * read by another's (Lambda hosts keep to Amazon Time Sync, well under a second apart), and a
 * request sent just before the deadline is still applied by SageMaker a moment after it.
 */
export const LEASE_MARGIN_MS = 5_000;

/**
 * Kept back at the end of an invocation: an upload or invoke still running this close to the
 * deadline is cut, so the submit can release its claim and answer instead of being killed.
 */
export const CALL_RESERVE_MS = 2_000;

/** No upload or invoke starts with less than this left before the cut: it could not finish. */
export const MIN_CALL_MS = 1_000;

/** The lease end of a claim made at `now` by an invocation with `remainingMs` to live. */
export function leaseUntil(now: Date, remainingMs: number): string {
  return new Date(now.getTime() + Math.max(0, remainingMs) + LEASE_MARGIN_MS).toISOString();
}

/**
 * A claim no submit got as far as queueing: IN_PROGRESS, no output location, not admitted to the
 * project's own queue. Only records a
 * submit claimed carry a claim token; anything else (a record of a job queued elsewhere) is
 * never taken for one.
 */
export function isUnqueuedClaim(job: Job): boolean {
  return (
    job.status === 'IN_PROGRESS' &&
    !job.outputLocation &&
    job.claimToken !== undefined &&
    // In its lane (queue control): handed on by its submit, it waits for the dispatcher; a retry
    // of the id answers it, and reconcile leaves it to its queue deadline.
    job.enqueuedAt === undefined
  );
}

/**
 * Milliseconds left of a claim's lease at `now` (0 or less: over). A claim written before leases
 * existed holds until its submit plus the longest any invocation can live.
 */
export function leaseLeftMs(job: Job, now: Date): number {
  const end = job.leaseUntil
    ? Date.parse(job.leaseUntil)
    : Date.parse(job.submittedAt ?? '') + LAMBDA_MAX_TIMEOUT_MS + LEASE_MARGIN_MS;
  // An unreadable time cannot prove the submit gone: treat the lease as running in full.
  if (!Number.isFinite(end)) return LAMBDA_MAX_TIMEOUT_MS + LEASE_MARGIN_MS;
  return end - now.getTime();
}

/**
 * 503: the id's claim is held by a submit that may still be running; retry when its lease ends.
 * An Unavailable by class and name: a state machine's Retry on `Unavailable`
 * (docs/step-functions.md) and a batch line's back-off take it as they take any outage.
 */
export function submitInProgress(inferenceId: string, leftMs: number): Unavailable {
  const seconds = Math.max(1, Math.ceil(leftMs / 1000));
  return new Unavailable(
    `a submit with inferenceId ${inferenceId} is still running; retry with the same inferenceId in ${seconds} s`,
    seconds,
  );
}
