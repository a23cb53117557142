import { logger } from '../adapters/logger.ts';
import { awsErrorName } from '../domain/errors.ts';
import { publicView } from '../domain/jobs.ts';
import { failureOf, refusal, successOutput, type TaskCallback } from '../domain/task-callback.ts';
import type { Clock } from './ports/clock.ts';
import type { JobRepository } from './ports/job-repository.ts';
import type { TaskCallbacks } from './ports/task-callbacks.ts';

export interface TaskCallbackDeps {
  store: JobRepository;
  callbacks: TaskCallbacks;
  now?: Clock;
}

export type TaskCallbackAnswer = 'sent' | 'expired' | 'invalid' | 'skipped';

/**
 * The outcome of a finished job, reported to the Step Functions task waiting on its token. Runs
 * on each delivery of the outcome event (at least once): a callback already settled is skipped;
 * a token Step Functions refuses for good is recorded (EXPIRED/INVALID) and not retried; any other
 * error is thrown, so Lambda retries the event and finally sends it to the DLQ.
 */
export async function sendTaskResult(
  inferenceId: string,
  deps: TaskCallbackDeps,
): Promise<TaskCallbackAnswer> {
  const job = await deps.store.get(inferenceId);
  if (!job?.taskToken || job.taskCallback?.status !== 'PENDING' || job.status === 'IN_PROGRESS') {
    logger.info('task callback skipped', {
      inferenceId,
      callback: job?.taskCallback?.status ?? 'none',
    });
    return 'skipped';
  }
  const call = job.status === 'COMPLETED' ? 'SendTaskSuccess' : 'SendTaskFailure';
  let settled: TaskCallback;
  try {
    if (job.status === 'COMPLETED') {
      // The record as the task's output; its callback status is this very call, so left out.
      const { taskCallback: _callback, ...record } = publicView(job);
      await deps.callbacks.success(job.taskToken, successOutput(record));
    } else {
      const { error, cause } = failureOf(job.failureReason, job.status);
      await deps.callbacks.failure(job.taskToken, error, cause);
    }
    settled = { status: 'SENT', at: now(deps), detail: call };
  } catch (err) {
    const name = awsErrorName(err);
    const status = refusal(name);
    if (!status) {
      logger.warn('task callback failed; the event is retried', { inferenceId, call, error: name });
      throw err;
    }
    settled = { status, at: now(deps), detail: name };
  }
  await deps.store.settleCallback(inferenceId, settled);
  logger.info('task callback settled', { inferenceId, call, callback: settled.status });
  return settled.status === 'SENT' ? 'sent' : settled.status === 'EXPIRED' ? 'expired' : 'invalid';
}

function now(deps: TaskCallbackDeps): string {
  return (deps.now?.() ?? new Date()).toISOString();
}
