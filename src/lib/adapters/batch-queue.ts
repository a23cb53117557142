import type { SQSClient } from '@aws-sdk/client-sqs';
import type { BatchQueue } from '../app/ports/batch-queue.ts';
import type { ClientSource } from './client-source.ts';
import { sqsSdk } from './lazy.ts';

/*
 * The batch queue: expansion steps, one message per manifest line, and the finish. SendMessageBatch
 * takes at most 10 entries and 256 KiB in all (SQS developer guide, "Amazon SQS message quotas"),
 * so entries are grouped under both limits; an entry SQS refuses is sent again once, then the
 * whole step fails and its own message is redelivered (a repeated line is a no-op downstream).
 * The SDK is loaded on first use (lazy.ts): the result handlers hold a queue but send to it only
 * when a batch finishes.
 */

const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 250 * 1024;

export function groups(bodies: string[]): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = Buffer.byteLength(body);
    if (current.length === MAX_ENTRIES || (current.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(body);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The BatchQueue port over one SQS queue. */
export function sqsBatchQueue(sqs: ClientSource<SQSClient>, queueUrl: string): BatchQueue {
  return {
    async send(messages, delaySeconds) {
      if (messages.length === 0) return;
      const client = await sqs();
      const { SendMessageCommand, SendMessageBatchCommand } = await sqsSdk();
      if (messages.length === 1) {
        await client.send(
          new SendMessageCommand({
            QueueUrl: queueUrl,
            MessageBody: JSON.stringify(messages[0]),
            DelaySeconds: delaySeconds,
          }),
        );
        return;
      }
      await Promise.all(
        groups(messages.map((m) => JSON.stringify(m))).map(async (group) => {
          let entries = group.map((body, i) => ({
            Id: String(i),
            MessageBody: body,
            DelaySeconds: delaySeconds,
          }));
          for (let attempt = 0; attempt < 2 && entries.length > 0; attempt++) {
            const res = await client.send(
              new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }),
            );
            const failed = new Set((res.Failed ?? []).map((f) => f.Id));
            entries = entries.filter((e) => failed.has(e.Id));
          }
          if (entries.length > 0) {
            throw new Error(`SQS refused ${entries.length} batch messages`);
          }
        }),
      );
    },
    async retryLater(receiptHandle, seconds) {
      const client = await sqs();
      const { ChangeMessageVisibilityCommand } = await sqsSdk();
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    },
  };
}
