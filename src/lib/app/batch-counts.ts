import { logger } from '../adapters/logger.ts';
import { blockDone, blockOf, type LineStatus } from '../domain/batch-blocks.ts';
import type { BatchHeader } from '../domain/batches.ts';
import type { Job } from '../domain/jobs.ts';
import type { BatchQueue } from './ports/batch-queue.ts';
import type { BatchRepository } from './ports/batch-repository.ts';
import type { Clock } from './ports/clock.ts';

/*
 * Counting a batch's lines, and finishing the batch when its last line ends. Kept apart from
 * batches.ts: the result handlers call recordOutcome on every delivery, and need nothing else of
 * batches.
 */

/** The batch worker's timeout (15 minutes): a finish not done by then was lost. */
const FINISH_STALE_MS = 15 * 60 * 1000;

export interface CountDeps {
  batches: BatchRepository;
  queue: BatchQueue;
  now?: Clock;
}

/** The block that completes a known-size batch finishes it, once, and queues the finish work. */
export async function maybeFinish(header: BatchHeader | undefined, deps: CountDeps): Promise<void> {
  if (!header || header.blocks === undefined) return;
  if (header.finishedAt) {
    // Finished long enough ago that the finish work should be done, and it is not: it was lost
    // (a crash between the finish and its message). Queue it again: it is idempotent.
    const now = (deps.now?.() ?? new Date()).getTime();
    if (!header.announcedAt && Date.parse(header.finishedAt) < now - FINISH_STALE_MS) {
      await deps.queue.send([{ t: 'finish', batchId: header.batchId }]);
    }
    return;
  }
  if ((header.doneBlocks ?? []).length < header.blocks) return;
  if (
    await deps.batches.finish(
      header.batchId,
      header.blocks,
      (deps.now?.() ?? new Date()).toISOString(),
    )
  ) {
    logger.info('batch finished', { batchId: header.batchId });
    await deps.queue.send([{ t: 'finish', batchId: header.batchId }]);
  }
}

/** Adds a line to a status of its block; a block whose lines all ended is marked done. */
export async function countLine(
  batchId: string,
  line: number,
  status: LineStatus,
  deps: CountDeps,
  reason?: string,
): Promise<void> {
  const block = blockOf(line);
  const after = await deps.batches.addLine(batchId, block, line, status, reason);
  if (blockDone(after)) {
    await maybeFinish(await deps.batches.markBlockDone(batchId, block), deps);
  }
}

const LINE_OF: Record<Exclude<Job['status'], 'IN_PROGRESS'>, LineStatus> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  EXPIRED: 'expired',
};

/** A job of a batch reached its terminal status (results.ts, on every delivery: idempotent). */
export async function recordOutcome(job: Job | undefined, deps: CountDeps): Promise<void> {
  if (!job?.batchId || job.batchLine === undefined || job.status === 'IN_PROGRESS') return;
  await countLine(job.batchId, job.batchLine, LINE_OF[job.status], deps);
}
