import type { SNSEvent, SQSEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import {
  notificationEventOf,
  notificationRecordOf,
} from '../../src/lib/adapters/notification-envelope.ts';
import type { NotificationRecord } from '../../src/lib/domain/notification.ts';

export const SUCCESS_TOPIC = 'arn:aws:sns:us-east-1:000000000000:async-jobs-local-success';
export const ERROR_TOPIC = 'arn:aws:sns:us-east-1:000000000000:async-jobs-local-error';
export const OUTPUT_BUCKET = 'async-jobs-local-output';
export const INPUT_BUCKET = 'async-jobs-local-input';

/** A SageMaker notification shaped like the real ones (see DESIGN.md). */
export function completed(
  inferenceId: string,
  opts: { outputKey?: string; bucket?: string; contentType?: string; responseBody?: Buffer } = {},
): Record<string, unknown> {
  const msg: Record<string, unknown> = {
    awsRegion: 'us-east-1',
    eventTime: '2026-11-24T19:00:05.123Z',
    receivedTime: '2026-11-24T19:00:01.456Z',
    invocationStatus: 'Completed',
    requestParameters: {
      contentType: 'text/csv',
      endpointName: 'demo-endpoint',
      inputLocation: `s3://${INPUT_BUCKET}/inputs/${inferenceId}`,
    },
    responseParameters: {
      contentType: opts.contentType ?? 'application/json',
      outputLocation: `s3://${opts.bucket ?? OUTPUT_BUCKET}/${opts.outputKey ?? `outputs/${inferenceId}.out`}`,
    },
    inferenceId,
    eventVersion: '1.0',
    eventSource: 'aws:sagemaker',
    eventName: 'InferenceResult',
  };
  if (opts.responseBody) {
    msg.responseBody = {
      content: opts.responseBody.toString('base64'),
      message: 'Response body is included',
      encoding: 'BASE64',
    };
  }
  return msg;
}

export function failed(
  inferenceId: string,
  opts: { failureKey?: string; reason?: string } = {},
): Record<string, unknown> {
  const msg = completed(inferenceId);
  msg.invocationStatus = 'Failed';
  msg.failureReason = opts.reason ?? 'ClientError: Received server error (500) from model.';
  msg.responseParameters = opts.failureKey
    ? { contentType: 'text/plain', failureLocation: `s3://${OUTPUT_BUCKET}/${opts.failureKey}` }
    : undefined;
  return msg;
}

export function snsEvent(...messages: { topic: string; message: unknown }[]): SNSEvent {
  return {
    Records: messages.map(({ topic, message }) => ({
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: `${topic}:sub`,
      Sns: {
        Type: 'Notification',
        MessageId: randomUUID(),
        TopicArn: topic,
        Subject: '',
        Message: typeof message === 'string' ? message : JSON.stringify(message),
        Timestamp: new Date().toISOString(),
        SignatureVersion: '1',
        Signature: 'EXAMPLE',
        SigningCertUrl: 'https://example.invalid/cert.pem',
        UnsubscribeUrl: 'https://example.invalid/unsubscribe',
        MessageAttributes: {},
      },
    })),
  };
}

/** SQS records: `topic` set wraps the message in an SNS envelope; absent, raw delivery. */
export function sqsEvent(
  ...messages: { id: string; message: unknown; topic?: string }[]
): SQSEvent {
  return {
    Records: messages.map(({ id, message, topic }) => {
      const text = typeof message === 'string' ? message : JSON.stringify(message);
      const body = topic
        ? JSON.stringify({
            Type: 'Notification',
            MessageId: randomUUID(),
            TopicArn: topic,
            Message: text,
          })
        : text;
      return {
        messageId: id,
        receiptHandle: 'handle',
        body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: '0',
          SenderId: 'x',
          ApproximateFirstReceiveTimestamp: '0',
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:results',
        awsRegion: 'us-east-1',
      };
    }),
  };
}

/** The notification records of an SNS or SQS event, as onSuccess/onError read them. */
export function notificationRecords(event: unknown): NotificationRecord[] {
  const delivery = notificationEventOf(event);
  if (delivery.kind === 'sns') return delivery.records;
  return delivery.event.Records.map((r) => notificationRecordOf({ id: r.messageId, body: r.body }));
}
