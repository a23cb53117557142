import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { settleSqsBatch } from '../adapters/sqs-batch.ts';
import { processBatchMessage, type WorkerDeps } from '../app/batch-worker.ts';

/**
 * One delivery of the batch queue: its messages at once (expansion steps and lines are
 * independent; the event source's maximumConcurrency paces the submits), each answered on its
 * own.
 */
export function processBatchEvent(event: SQSEvent, deps: WorkerDeps): Promise<SQSBatchResponse> {
  return settleSqsBatch(event, (message) => processBatchMessage(message, deps), 'parallel');
}
