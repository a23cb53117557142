import type { AppError, ErrorKind } from '../domain/errors.ts';

/*
 * The one place a domain error becomes an HTTP answer (openapi.yaml lists each status per route):
 * its status by kind, `Retry-After` when the error says how soon a retry may succeed, and its
 * message as the `{"message"}` body. The httpErrors middleware (answers.ts) is its only caller.
 */

/** By kind: a kind added to the domain without a status here fails the type check. */
export const STATUS_OF_KIND: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  unauthenticated: 403,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  'unsupported-type': 415,
  throttled: 429,
  unavailable: 503,
  // The notification path's own errors, answered as they were when one reaches an HTTP route
  // (getJob's check reads S3 as onSuccess does).
  'refused-notification': 400,
  'output-missing': 503,
  's3-access-denied': 500,
};

export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: { message: string };
}

export function errorAnswer(err: AppError): ErrorAnswer {
  const headers: Record<string, string> =
    err.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(err.retryAfterSeconds) };
  return { status: STATUS_OF_KIND[err.kind], headers, body: { message: err.message } };
}
