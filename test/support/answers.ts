import { AppError } from '../../src/lib/domain/errors.ts';
import { errorAnswer } from '../../src/lib/http/errors.ts';

/*
 * Domain errors know no HTTP; a test that says "refused with a 400" reads the status the API edge
 * gives the error (src/lib/http/errors.ts) beside what the error itself says.
 */

export interface Answered {
  name: string;
  message: string;
  kind: string;
  retryable: boolean;
  status: number;
  headers: Record<string, string>;
}

/** A domain error as the API answers it; anything else as it is. */
export function answerOf(err: unknown): Answered | unknown {
  if (!(err instanceof AppError)) return err;
  const { status, headers } = errorAnswer(err);
  const { name, message, kind, retryable } = err;
  return { name, message, kind, retryable, status, headers };
}

/** `p`, rejected with its error as the API answers it. */
export function answering<T>(p: Promise<T>): Promise<T> {
  return p.catch((err: unknown) => {
    throw answerOf(err);
  });
}

/** `fn`, throwing its error as the API answers it. */
export function answeringSync<T>(fn: () => T): () => T {
  return () => {
    try {
      return fn();
    } catch (err) {
      throw answerOf(err);
    }
  };
}
