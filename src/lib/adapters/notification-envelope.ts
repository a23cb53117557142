// zod/mini, not Powertools parser's SnsSchema/SqsSchema/SnsSqsNotificationSchema: those are built
// on zod's classic `z` namespace, which no bundler can tree-shake, so they bring all of zod v4
// (its locales included) into onSuccess/onError INIT; the cold-start bench showed the cost.
import * as z from 'zod/mini';
import type { SQSEvent } from 'aws-lambda';
import { RefusedNotification } from '../domain/errors.ts';
import type { NotificationRecord } from '../domain/notification.ts';

/*
 * How a SageMaker notification reaches onSuccess/onError: an SNS event (resultDelivery=sns), or an
 * SQS event whose bodies are the message itself (raw delivery) or its SNS JSON envelope. Only the
 * fields read here are checked; the message inside is the domain's to parse.
 */

const SnsEvent = z.object({
  Records: z
    .array(
      z.looseObject({
        Sns: z.looseObject({ MessageId: z.string(), TopicArn: z.string(), Message: z.string() }),
      }),
    )
    .check(z.minLength(1)),
});

const SqsEvent = z.object({
  Records: z
    .array(z.looseObject({ messageId: z.string(), body: z.string(), eventSource: z.string() }))
    .check(z.minLength(1)),
});

/** SNS-to-SQS without raw delivery wraps the message in the SNS JSON envelope. */
const SnsEnvelope = z.looseObject({
  Type: z.literal('Notification'),
  TopicArn: z.string(),
  Message: z.string(),
});

export type NotificationEvent =
  { kind: 'sns'; records: NotificationRecord[] } | { kind: 'sqs'; event: SQSEvent };

/** Tells an SNS event from an SQS one. Throws when the event is neither. */
export function notificationEventOf(event: unknown): NotificationEvent {
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
  if (SqsEvent.safeParse(event).success) return { kind: 'sqs', event: event as SQSEvent };
  throw new RefusedNotification('the event is neither an SNS nor an SQS event');
}

/** One SQS message's notification: its SNS envelope unwrapped, or a raw message without a topic. */
export function notificationRecordOf(message: { id: string; body: string }): NotificationRecord {
  const envelope = SnsEnvelope.safeParse(safeJson(message.body));
  return envelope.success
    ? { id: message.id, topicArn: envelope.data.TopicArn, body: envelope.data.Message }
    : { id: message.id, body: message.body };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
