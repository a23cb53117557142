import type { Config } from '../config.ts';
import { AppError, OutputMissing, RefusedNotification } from '../domain/errors.ts';
import { encodeResult } from '../domain/encoding.ts';
import { expiresAt, type Outcome } from '../domain/jobs.ts';
import { logger } from '../adapters/logger.ts';
import {
  failureLocationOf,
  outputLocationOf,
  parseNotificationMessage,
  type NotificationRecord,
  type SageMakerNotification,
} from '../domain/notification.ts';
import { allowedLocation } from '../domain/locations.ts';
import { redactAccountDetails } from '../domain/redact.ts';
import { endJob, type EndingDeps } from './ending.ts';
import type { DeadLetters } from './ports/dead-letters.ts';
import { NO_ENDPOINT } from './ports/metrics.ts';
import type { ObjectStore, ReadResult } from './ports/object-store.ts';

/** The ending's deps (event bus, batch counts), and what reading a notification takes. */
export interface ResultDeps extends EndingDeps {
  config: Config;
  /** The output buckets SageMaker writes to. */
  objects: ObjectStore;
  /** With a dead-letter queue configured, a refused record is sent there once, not retried. */
  deadLetters?: DeadLetters;
}

/** A span in milliseconds between two ISO times; none when missing or negative (clock skew). */
function span(from?: string, to?: string): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

function decodeResponseBody(rb: NonNullable<SageMakerNotification['responseBody']>): Buffer {
  return rb.encoding === undefined || rb.encoding.toUpperCase() === 'BASE64'
    ? Buffer.from(rb.content, 'base64')
    : Buffer.from(rb.content, 'utf8');
}

