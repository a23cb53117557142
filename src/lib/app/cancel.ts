import type { Config } from '../config.ts';
import { BATCH_ID, lineInferenceId } from '../domain/batches.ts';
import { Conflict, NotFound } from '../domain/errors.ts';
import { expiresAt, isWaiting, type Job, type Outcome } from '../domain/jobs.ts';
import { logger } from '../adapters/logger.ts';
import { endJob, type EndingDeps } from './ending.ts';
import type { AdmissionJobs } from './ports/admission.ts';
import type { BatchRepository } from './ports/batch-repository.ts';

/*
 * POST /jobs/{id}/cancel and POST /batches/{id}/cancel (docs/queue.md). Only what has not reached
 * SageMaker can be cancelled for free: a waiting job ends CANCELLED at once and never reaches the
 * model; one already handed to SageMaker is marked cancel-requested, and its ending (the
 * notification, or reconcile) becomes CANCELLED with its result dropped. SageMaker has no cancel
 * call, so that job still runs to its end on the instance.
 */

export interface CancelDeps extends EndingDeps {
  config: Pick<Config, 'autoRetry' | 'jobTtlDays'>;
  jobs: AdmissionJobs;
}

/**
 * `cancelled`: the job ended CANCELLED now (200); `requested`: it is in flight and will end
 * CANCELLED (202); `already`: it was CANCELLED before (200, idempotent).
 */
export interface CancelAnswer {
  outcome: 'cancelled' | 'requested' | 'already';
  job: Job;
}

/** A job that is COMPLETED, FAILED or EXPIRED cannot be cancelled (409). */
export class NotCancellable extends Conflict {
  override readonly name = 'NotCancellable';
}

export function cancelledOutcome(job: Job, now: Date, jobTtlDays: number): Outcome {
  return {
    status: 'CANCELLED',
    from: 'waiting',
    endpointName: job.endpointName ?? 'unknown',
    completedAt: now.toISOString(),
    expiresAt: job.expiresAt ?? expiresAt(now, jobTtlDays),
    failureReason: 'cancelled (POST /jobs/{inferenceId}/cancel) before it reached SageMaker',
  };
}

function terminalAnswer(job: Job): CancelAnswer {
  if (job.status === 'CANCELLED') return { outcome: 'already', job };
  throw new NotCancellable(
    `job ${job.inferenceId} is ${job.status}: only an unfinished job can be cancelled`,
    job.inferenceId,
  );
}

/**
 * Cancels one job. Each branch is one conditional write deciding its race (a dispatch, a
 * notification or another cancel): the loser reads the record again and takes the branch it is
 * in now. Three rounds cover every interleaving (waiting -> dispatched -> requeued).
 */
export async function cancelJob(
  req: { inferenceId: string; owner?: string },
  deps: CancelDeps,
): Promise<CancelAnswer> {
  const { inferenceId } = req;
  let job = await deps.store.get(inferenceId);
  if (!job || (req.owner !== undefined && job.owner !== req.owner)) {
    throw new NotFound(`no job ${inferenceId}`);
  }
  for (let round = 0; round < 3 && job; round++) {
    if (job.status !== 'IN_PROGRESS') return terminalAnswer(job);
    const now = deps.now?.() ?? new Date();
    if (isWaiting(job)) {
      const ended = await endJob(
        inferenceId,
        { outcome: cancelledOutcome(job, now, deps.config.jobTtlDays), endedBy: 'cancel' },
        deps,
      );
      if (ended.applied && ended.job) return { outcome: 'cancelled', job: ended.job };
    } else if (job.cancelRequested) {
      // Asked before: the same answer again (its ending will be CANCELLED).
      return { outcome: 'requested', job };
    } else {
      const asked = await deps.jobs.requestCancel(inferenceId, now.toISOString());
      if (asked.requested && asked.job) {
        logger.info('cancel requested', { inferenceId });
        return { outcome: 'requested', job: asked.job };
      }
    }
    job = await deps.store.get(inferenceId);
  }
  if (!job) throw new NotFound(`no job ${inferenceId}`);
  if (job.status !== 'IN_PROGRESS') return terminalAnswer(job);
  // Still moving after three rounds (a dispatcher and a requeue racing it): the caller retries.
  throw new Conflict(`job ${inferenceId} changed while it was cancelled; retry`, inferenceId);
}

export interface BatchCancelDeps extends CancelDeps {
  /** The batch's counts (its jobs' endings count their lines) and its header. */
  batches: NonNullable<CancelDeps['batches']> & { batches: BatchRepository };
}

export interface BatchCancelAnswer {
  batchId: string;
  cancelledAt: string;
  /** Jobs of the batch ended CANCELLED now, marked cancel-requested, or already ended. */
  cancelled: number;
  requested: number;
  ended: number;
}

/** Jobs cancelled at once: each is a read and a conditional write. */
const BATCH_CANCEL_CONCURRENCY = 16;

/**
 * Cancels a batch: its header is marked first, so the worker submits no further line (each is
 * counted cancelled), then every job of it already submitted and not ended is cancelled.
 * Idempotent: a repeat cancels what is left and finds the rest ended.
 */
export async function cancelBatch(
  req: { batchId: string; owner?: string },
  deps: BatchCancelDeps,
): Promise<BatchCancelAnswer> {
  const { batchId } = req;
  if (!BATCH_ID.test(batchId)) throw new NotFound('no such batch');
  const repo = deps.batches.batches;
  const found = await repo.header(batchId);
  if (!found || (req.owner !== undefined && found.owner !== req.owner)) {
    throw new NotFound('no such batch');
  }
  const header = await repo.markCancelled(batchId, (deps.now?.() ?? new Date()).toISOString());
  if (!header) throw new NotFound('no such batch');
  const count = header.blocks ?? header.cursor ?? 0;
  const blocks = await repo.blocks(batchId, count);
  const ids: string[] = [];
  for (let b = 0; b < blocks.length; b++) {
    const block = blocks[b]!;
    const ended = new Set([
      ...block.completed,
      ...block.failed,
      ...block.cancelled,
      ...block.expired,
      ...block.refused,
    ]);
    const given = await repo.ids(batchId, b);
    for (const line of block.submitted) {
      if (!ended.has(line)) ids.push(lineInferenceId(batchId, line, given[String(line)]));
    }
  }
  const answer: BatchCancelAnswer = {
    batchId,
    cancelledAt: header.cancelledAt as string,
    cancelled: 0,
    requested: 0,
    ended: 0,
  };
  for (let i = 0; i < ids.length; i += BATCH_CANCEL_CONCURRENCY) {
    await Promise.all(
      ids.slice(i, i + BATCH_CANCEL_CONCURRENCY).map(async (inferenceId) => {
        try {
          const { outcome } = await cancelJob({ inferenceId }, deps);
          if (outcome === 'cancelled') answer.cancelled++;
          else if (outcome === 'requested') answer.requested++;
          else answer.ended++;
        } catch (err) {
          if (!(err instanceof Conflict) && !(err instanceof NotFound)) throw err;
          answer.ended++;
        }
      }),
    );
  }
  logger.info('batch cancelled', { ...answer });
  return answer;
}
