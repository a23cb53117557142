import { config } from '../config.ts';
import { BatchStore } from './batch-store.ts';
import type { BatchQueue } from '../app/ports/batch-queue.ts';
import { sqsBatchQueue } from './batch-queue.ts';
import { dynamo, sqs } from './clients.ts';

/* The batch store and queue of this process, built once on first use (as clients.ts does). */

let store: BatchStore | undefined;
let queue: BatchQueue | undefined;

export function batchStore(): BatchStore {
  store ??= new BatchStore(dynamo(), config().jobsTable);
  return store;
}

/** Undefined when BATCH_QUEUE_URL is not set: batches are then not offered. */
export function batchQueue(): BatchQueue | undefined {
  const url = config().batchQueueUrl;
  if (!url) return undefined;
  queue ??= sqsBatchQueue(sqs, url);
  return queue;
}

/** For tests that point the process at new emulator ports. */
export function resetBatchClients(): void {
  store = undefined;
  queue = undefined;
}

/** What the result handlers need to count a batch's lines; undefined without a batch queue. */
export function batchCountDeps(): { batches: BatchStore; queue: BatchQueue } | undefined {
  const q = batchQueue();
  return q ? { batches: batchStore(), queue: q } : undefined;
}
