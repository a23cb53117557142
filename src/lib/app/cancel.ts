import type { Config } from '../config.ts';
import { BATCH_ID, lineInferenceId } from '../domain/batches.ts';
import { Conflict, NotFound } from '../domain/errors.ts';
import { expiresAt, isWaiting, type Job, type Outcome } from '../domain/jobs.ts';
import { logger } from '../adapters/logger.ts';
import { endJob, type EndingDeps } from './ending.ts';
import type { AdmissionJobs } from './ports/admission.ts';
import type { BatchRepository } from './ports/batch-repository.ts';
import type { BatchQueue } from './ports/batch-queue.ts';
import type { Clock } from './ports/clock.ts';

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

/** POST /batches/{id}/cancel: the header marked and the work queued. */
export interface BatchCancelDeps {
  batches: { batches: BatchRepository; queue: BatchQueue };
  now?: Clock;
}

export interface BatchCancelAnswer {
  batchId: string;
  cancelledAt: string;
  /** Blocks whose jobs the batch worker cancels (one queued message each). */
  blocks: number;
}

/**
 * Cancels a batch: its header is marked first, so the worker submits no further line (each is
 * counted cancelled), then one message per block of lines is queued for the batch worker, which
 * cancels the block's submitted, unended jobs (cancelBatchBlock). The request does no per-job
 * work, so it answers at once whatever the batch's size (up to 100,000 jobs). Idempotent: a
 * repeat keeps the first `cancelledAt` and queues the blocks again, which cancel what is left.
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
  // Every block once the expansion is done; until then the blocks it opened and the one it may
  // be opening, whose lines can be submitted before its cursor moves past it.
  const blocks = header.blocks ?? (header.cursor ?? 0) + 1;
  await deps.batches.queue.send(
    Array.from({ length: blocks }, (_, block) => ({ t: 'cancel' as const, batchId, block })),
  );
  const answer = { batchId, cancelledAt: header.cancelledAt as string, blocks };
  logger.info('batch cancel queued', { ...answer });
  return answer;
}

/** The batch worker's side: a block's jobs, cancelled through cancelJob. */
export interface BlockCancelDeps extends CancelDeps {
  batches: NonNullable<CancelDeps['batches']>;
}

/** Jobs of one block cancelled at once: each is a read and a conditional write. */
const BLOCK_CANCEL_CONCURRENCY = 16;

/** Of one block: jobs ended CANCELLED now, marked cancel-requested, or found ended. */
export interface BlockCancelReport {
  cancelled: number;
  requested: number;
  ended: number;
}

/**
 * The submitted, unended jobs of one block of a cancelled batch, each cancelled as POST
 * /jobs/{id}/cancel does. Safe under redelivery: the block is read again (strongly consistent),
 * its ended lines are skipped, and a cancel of a cancelled or cancel-requested job is a no-op. A
 * job still moving after cancelJob's three rounds fails the message, so the queue delivers it
 * again rather than leave the job running.
 */
export async function cancelBatchBlock(
  batchId: string,
  block: number,
  deps: BlockCancelDeps,
): Promise<BlockCancelReport> {
  const repo = deps.batches.batches;
  const header = await repo.header(batchId);
  const report: BlockCancelReport = { cancelled: 0, requested: 0, ended: 0 };
  // Gone (expired) or never cancelled: nothing to do (a message of another kind of work).
  if (!header?.cancelledAt) return report;
  const counts = await repo.block(batchId, block);
  const ended = new Set([
    ...counts.completed,
    ...counts.failed,
    ...counts.cancelled,
    ...counts.expired,
    ...counts.refused,
  ]);
  const pending = counts.submitted.filter((line) => !ended.has(line));
  const given = pending.length > 0 ? await repo.ids(batchId, block) : {};
  const ids = pending.map((line) => lineInferenceId(batchId, line, given[String(line)]));
  let moving: unknown;
  for (let i = 0; i < ids.length; i += BLOCK_CANCEL_CONCURRENCY) {
    await Promise.all(
      ids.slice(i, i + BLOCK_CANCEL_CONCURRENCY).map(async (inferenceId) => {
        try {
          const { outcome } = await cancelJob({ inferenceId }, deps);
          if (outcome === 'cancelled') report.cancelled++;
          else if (outcome === 'requested') report.requested++;
          else report.ended++;
        } catch (err) {
          // Ended otherwise (COMPLETED, FAILED, EXPIRED) or gone: nothing left to cancel.
          if (err instanceof NotCancellable || err instanceof NotFound) report.ended++;
          else moving ??= err;
        }
      }),
    );
  }
  logger.info('batch block cancelled', { batchId, block, ...report });
  if (moving) throw moving;
  return report;
}
