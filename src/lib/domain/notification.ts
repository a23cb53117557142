// zod/mini: the same schemas, tree-shaken to a fraction of the bundle (a cold-start cost).
import * as z from 'zod/mini';
import { RefusedNotification } from './errors.ts';
import { S3_URI } from './locations.ts';

/*
 * The SageMaker async notification, parsed strictly where the code relies on it and loosely
 * elsewhere (SageMaker adds fields over time; an unknown field must not fail a job).
 */

/** SageMaker's own limit for InferenceId: 1-64 printable ASCII characters. */
const INFERENCE_ID = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(64),
    z.regex(/^[\x21-\x7e][\x20-\x7e]*$/, 'inferenceId must be printable ASCII'),
  );

const text = (max: number) => z.optional(z.string().check(z.maxLength(max)));
const s3Uri = z.optional(
  z.string().check(z.maxLength(2048), z.regex(S3_URI, 'must be an s3:// URI')),
);

const ResponseBody = z.looseObject({
  content: z.string(),
  message: z.optional(z.string()),
  encoding: z.optional(z.string()),
});

export const SageMakerNotification = z.looseObject({
  eventSource: z.literal('aws:sagemaker'),
  invocationStatus: z.enum(['Completed', 'Failed']),
  inferenceId: INFERENCE_ID,
  eventTime: text(64),
  receivedTime: text(64),
  failureReason: text(8192),
  failureLocation: s3Uri,
  requestParameters: z.looseObject({
    endpointName: z.string().check(z.minLength(1), z.maxLength(63)),
    inputLocation: s3Uri,
    contentType: text(1024),
    accept: text(1024),
  }),
  responseParameters: z.optional(
    z.looseObject({
      contentType: text(1024),
      outputLocation: s3Uri,
      failureLocation: s3Uri,
    }),
  ),
  responseBody: z.optional(ResponseBody),
});
export type SageMakerNotification = z.infer<typeof SageMakerNotification>;

/** One record of an SNS or SQS event, before its message is validated. */
export interface NotificationRecord {
  /** The SQS messageId (for batchItemFailures) or the SNS MessageId. */
  id: string;
  /** The topic the message came from; absent for a raw SQS message, where the queue policy rules. */
  topicArn?: string;
  /** The SageMaker message text. */
  body: string;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * SageMaker's permission check: published to both topics on CreateEndpoint, UpdateEndpoint and
 * UpdateEndpointWeightsAndCapacities (which autoscaling calls on every step). Its whole body is
 * `{"eventVersion":"1.0","eventSource":"aws:sagemaker","eventName":"TestNotification"}`; it names
 * no job, so it is acknowledged and counted, never stored, retried or dead-lettered.
 */
const TestNotification = z.looseObject({
  eventSource: z.literal('aws:sagemaker'),
  eventName: z.literal('TestNotification'),
});

export type Message = { kind: 'test' } | { kind: 'result'; notification: SageMakerNotification };

/**
 * Validates one record's message: a test notification, or a job's result. Throws
 * RefusedNotification for anything that can never be processed; the error names the failing
 * fields, never their values.
 */
export function parseNotificationMessage(
  record: NotificationRecord,
  allowedTopicArn: string | undefined,
): Message {
  if (allowedTopicArn && record.topicArn !== undefined && record.topicArn !== allowedTopicArn) {
    throw new RefusedNotification('message from an unexpected topic refused');
  }
  const json = safeJson(record.body);
  if (json === undefined) throw new RefusedNotification('message is not JSON');
  if (TestNotification.safeParse(json).success) return { kind: 'test' };
  const parsed = SageMakerNotification.safeParse(json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))];
    throw new RefusedNotification(`message is not a SageMaker notification: ${fields.join(', ')}`);
  }
  return { kind: 'result', notification: parsed.data };
}

/** A job's result notification; a test notification is refused here (it names no job). */
export function parseNotification(
  record: NotificationRecord,
  allowedTopicArn: string | undefined,
): SageMakerNotification {
  const message = parseNotificationMessage(record, allowedTopicArn);
  if (message.kind === 'test') throw new RefusedNotification('a test notification names no job');
  return message.notification;
}

/** The output location a success names, and the failure location a failure may name. */
export function outputLocationOf(n: SageMakerNotification): string | undefined {
  return n.responseParameters?.outputLocation;
}

export function failureLocationOf(n: SageMakerNotification): string | undefined {
  return n.failureLocation ?? n.responseParameters?.failureLocation;
}
