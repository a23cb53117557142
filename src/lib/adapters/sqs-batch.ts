import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { QueuedMessage } from '../domain/queue.ts';

/**
 * How one delivery's records are worked: all at once, or one after another in the queue's order
 * (where each record's work calls a service whose pace the event source's maximumConcurrency
 * sets, and a batch of ten must not multiply it by ten).
 */
export type BatchOrder = 'parallel' | 'in-order';

function queuedMessage(record: SQSRecord): QueuedMessage {
  return {
    id: record.messageId,
    body: record.body,
    receiptHandle: record.receiptHandle,
    receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? '1'),
  };
}

/**
 * An SQS delivery under ReportBatchItemFailures (Powertools batch): `work` runs on each record;
 * a record whose work threw is answered in batchItemFailures, so SQS delivers only it again
 * (after its visibility timeout, then to the queue's dead-letter queue), and one whose work
 * returned is deleted. Logging a failure is `work`'s: the processor logs nothing of its own.
 */
export async function settleSqsBatch(
  event: SQSEvent,
  work: (message: QueuedMessage) => Promise<void>,
  order: BatchOrder,
): Promise<SQSBatchResponse> {
  // SQS never delivers an empty batch; a hand-made event without records has nothing to answer.
  if (!Array.isArray(event.Records) || event.Records.length === 0) return { batchItemFailures: [] };
  // One processor per delivery: its records and failures are this delivery's alone, even where
  // one process serves several deliveries at once (the sandbox's runtime).
  const processor = new BatchProcessor(EventType.SQS);
  const { batchItemFailures } = await processPartialResponse(
    event,
    async (record: SQSRecord) => {
      try {
        await work(queuedMessage(record));
      } catch (err) {
        // The processor reads `.message` of what was thrown: anything else would fail the batch.
        throw err instanceof Error ? err : new Error('the record failed with a non-Error value');
      }
    },
    processor,
    {
      processInParallel: order === 'parallel',
      // A delivery whose every record failed is answered like any other (every id listed), not
      // by failing the invocation: the records come back the same way, and the function's Errors
      // metric keeps meaning a crash.
      throwOnFullBatchFailure: false,
    },
  );
  return { batchItemFailures: [...batchItemFailures] };
}
