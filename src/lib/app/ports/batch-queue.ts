import type { BatchMessage } from '../../domain/batches.ts';

/*
 * The batch queue (SQS): expansion steps, one message per manifest line, the finish. Production:
 * src/lib/adapters/batch-queue.ts; fake: test/support/fakes/batch-queue.ts.
 */
export interface BatchQueue {
  /** Every message queued, or a throw (a repeated message is a no-op downstream). */
  send(messages: BatchMessage[], delaySeconds?: number): Promise<void>;
  /** Leave a received message for redelivery after `seconds` (ChangeMessageVisibility). */
  retryLater(receiptHandle: string, seconds: number): Promise<void>;
}
