import type { S3Client } from '@aws-sdk/client-s3';
import {
  InvokeEndpointAsyncCommand,
  type InvokeEndpointAsyncCommandInput,
  type SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import type { Config } from '../config.ts';
import {
  AppError,
  BadRequest,
  PayloadTooLarge,
  Throttled,
  Unavailable,
  UnsupportedMediaType,
  awsErrorName,
  awsStatus,
} from '../domain/errors.ts';
import { CLIENT_INFERENCE_ID, expectedBy, expiresAt, type Job } from '../domain/jobs.ts';
import type { JobStore } from '../adapters/job-store.ts';
import { logger } from '../adapters/logger.ts';
import { webhookUrl } from '../adapters/webhooks.ts';
import { count } from '../adapters/metrics.ts';
import type { ClientSource } from '../adapters/client-source.ts';
import { inputLocation, s3Uri, type S3Location } from '../domain/locations.ts';
import { putObject } from '../adapters/storage.ts';

/** SageMaker's limits for the InvokeEndpointAsync parameters we pass through. */
const VISIBLE_ASCII = /^[\x20-\x7e]*$/;
const MEDIA_TYPE =
  /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+*-]{1,127}(\s*;\s*[\x20-\x7e]*)?$/;

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
});
export type SubmitQuery = z.infer<typeof SubmitQuery>;

export interface SubmitRequest {
  query: Record<string, string | undefined>;
  contentType?: string;
  body: Buffer;
  /** Owner mode: the authenticated caller, stored with the job. */
  owner?: string;
}

export interface SubmitDeps {
  config: Config;
  store: JobStore;
  s3: ClientSource<S3Client>;
  sageMaker: () => SageMakerRuntimeClient;
  now?: () => Date;
  newId?: () => string;
}

export interface SubmitAnswer {
  created: boolean;
  job: Job;
}

/** Lambda's synchronous payload limit leaves about this much for a (base64) request body. */
export const MAX_INLINE_INPUT_BYTES = 6 * 1024 * 1024 - 64 * 1024;

export function parseSubmitQuery(raw: Record<string, string | undefined>): SubmitQuery {
  const parsed = SubmitQuery.safeParse(raw);
  if (!parsed.success) {
    throw new BadRequest(parsed.error.issues.map((i) => i.message).join('; '));
  }
  return parsed.data;
}

function contentTypeOf(raw: string | undefined, hasBody: boolean): string | undefined {
  const value = raw?.trim();
  if (!value) return hasBody ? 'application/octet-stream' : undefined;
  if (value.length > 1024 || !MEDIA_TYPE.test(value)) {
    throw new UnsupportedMediaType('Content-Type must be a valid media type, such as text/csv');
  }
  return value;
}

/**
 * Maps InvokeEndpointAsync errors to answers a client can act on. SageMaker's own text is logged,
 * never answered: its messages name the account and the endpoint's ARN ("Endpoint ... of account
 * 123456789012 not found"). The client gets the error's class and the request id to quote.
 */
export function invokeError(err: unknown): AppError {
  const name = awsErrorName(err) ?? '';
  const status = awsStatus(err);
  if (status === 429 || /Throttl|TooManyRequests/i.test(name)) {
    return new Throttled('the endpoint is throttling requests; retry with the same inferenceId');
  }
  if (name === 'ValidationError' || (status !== undefined && status >= 400 && status < 500)) {
    const requestId = (err as { $metadata?: { requestId?: string } }).$metadata?.requestId;
    return new AppError(
      `SageMaker rejected the request (${/^[A-Za-z]{1,64}$/.test(name) ? name : 'ValidationError'}): ` +
        'check the endpoint, the content type and the parameters' +
        (requestId ? `; SageMaker request id ${requestId}` : ''),
      { status: 400 },
    );
  }
  return new Unavailable('SageMaker is unavailable; retry with the same inferenceId');
}

function storageError(): AppError {
  return new Unavailable('the input could not be stored; retry with the same inferenceId');
}

/**
 * POST /jobs: claim the id, store the input, queue it with SageMaker, record where the result
 * will land. A claim whose job was never queued is released, so a failed submit leaves nothing.
 */
