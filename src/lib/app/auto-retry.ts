import type { Config } from '../config.ts';
import { BadRequest, NotFound } from '../domain/errors.ts';
import type { Job } from '../domain/jobs.ts';
import { attemptOf, retryDelaySeconds, willAutoRetry, type RetryMessage } from '../domain/retry.ts';
import { logger } from '../adapters/logger.ts';
import type { RetryQueue } from './ports/retry-queue.ts';
import type { SubmitDeps } from './submit.ts';
import { RetryConflict, retryJob } from './retry.ts';

/*
 * Automatic retries (AUTO_RETRY_*): a JobFailed the policy retries waits in the retry queue for
 * its backoff, then is retried like POST /jobs/{id}/retry, but only while the failed attempt is
 * still the latest: a duplicate event, a redelivered message or a manual retry in between make
 * it a no-op.
 */

export interface ScheduleDeps {
  config: Config;
  /** The retry queue (RETRY_QUEUE_URL); absent when none is configured. */
  retries?: RetryQueue;
}

/**
 * JobFailed: when the policy retries this failure, the retry waits in the queue for its backoff
 * (SQS DelaySeconds: no Lambda sleeps). Answers the delay, or undefined when none follows.
 */
export async function scheduleRetry(
  failed: Pick<Job, 'inferenceId' | 'status' | 'attempt' | 'failureReason'>,
  deps: ScheduleDeps,
): Promise<number | undefined> {
  const policy = deps.config.autoRetry;
  if (!policy || !willAutoRetry(failed, policy)) return undefined;
  if (!deps.retries) {
    throw new Error('automatic retries are on but RETRY_QUEUE_URL is not set');
  }
  const attempt = attemptOf(failed);
  const delay = retryDelaySeconds(attempt, policy.baseDelaySeconds);
  const message: RetryMessage = { inferenceId: failed.inferenceId, attempt };
  await deps.retries.schedule(message, delay);
  logger.info('retry scheduled', { inferenceId: failed.inferenceId, attempt, delay });
  return delay;
}

/** The queued retry, due: a no-op when the attempt was retried meanwhile (or the message repeats). */
export async function runScheduledRetry(
  message: RetryMessage,
  deps: SubmitDeps,
): Promise<Job | undefined> {
  try {
    return await retryJob(
      { inferenceId: message.inferenceId, ifLatestAttempt: message.attempt },
      deps,
    );
  } catch (err) {
    if (err instanceof RetryConflict || err instanceof BadRequest || err instanceof NotFound) {
      logger.info('scheduled retry skipped', {
        inferenceId: message.inferenceId,
        reason: err.message,
      });
      return undefined;
    }
    throw err;
  }
}
