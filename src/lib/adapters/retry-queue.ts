import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { MAX_RETRY_DELAY_SECONDS, type RetryMessage } from '../domain/retry.ts';
import type { RetryQueue } from '../app/ports/retry-queue.ts';
import type { ClientSource } from './client-source.ts';

/*
 * The automatic retry's wait: one SQS message per scheduled retry, hidden for its backoff by the
 * message's own DelaySeconds (0 to 900 on a standard queue: SendMessage API reference,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html), then
 * received by autoRetry, which makes the attempt.
 */

export async function enqueueRetry(
  client: SQSClient,
  queueUrl: string,
  message: RetryMessage,
  delaySeconds: number,
): Promise<void> {
  await client.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(message),
      DelaySeconds: Math.max(0, Math.min(MAX_RETRY_DELAY_SECONDS, Math.round(delaySeconds))),
    }),
  );
}

/** The RetryQueue port over one queue. */
export function sqsRetryQueue(sqs: ClientSource<SQSClient>, queueUrl: string): RetryQueue {
  return {
    async schedule(message, delaySeconds) {
      await enqueueRetry(await sqs(), queueUrl, message, delaySeconds);
    },
  };
}
