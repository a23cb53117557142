import type { MiddlewareObj } from '@middy/core';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { AppError, Unavailable, awsStatus } from '../domain/errors.ts';
import { errorAnswer } from './errors.ts';
import { logger } from '../adapters/logger.ts';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/**
 * On every answer: a browser must take the declared type at its word. A result is the model's
 * bytes under the model's content type; sniffed as HTML it would run in the API's origin.
 */
export const NO_SNIFF = { 'x-content-type-options': 'nosniff' } as const;

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...NO_SNIFF, ...headers },
    body: JSON.stringify(body),
  };
}

/** The request body as bytes, byte-exact whether API Gateway sent it as text or base64. */
export function bodyBytes(event: HttpEvent): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  return event.isBase64Encoded
    ? Buffer.from(event.body, 'base64')
    : Buffer.from(event.body, 'utf8');
}

/** Header lookup that does not depend on the casing the client or the proxy chose. */
export function header(event: HttpEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (k.toLowerCase() === wanted) return v;
  }
  return undefined;
}

/**
 * Turns a thrown domain error into its JSON answer (errors.ts), and anything else into a 500 whose
 * body says nothing of the cause (the cause goes to the log, without payloads).
 */
export function httpErrors(): MiddlewareObj<HttpEvent, HttpResult, Error, Context> {
  return {
    onError: async (request) => {
      const err = request.error;
      if (err instanceof AppError) {
        const answer = errorAnswer(err);
        if (answer.status >= 500)
          logger.warn('request failed', { status: answer.status, reason: err.message });
        request.response = json(answer.status, answer.body, answer.headers);
        return;
      }
      if (isDependencyFailure(err)) {
        // DynamoDB or S3 down, throttled or timing out: the client should retry, not give up.
        logger.error('dependency failed', { error: err?.name, status: awsStatus(err) });
        const answer = errorAnswer(new Unavailable('a backing service is unavailable; retry', 5));
        request.response = json(answer.status, answer.body, answer.headers);
        return;
      }
      // The name only: some messages (JSON.parse's, for one) quote the input they choked on.
      logger.error('unexpected error', { error: err?.name });
      request.response = json(500, { message: 'internal error' });
    },
  };
}

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

/** An AWS service error that is the service's fault, a throttle, or a transport failure. */
export function isDependencyFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const fault = (err as { $fault?: string }).$fault;
  const status = awsStatus(err);
  const code = (err as { code?: string }).code;
  return (
    fault === 'server' ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    /Throttl|TimeoutError|ProvisionedThroughputExceeded|RequestLimitExceeded/.test(err.name) ||
    (code !== undefined && TRANSIENT_CODES.has(code))
  );
}