function validDate(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** Body fields of the record, from bytes already in hand or from a bounded S3 read. */
function resultFields(read: ReadResult, contentType: string | undefined): Partial<Outcome> {
  if (!read.inline) return { resultBytes: read.bytes, outputContentType: contentType };
  return {
    ...encodeResult(read.body, contentType),
    resultBytes: read.bytes,
    outputContentType: contentType,
  };
}

function inHand(body: Buffer, maxBytes: number): ReadResult {
  return body.byteLength <= maxBytes
    ? { inline: true, body, bytes: body.byteLength }
    : { inline: false, bytes: body.byteLength };
}

/** Turns one validated notification into the outcome to store, reading S3 only when needed. */
export async function outcomeOf(n: SageMakerNotification, deps: ResultDeps): Promise<Outcome> {
  const { outputBuckets, inlineResultMaxBytes, jobTtlDays } = deps.config;
  const now = deps.now?.() ?? new Date();
  const outputUri = outputLocationOf(n);
  const failureUri = failureLocationOf(n);
  // Validate every location before touching any: a forged bucket refuses the whole record.
  const output = outputUri
    ? allowedLocation(outputUri, outputBuckets, 'outputLocation')
    : undefined;
  const failure = failureUri
    ? allowedLocation(failureUri, outputBuckets, 'failureLocation')
    : undefined;
  const declaredType = n.responseParameters?.contentType;
  const base: Outcome = {
    status: n.invocationStatus === 'Completed' ? 'COMPLETED' : 'FAILED',
    endpointName: n.requestParameters.endpointName,
    inputLocation: n.requestParameters.inputLocation,
    inputContentType: n.requestParameters.contentType,
    receivedAt: validDate(n.receivedTime),
    completedAt: validDate(n.eventTime) ?? now.toISOString(),
    expiresAt: expiresAt(now, jobTtlDays),
    outputLocation: outputUri,
    failureLocation: failureUri,
  };

  if (n.invocationStatus === 'Completed') {
    if (n.responseBody) {
      const read = inHand(decodeResponseBody(n.responseBody), inlineResultMaxBytes);
      return { ...base, ...resultFields(read, declaredType) };
    }
    // Malformed, not late: no retry can make a location appear in this message.
    if (!output) throw new RefusedNotification('success notification names no outputLocation');
    const read = await deps.objects.read(output, inlineResultMaxBytes);
    return { ...base, ...resultFields(read, declaredType ?? read.contentType) };
  }

  const failed: Outcome = {
    ...base,
    failureReason: n.failureReason
      ? redactAccountDetails(n.failureReason.slice(0, 4096))
      : 'SageMaker reported a failure with no reason',
  };
  if (n.responseBody) {
    const read = inHand(decodeResponseBody(n.responseBody), inlineResultMaxBytes);
    return { ...failed, ...resultFields(read, declaredType) };
  }
  if (failure) {
    try {
      const read = await deps.objects.read(failure, inlineResultMaxBytes);
      return { ...failed, ...resultFields(read, declaredType ?? read.contentType) };
    } catch (err) {
      // The reason is already known; a failure body that cannot be read must not hold it back.
      if (!(err instanceof OutputMissing)) throw err;
      logger.warn('failure body not found', { inferenceId: n.inferenceId });
    }
  }
  return failed;
}

/** Validates, reads and stores one record. Throws when the record must be retried or refused. */
export async function processRecord(
  record: NotificationRecord,
  allowedTopicArn: string | undefined,
  deps: ResultDeps,
): Promise<void> {
  const message = parseNotificationMessage(record, allowedTopicArn);
  if (message.kind === 'test') {
    logger.info('test notification ignored', { topicArn: record.topicArn, messageId: record.id });
    deps.metrics.record(NO_ENDPOINT, ['NotificationsIgnored']);
    return;
  }
  const n = message.notification;
  const inferenceId = n.inferenceId;
  const outcome = await outcomeOf(n, deps);
  const ended = await endJob(
    inferenceId,
    {
      outcome,
      endedBy: 'notification',
      durations: {
        ModelTime: span(n.receivedTime, n.eventTime),
        TimeToResult: span(n.receivedTime, (deps.now?.() ?? new Date()).toISOString()),
      },
      // SageMaker's own text, account and console link included, for operators only: the stored
      // failureReason has them redacted.
      logFields: { failureReason: n.failureReason?.slice(0, 4096) },
    },
    deps,
  );
  if (!ended.applied) {
    logger.info('duplicate notification ignored', { inferenceId, status: outcome.status });
    deps.metrics.record(outcome.endpointName, ['DuplicatesIgnored']);
  }
}

/**
 * A record that can never succeed goes to the dead-letter queue once, with its reason; the
 * invocation does not fail for it. Without a queue configured (or when sending fails) it stays
 * on the retry path, so it is never dropped.
 */
async function refuse(record: NotificationRecord, err: RefusedNotification, deps: ResultDeps) {
  deps.metrics.record(NO_ENDPOINT, ['NotificationsRefused']);
  if (!deps.deadLetters) throw err;
  await deps.deadLetters.send({
    record,
    reason: err.message,
    refusedBy: process.env.AWS_LAMBDA_FUNCTION_NAME,
  });
  logger.error('notification refused and dead-lettered', {
    inferenceId: idOf(record),
    messageId: record.id,
    reason: err.message,
  });
}

async function settle(
  record: NotificationRecord,
  allowedTopicArn: string | undefined,
  deps: ResultDeps,
): Promise<void> {
  try {
    await processRecord(record, allowedTopicArn, deps);
  } catch (err) {
    if (err instanceof RefusedNotification) return refuse(record, err, deps);
    throw err;
  }
}

/**
 * One notification on its own: stored, acknowledged (a test notification) or dead-lettered once
 * (refused). Throws, after logging why, when it must be delivered again.
 */
export async function settleNotification(
  record: NotificationRecord,
  allowedTopicArn: string | undefined,
  deps: ResultDeps,
): Promise<void> {
  try {
    await settle(record, allowedTopicArn, deps);
  } catch (err) {
    logger.error('notification not processed', {
      inferenceId: idOf(record),
      messageId: record.id,
      ...describe(err),
    });
    throw err;
  }
}

function describe(err: unknown): Record<string, unknown> {
  if (err instanceof AppError) return { reason: err.message, retryable: err.retryable };
  if (err instanceof Error) return { reason: err.name, retryable: true };
  return { reason: 'unknown error', retryable: true };
}

function idOf(record: NotificationRecord): string | undefined {
  const m = /"inferenceId"\s*:\s*"([\x21-\x7e][\x20-\x7e]{0,63}?)"/.exec(record.body);
  return m?.[1];
}
