import type { SQSEvent, SQSBatchResponse } from 'aws-lambda';
import type { BatchQueue } from '../../../src/lib/app/ports/batch-queue.ts';
import type { BatchMessage } from '../../../src/lib/domain/batches.ts';

/**
 * The BatchQueue port's fake (src/lib/app/ports/batch-queue.ts): an SQS queue in memory with a virtual clock, for driving the batch worker in-process: a received
 * message is invisible for the visibility timeout (or what ChangeMessageVisibility set), comes
 * back with ApproximateReceiveCount one higher unless the worker succeeded on it, and is deleted
 * when it is not among the batch's `batchItemFailures`. Time only moves when the test advances it
 * (nothing visible, nothing to deliver), so a back-off of 900 s costs nothing.
 */
export class MemoryQueue implements BatchQueue {
  private seq = 0;
  now = 0;
  readonly messages = new Map<
    string,
    { body: string; visibleAt: number; receives: number; handle: string }
  >();
  sent = 0;
  /** A crash: a send this answers true for throws (once per call that matched). */
  failSend?: (messages: BatchMessage[]) => boolean;

  constructor(readonly visibilityTimeout = 30) {}

  async send(messages: BatchMessage[], delaySeconds = 0): Promise<void> {
    // As the adapter: nothing to send is no call at all, so nothing that could fail.
    if (messages.length === 0) return;
    if (this.failSend?.(messages)) throw new Error('crash while sending');
    for (const m of messages) {
      const id = `m${++this.seq}`;
      this.messages.set(id, {
        body: JSON.stringify(m),
        visibleAt: this.now + delaySeconds,
        receives: 0,
        handle: '',
      });
      this.sent++;
    }
  }

  async retryLater(receiptHandle: string, seconds: number): Promise<void> {
    const held = [...this.messages.values()].find((m) => m.handle && m.handle === receiptHandle);
    if (!held) {
      // What ChangeMessageVisibility answers for a handle the queue never gave.
      throw Object.assign(new Error('the receipt handle is not valid'), {
        name: 'ReceiptHandleIsInvalid',
      });
    }
    held.visibleAt = this.now + seconds;
  }

  /** Moves the clock to when the next message becomes visible; false when the queue is empty. */
  advance(): boolean {
    if (this.messages.size === 0) return false;
    this.now = Math.max(this.now, Math.min(...[...this.messages.values()].map((m) => m.visibleAt)));
    return true;
  }

  /** Up to `max` visible messages, made invisible for the visibility timeout. */
  receive(max = 10): SQSEvent | undefined {
    const visible = [...this.messages].filter(([, m]) => m.visibleAt <= this.now);
    if (visible.length === 0) return undefined;
    const taken = visible.slice(0, max);
    return {
      Records: taken.map(([id, m]) => {
        m.receives++;
        m.handle = `${id}:${m.receives}`;
        m.visibleAt = this.now + this.visibilityTimeout;
        return {
          messageId: id,
          receiptHandle: m.handle,
          body: m.body,
          attributes: {
            ApproximateReceiveCount: String(m.receives),
            SentTimestamp: '0',
            SenderId: 'test',
            ApproximateFirstReceiveTimestamp: '0',
          },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:batches',
          awsRegion: 'us-east-1',
        };
      }),
    };
  }

  /** What Lambda does with the answer: deletes every record not reported as failed. */
  settle(event: SQSEvent, answer: SQSBatchResponse | undefined): void {
    const failed = new Set((answer?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    for (const r of event.Records) if (!failed.has(r.messageId)) this.messages.delete(r.messageId);
  }
}
