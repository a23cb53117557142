import * as z from 'zod/mini';
import { BadRequest, UnsupportedMediaType } from './errors.ts';
import { CLIENT_INFERENCE_ID } from './jobs.ts';
import { TaskToken } from './task-callback.ts';
import {
  LANES,
  MAX_MAX_QUEUE_SECONDS,
  MIN_MAX_QUEUE_SECONDS,
  TENANT_PATTERN,
  type Lane,
} from './admission.ts';

/*
 * What POST /jobs accepts: its query parameters, the limits SageMaker puts on what we pass through,
 * and the input's media type. A malformed parameter is a BadRequest naming it; a malformed media
 * type, UnsupportedMediaType.
 */

/** SageMaker's limits for the InvokeEndpointAsync parameters we pass through. */
const VISIBLE_ASCII = /^[\x20-\x7e]*$/;
const MEDIA_TYPE =
  /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+*-]{1,127}(\s*;\s*[\x20-\x7e]*)?$/;

/** Whose share a job counts in (queue control): `?tenant=`, and a batch line's `tenant`. */
export const Tenant = z.optional(
  z
    .string()
    .check(
      z.maxLength(64, { error: 'tenant must be at most 64 characters', abort: true }),
      z.regex(TENANT_PATTERN, 'tenant must be 1-64 letters, digits, ".", "_" or "-"'),
    ),
);

function intParam(name: string, min: number, max: number) {
  return z.optional(
    z
      .pipe(
        z.string().check(z.regex(/^\d{1,6}$/, `${name} must be a whole number of seconds`)),
        z.transform(Number),
      )
      .check(z.refine((n) => n >= min && n <= max, `${name} must be from ${min} to ${max}`)),
  );
}

export const SubmitQuery = z.object({
  inferenceId: z.optional(
    z
      .string()
      .check(
        z.maxLength(64, { error: 'inferenceId must be at most 64 characters', abort: true }),
        z.regex(
          CLIENT_INFERENCE_ID,
          'inferenceId must be 1-64 characters: letters, digits, ".", "_" or "-", starting with a letter or digit',
        ),
      ),
  ),
  accept: z.optional(
    z.string().check(
      // Bounded before the pattern runs (abort): no long header value reaches a regex.
      z.maxLength(1024, { error: 'accept must be at most 1024 characters', abort: true }),
      z.regex(MEDIA_TYPE, 'accept must be a media type'),
    ),
  ),
  customAttributes: z.optional(
    z.string().check(
      z.maxLength(1024, {
        error: 'customAttributes must be at most 1024 characters',
        abort: true,
      }),
      z.regex(VISIBLE_ASCII, 'customAttributes must be visible US-ASCII'),
    ),
  ),
  requestTtlSeconds: intParam('requestTtlSeconds', 60, 21_600),
  invocationTimeoutSeconds: intParam('invocationTimeoutSeconds', 1, 3_600),
  endpoint: z.optional(
    z
      .string()
      .check(
        z.maxLength(63, { error: 'endpoint must be a SageMaker endpoint name', abort: true }),
        z.regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, 'endpoint must be a SageMaker endpoint name'),
      ),
  ),
  inputLocation: z.optional(
    z.string().check(z.maxLength(2048, 'inputLocation must be at most 2048 characters')),
  ),
  callbackUrl: z.optional(
    z.string().check(z.maxLength(2048, 'callbackUrl must be at most 2048 characters')),
  ),
  taskToken: z.optional(TaskToken),
  // Queue control (docs/queue.md): the lane, how long the job may wait before SageMaker is
  // handed it, and whose share it counts in (the owner's instead, in owner mode).
  priority: z.optional(
    z.enum(LANES as [Lane, ...Lane[]], { error: 'priority must be one of high, normal, low' }),
  ),
  maxQueueSeconds: intParam('maxQueueSeconds', MIN_MAX_QUEUE_SECONDS, MAX_MAX_QUEUE_SECONDS),
  tenant: Tenant,
});
export type SubmitQuery = z.infer<typeof SubmitQuery>;

// POST /jobs's body limit, with its query's: defined where POST /batches can read it too.
export { MAX_INLINE_INPUT_BYTES } from './limits.ts';

export function parseSubmitQuery(raw: Record<string, string | undefined>): SubmitQuery {
  const parsed = SubmitQuery.safeParse(raw);
  if (!parsed.success) {
    throw new BadRequest(parsed.error.issues.map((i) => i.message).join('; '));
  }
  return parsed.data;
}

export function contentTypeOf(raw: string | undefined, hasBody: boolean): string | undefined {
  const value = raw?.trim();
  if (!value) return hasBody ? 'application/octet-stream' : undefined;
  if (value.length > 1024 || !MEDIA_TYPE.test(value)) {
    throw new UnsupportedMediaType('Content-Type must be a valid media type, such as text/csv');
  }
  return value;
}
