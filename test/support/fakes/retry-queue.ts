import type { RetryQueue } from '../../../src/lib/app/ports/retry-queue.ts';
import { MAX_RETRY_DELAY_SECONDS, type RetryMessage } from '../../../src/lib/domain/retry.ts';

/** The RetryQueue port in memory: each scheduled retry with its delay; a queue that refuses. */
export class FakeRetryQueue implements RetryQueue {
  readonly scheduled: { message: RetryMessage; delaySeconds: number }[] = [];
  /** Set: every schedule throws it (SQS refusing the message). */
  refuse?: () => unknown;

  async schedule(message: RetryMessage, delaySeconds: number): Promise<void> {
    if (this.refuse) throw this.refuse();
    // As SQS holds it: DelaySeconds is a whole number of seconds from 0 to 900
    // (test/contract/retry-queue.contract.ts).
    const delay = Math.max(0, Math.min(MAX_RETRY_DELAY_SECONDS, Math.round(delaySeconds)));
    this.scheduled.push({ message: { ...message }, delaySeconds: delay });
  }
}
