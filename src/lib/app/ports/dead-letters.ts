import type { NotificationRecord } from '../../domain/notification.ts';

/*
 * Where a notification that can never be processed goes, once (the function's own dead-letter
 * queue, SQS). Production: src/lib/adapters/deadletter.ts, loaded on first use; fake:
 * test/support/fakes/dead-letters.ts.
 */

export interface RefusedLetter {
  record: NotificationRecord;
  /** Why it was refused: names fields, never their values. */
  reason: string;
  /** The function that refused it (AWS_LAMBDA_FUNCTION_NAME). */
  refusedBy?: string;
}

export interface DeadLetters {
  send(letter: RefusedLetter): Promise<void>;
}
