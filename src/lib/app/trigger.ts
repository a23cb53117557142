import { AppError, UnsupportedMediaType } from '../domain/errors.ts';
import { s3Uri } from '../domain/locations.ts';
import { contentTypeOf } from '../domain/submission.ts';
import {
  TriggerRefusal,
  contentTypeAllowed,
  decodeNotificationKey,
  parseTriggerMessage,
  refuseFromEvent,
  refuseSize,
  triggerInferenceId,
  type CreatedObject,
  type TriggerRules,
} from '../domain/trigger.ts';
import { logger } from '../adapters/logger.ts';
import type { ObjectHead } from './ports/object-store.ts';
import { submitJob, type SubmitDeps } from './submit.ts';

/*
 * S3-triggered jobs: an object created under the trigger prefix of the input bucket becomes a job,
 * exactly once. The job id is derived from the object, so a repeated S3 event (S3 delivers at least
 * once) claims the same record, and submit answers it as a duplicate without invoking again. An
 * object that can never be a job is refused once, with its reason logged and counted, and its
 * message acknowledged; only faults a retry can fix (throttling, SageMaker or S3 unavailable) are
 * thrown, so the queue redelivers them and, after its receive limit, dead-letters them.
 */

export interface TriggerDeps extends SubmitDeps {
  rules: TriggerRules;
}

export type TriggerOutcome =
  | { result: 'submitted' | 'duplicate'; inferenceId: string }
  | { result: 'refused'; reason: string; message: string }
  | { result: 'test' }
  | { result: 'unknown'; why: string };

/** One queue message (its body, JSON-parsed or not): the jobs it starts. */
export async function jobsFromMessage(body: unknown, deps: TriggerDeps): Promise<TriggerOutcome[]> {
  const message = parseTriggerMessage(body);
  if (message.kind === 'test') {
    // Sent once when a bucket notification is configured: nothing to do, nothing to retry.
    logger.info('s3 test event ignored');
    deps.metrics.record(deps.config.endpointName, ['TriggerTestEvents']);
    return [{ result: 'test' }];
  }
  if (message.kind === 'unknown') {
    logger.warn('trigger message refused', {
      reason: 'not-an-object-created-event',
      why: message.why,
    });
    deps.metrics.record(deps.config.endpointName, ['TriggerObjectsRefused']);
    return [{ result: 'unknown', why: message.why }];
  }
  const outcomes: TriggerOutcome[] = [];
  for (const object of message.objects) outcomes.push(await startJobFromObject(object, deps));
  return outcomes;
}

function refused(o: CreatedObject, r: TriggerRefusal, deps: TriggerDeps): TriggerOutcome {
  logger.warn('trigger object refused', {
    reason: r.reason,
    detail: r.message,
    bucket: o.bucket,
    key: o.key,
  });
  deps.metrics.record(deps.config.endpointName, ['TriggerObjectsRefused']);
  return { result: 'refused', reason: r.reason, message: r.message };
}

/** The object as S3 has it: the key as sent, else its URL-decoded form (direct notifications). */
async function find(
  o: CreatedObject,
  deps: TriggerDeps,
): Promise<{ key: string; head: ObjectHead } | undefined> {
  const keys = [...new Set([o.key, o.encodedKey ?? decodeNotificationKey(o.key)])];
  for (const key of keys) {
    const head = await deps.objects.head({ bucket: o.bucket, key });
    if (head) return { key, head };
  }
  return undefined;
}

export async function startJobFromObject(
  o: CreatedObject,
  deps: TriggerDeps,
): Promise<TriggerOutcome> {
  const { rules } = deps;
  const early = refuseFromEvent(o, rules);
  if (early) return refused(o, early, deps);
  const found = await find(o, deps);
  if (!found) {
    // S3 reads are strongly consistent: an object missing now was deleted after its event.
    return refused(o, new TriggerRefusal('gone', 'the object no longer exists'), deps);
  }
  const { key, head } = found;
  const late = refuseSize(head.bytes, rules);
  if (late) return refused(o, late, deps);
  let contentType: string | undefined;
  try {
    contentType = contentTypeOf(head.contentType, true);
  } catch (err) {
    if (!(err instanceof UnsupportedMediaType)) throw err;
  }
  if (!contentType || contentType.toLowerCase() === 'application/x-directory') {
    return refused(
      o,
      new TriggerRefusal('unsupported-type', 'the object has no valid Content-Type'),
      deps,
    );
  }
  if (!contentTypeAllowed(contentType, rules.contentTypes)) {
    return refused(
      o,
      new TriggerRefusal(
        'unsupported-type',
        `Content-Type ${contentType.slice(0, 127)} is not one of ${rules.contentTypes.join(', ')}`,
      ),
      deps,
    );
  }
  const inferenceId = triggerInferenceId({
    bucket: o.bucket,
    key,
    versionId: head.versionId ?? o.versionId,
    etag: head.etag ?? o.etag,
  });
  try {
    const { created } = await submitJob(
      {
        query: { inferenceId, inputLocation: s3Uri({ bucket: o.bucket, key }) },
        contentType,
        body: Buffer.alloc(0),
      },
      deps,
    );
    logger.info(created ? 'triggered job submitted' : 'trigger event repeated: job exists', {
      inferenceId,
      bucket: o.bucket,
      key,
    });
    return { result: created ? 'submitted' : 'duplicate', inferenceId };
  } catch (err) {
    // A request SageMaker or submit refuses (malformed, too large, a conflicting id) fails the
    // same way every time; a throttle or an outage is retried.
    if (err instanceof AppError && !err.retryable) {
      return refused(o, new TriggerRefusal('rejected', err.message), deps);
    }
    throw err;
  }
}
