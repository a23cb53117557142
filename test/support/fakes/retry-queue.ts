import type { RetryQueue } from '../../../src/lib/app/ports/retry-queue.ts';
import type { RetryMessage } from '../../../src/lib/domain/retry.ts';

/** The RetryQueue port in memory: each scheduled retry with its delay. */
export class FakeRetryQueue implements RetryQueue {
  readonly scheduled: { message: RetryMessage; delaySeconds: number }[] = [];

  async schedule(message: RetryMessage, delaySeconds: number): Promise<void> {
    this.scheduled.push({ message: { ...message }, delaySeconds });
  }
}
