import { z } from 'zod';
import { RefusedNotification } from './errors.ts';
import { S3_URI } from './storage.ts';

/*
 * The SageMaker async notification, parsed strictly where the code relies on it and loosely
 * elsewhere (SageMaker adds fields over time; an unknown field must not fail a job).
 */

/** SageMaker's own limit for InferenceId: 1-64 printable ASCII characters. */
const INFERENCE_ID = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\x21-\x7e][\x20-\x7e]*$/, 'inferenceId must be printable ASCII');

const s3Uri = z.string().max(2048).regex(S3_URI, 'must be an s3:// URI');

const ResponseBody = z.looseObject({
  content: z.string(),
  message: z.string().optional(),
  encoding: z.string().optional(),
});

export const SageMakerNotification = z.looseObject({
  eventSource: z.literal('aws:sagemaker'),
  invocationStatus: z.enum(['Completed', 'Failed']),
  inferenceId: INFERENCE_ID,
  eventTime: z.string().optional(),
  receivedTime: z.string().optional(),
  failureReason: z.string().max(8192).optional(),
  failureLocation: s3Uri.optional(),
  requestParameters: z.looseObject({
    endpointName: z.string().min(1).max(63),
    inputLocation: s3Uri.optional(),
    contentType: z.string().max(1024).optional(),
    accept: z.string().max(1024).optional(),
  }),
  responseParameters: z
    .looseObject({
      contentType: z.string().max(1024).optional(),
      outputLocation: s3Uri.optional(),
      failureLocation: s3Uri.optional(),
    })
    .optional(),
  responseBody: ResponseBody.optional(),
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

const SnsEvent = z.object({
  Records: z
    .array(
      z.looseObject({
        Sns: z.looseObject({ MessageId: z.string(), TopicArn: z.string(), Message: z.string() }),
      }),
    )
    .min(1),
});

const SqsEvent = z.object({
  Records: z
    .array(z.looseObject({ messageId: z.string(), body: z.string(), eventSource: z.string() }))
    .min(1),
});

/** SNS-to-SQS without raw delivery wraps the message in the SNS JSON envelope. */
const SnsEnvelope = z.looseObject({
  Type: z.literal('Notification'),
  TopicArn: z.string(),
  Message: z.string(),
});

export type EventKind = 'sns' | 'sqs';

/** Splits a Lambda event into records. Throws when the event is neither SNS nor SQS. */
export function recordsOf(event: unknown): { kind: EventKind; records: NotificationRecord[] } {
  const sns = SnsEvent.safeParse(event);
  if (sns.success) {
    return {
      kind: 'sns',
      records: sns.data.Records.map((r) => ({
        id: r.Sns.MessageId,
        topicArn: r.Sns.TopicArn,
        body: r.Sns.Message,
      })),
    };
  }
  const sqs = SqsEvent.safeParse(event);
  if (sqs.success) {
    return {
      kind: 'sqs',
      records: sqs.data.Records.map((r) => {
        const envelope = SnsEnvelope.safeParse(safeJson(r.body));
        return envelope.success
          ? { id: r.messageId, topicArn: envelope.data.TopicArn, body: envelope.data.Message }
          : { id: r.messageId, body: r.body };
      }),
    };
  }
  throw new RefusedNotification('the event is neither an SNS nor an SQS event');
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Validates one record's message. The error names the failing fields, never their values. */
export function parseNotification(
  record: NotificationRecord,
  allowedTopicArn: string | undefined,
): SageMakerNotification {
  if (allowedTopicArn && record.topicArn !== undefined && record.topicArn !== allowedTopicArn) {
    throw new RefusedNotification('message from an unexpected topic refused');
  }
  const json = safeJson(record.body);
  if (json === undefined) throw new RefusedNotification('message is not JSON');
  const parsed = SageMakerNotification.safeParse(json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))];
    throw new RefusedNotification(`message is not a SageMaker notification: ${fields.join(', ')}`);
  }
  return parsed.data;
}

/** The output location a success names, and the failure location a failure may name. */
export function outputLocationOf(n: SageMakerNotification): string | undefined {
  return n.responseParameters?.outputLocation;
}

export function failureLocationOf(n: SageMakerNotification): string | undefined {
  return n.failureLocation ?? n.responseParameters?.failureLocation;
}
