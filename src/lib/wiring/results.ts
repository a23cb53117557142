import type { SQSBatchResponse } from 'aws-lambda';
import { notificationEventOf, notificationRecordOf } from '../adapters/notification-envelope.ts';
import { settleSqsBatch } from '../adapters/sqs-batch.ts';
import { settleNotification, type ResultDeps } from '../app/results.ts';

/**
 * Every record of an SNS or SQS event, each on its own and all at once. SQS: answers the records
 * that must be delivered again as `batchItemFailures`, so only those are retried. SNS: throws
 * after all records were tried, so Lambda retries the invocation and finally sends it to the
 * on-failure destination.
 */
export async function processEvent(
  event: unknown,
  allowedTopicArn: string | undefined,
  deps: ResultDeps,
): Promise<SQSBatchResponse | void> {
  const delivery = notificationEventOf(event);
  if (delivery.kind === 'sqs') {
    return settleSqsBatch(
      delivery.event,
      (message) => settleNotification(notificationRecordOf(message), allowedTopicArn, deps),
      'parallel',
    );
  }
  const { records } = delivery;
  const settled = await Promise.allSettled(
    records.map((r) => settleNotification(r, allowedTopicArn, deps)),
  );
  const failed = settled.filter((s) => s.status === 'rejected').length;
  if (failed > 0) throw new Error(`${failed} of ${records.length} notifications not processed`);
}
