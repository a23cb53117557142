import type { RetryMessage } from '../../domain/retry.ts';

/*
 * The automatic retry's wait (SQS, each message hidden for its backoff). Production:
 * src/lib/adapters/retry-queue.ts; fake: test/support/fakes/retry-queue.ts.
 */
export interface RetryQueue {
  /** Delivered once `delaySeconds` have passed (clamped to what the queue allows). */
  schedule(message: RetryMessage, delaySeconds: number): Promise<void>;
}
