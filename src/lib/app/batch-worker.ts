import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseMessage } from '../domain/batches.ts';
import { logger } from '../adapters/logger.ts';
import { handleMessage, type WorkerDeps } from './batches.ts';

/**
 * Each record on its own (ReportBatchItemFailures): a throttled line is answered as a failure
 * after its visibility timeout was set to its back-off (ChangeMessageVisibility), so SQS delivers
 * it again only then; an error leaves it to the queue's own visibility timeout and, after
 * maxReceiveCount, its dead-letter queue. A malformed message is dropped with a log line.
 */
export async function processBatchEvent(
  event: SQSEvent,
  deps: WorkerDeps,
): Promise<SQSBatchResponse> {
  const failures: string[] = [];
  await Promise.all(
    event.Records.map(async (record) => {
      let message;
      try {
        message = parseMessage(record.body);
      } catch {
        logger.error('batch message malformed; dropped', { messageId: record.messageId });
        return;
      }
      try {
        const receives = Number(record.attributes?.ApproximateReceiveCount ?? '1');
        const { retryAfterSeconds } = await handleMessage(message, receives, deps);
        if (retryAfterSeconds === undefined) return;
        await deps.queue
          .retryLater(record.receiptHandle, retryAfterSeconds)
          .catch((err: unknown) => logger.warn('visibility not changed', { error: String(err) }));
        failures.push(record.messageId);
      } catch (err) {
        logger.error('batch message failed', {
          batchId: message.batchId,
          messageId: record.messageId,
          error: err instanceof Error ? err.name : 'unknown',
        });
        failures.push(record.messageId);
      }
    }),
  );
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