export async function submitJob(req: SubmitRequest, deps: SubmitDeps): Promise<SubmitAnswer> {
  const { config } = deps;
  const q = parseSubmitQuery(req.query);
  const hasBody = req.body.byteLength > 0;
  if (q.inputLocation && hasBody) {
    throw new BadRequest('send either a request body or inputLocation, not both');
  }
  if (!q.inputLocation && !hasBody) {
    throw new BadRequest('the request body is empty: send the model input, or pass inputLocation');
  }
  if (req.body.byteLength > MAX_INLINE_INPUT_BYTES) {
    throw new PayloadTooLarge(
      'the input is larger than a Lambda request allows; upload it to the input bucket and submit with inputLocation',
    );
  }
  const contentType = contentTypeOf(req.contentType, hasBody);
  const given: S3Location | undefined = q.inputLocation
    ? inputLocation(q.inputLocation, config.inputBucket)
    : undefined;
  const callbackUrl = q.callbackUrl
    ? webhookUrl(q.callbackUrl, config.allowLoopbackWebhooks)
    : undefined;
  const endpointName = q.endpoint ?? config.endpointName;
  if (!config.endpointNames.includes(endpointName)) {
    throw new BadRequest(
      `unknown endpoint ${endpointName}; allowed: ${config.endpointNames.join(', ')}`,
    );
  }
  const inferenceId = q.inferenceId ?? (deps.newId ?? randomUUID)();
  const input = given ?? { bucket: config.inputBucket, key: `${config.inputPrefix}${inferenceId}` };
  const now = deps.now?.() ?? new Date();
  const submittedAt = now.toISOString();

  const claim: Job = {
    inferenceId,
    status: 'IN_PROGRESS',
    endpointName,
    inputLocation: s3Uri(input),
    inputContentType: contentType,
    submittedAt,
    expectedBy: expectedBy(now, q.requestTtlSeconds, q.invocationTimeoutSeconds),
    expiresAt: expiresAt(now, config.jobTtlDays),
    claimToken: randomUUID(),
    callbackUrl,
    owner: req.owner,
  };
  const existing = await deps.store.claim(claim);
  if (existing && req.owner !== undefined && existing.owner !== req.owner) {
    // Another caller's id: neither its job nor a new one (SageMaker's InferenceId is global).
    throw new AppError(`inferenceId ${inferenceId} is already in use`, { status: 409 });
  }
  if (existing) {
    logger.info('duplicate submit answered with the existing job', { inferenceId });
    count('DuplicateSubmits', endpointName);
    return { created: false, job: existing };
  }

  let queued;
  try {
    if (!given) {
      await putObject(
        await deps.s3(),
        input,
        req.body,
        contentType ?? 'application/octet-stream',
      ).catch((err: unknown) => {
        logger.warn('input upload failed', { inferenceId, error: awsErrorName(err) });
        throw storageError();
      });
    }
    const params: InvokeEndpointAsyncCommandInput = {
      EndpointName: endpointName,
      InputLocation: s3Uri(input),
      InferenceId: inferenceId,
      // A predictable key per job: <S3OutputPath>/<endpoint>/<inferenceId>.out (and the same
      // under S3FailurePath), instead of a name SageMaker makes up.
      S3OutputPathExtension: endpointName,
      Filename: `${inferenceId}.out`,
      ContentType: contentType,
      Accept: q.accept,
      CustomAttributes: q.customAttributes,
      RequestTTLSeconds: q.requestTtlSeconds,
      InvocationTimeoutSeconds: q.invocationTimeoutSeconds,
    };
    queued = await deps
      .sageMaker()
      .send(new InvokeEndpointAsyncCommand(params))
      .catch((err: unknown) => {
        logger.warn('invoke failed', {
          inferenceId,
          error: awsErrorName(err),
          status: awsStatus(err),
          // SageMaker's text stays in the log (it may name the account), never in the answer.
          detail: err instanceof Error ? err.message.slice(0, 500) : undefined,
        });
        throw invokeError(err);
      });
  } catch (err) {
    await deps.store
      .release(inferenceId, claim.claimToken as string)
      .catch((releaseErr: unknown) => {
        // Left IN_PROGRESS with no output location; the id answers 200 until it expires.
        logger.error('claim not released', { inferenceId, error: awsErrorName(releaseErr) });
      });
    throw err;
  }
  const job = await deps.store.markQueued(inferenceId, {
    outputLocation: queued.OutputLocation,
    failureLocation: queued.FailureLocation,
  });
  logger.info('job submitted', { inferenceId, endpointName });
  count('JobsSubmitted', endpointName);
  return { created: true, job };
}
