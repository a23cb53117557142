import { BadRequest } from './errors.ts';

/*
 * startJob: a state machine submits a job without HTTP, as a Lambda task with `.waitForTaskToken`
 * (docs/step-functions.md). The payload carries what POST /jobs takes as query parameters (the
 * same names, checked by the same schema) plus the input: an S3 URI (`inputLocation`) or a small
 * inline `body` (a string, or any JSON value, sent as application/json).
 */

/** The POST /jobs query parameters a payload may carry, strings or numbers. */
const PARAMETERS = [
  'inferenceId',
  'accept',
  'customAttributes',
  'requestTtlSeconds',
  'invocationTimeoutSeconds',
  'endpoint',
  'inputLocation',
  'callbackUrl',
  'taskToken',
] as const;

export interface DirectSubmission {
  query: Record<string, string | undefined>;
  contentType?: string;
  body: Buffer;
}

export function directSubmission(payload: unknown): DirectSubmission {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new BadRequest('the payload must be a JSON object');
  }
  const p = payload as Record<string, unknown>;
  const query: Record<string, string | undefined> = {};
  for (const name of PARAMETERS) {
    const value = p[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new BadRequest(`${name} must be a string`);
    }
    query[name] = String(value);
  }
  if (p.contentType !== undefined && typeof p.contentType !== 'string') {
    throw new BadRequest('contentType must be a string');
  }
  let contentType = p.contentType as string | undefined;
  let body = Buffer.alloc(0);
  if (typeof p.body === 'string') {
    body = Buffer.from(p.body, 'utf8');
  } else if (p.body !== undefined && p.body !== null) {
    body = Buffer.from(JSON.stringify(p.body), 'utf8');
    contentType ??= 'application/json';
  }
  return { query, contentType, body };
}
