import type { BatchView } from '../domain/batches.ts';
import { publicView, type Job, type JobStatus } from '../domain/jobs.ts';
import { attemptFields, type AutoRetryPolicy } from '../domain/retry.ts';
import { logger } from '../adapters/logger.ts';
import type { Clock } from './ports/clock.ts';
import type { EventPublisher, EventType } from './ports/event-publisher.ts';
import type { JobRepository } from './ports/job-repository.ts';

/*
 * Downstream fan-out: each terminal job is announced on the stack's bus as JobCompleted,
 * JobFailed, JobCancelled or JobExpired (the record minus the result body), so other systems react without polling. At least
 * once: the event is made of the record the transition answered, and a small marker item is
 * written only after the bus accepted it; a failure throws, the record is retried, and the retry
 * (a duplicate for the state machine, whose answer is the record as found) publishes again unless
 * the marker is there.
 */

export interface AnnounceDeps {
  store: JobRepository;
  events: EventPublisher;
  now?: Clock;
  /** Whether an automatic retry follows a failure: the event's `finalAttempt`. */
  autoRetry?: AutoRetryPolicy;
}

/** The record minus its result, with `attempt` and `finalAttempt` (no automatic retry follows). */
export function eventDetail(job: Job, autoRetry?: AutoRetryPolicy): Record<string, unknown> {
  const { result: _result, ...rest } = publicView(job);
  // What the Step Functions rule matches on: the token itself never leaves the record.
  return {
    ...rest,
    ...attemptFields(job, autoRetry),
    ...(job.taskToken ? { hasTaskToken: true } : {}),
  };
}

/** The outcome event of each terminal status (the detail-type the bus's rules match on). */
export const EVENT_TYPE: Record<Exclude<JobStatus, 'IN_PROGRESS'>, EventType> = {
  COMPLETED: 'JobCompleted',
  FAILED: 'JobFailed',
  CANCELLED: 'JobCancelled',
  EXPIRED: 'JobExpired',
};

/**
 * Publishes the outcome event of a terminal job. `fresh`: the record was just made terminal by
 * this caller, so no earlier delivery can have announced it and the marker is not read.
 */
export async function announce(
  job: Job | undefined,
  deps: AnnounceDeps,
  fresh = false,
): Promise<void> {
  if (!job || job.status === 'IN_PROGRESS') return;
  if (!fresh && (await deps.store.announced(job.inferenceId))) return;
  await deps.events.publish({
    type: EVENT_TYPE[job.status],
    detail: eventDetail(job, deps.autoRetry),
  });
  await deps.store.markAnnounced(
    job.inferenceId,
    (deps.now?.() ?? new Date()).toISOString(),
    job.expiresAt,
  );
  logger.info('outcome announced', { inferenceId: job.inferenceId, status: job.status });
}

/** BatchCompleted, with the batch's view. */
export async function announceBatch(events: EventPublisher, view: BatchView): Promise<void> {
  await events.publish({
    type: 'BatchCompleted',
    detail: view as unknown as Record<string, unknown>,
  });
}
