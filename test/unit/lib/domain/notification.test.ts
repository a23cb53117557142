import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RefusedNotification } from '../../../../src/lib/domain/errors.ts';
import {
  failureLocationOf,
  parseNotification,
  parseNotificationMessage,
} from '../../../../src/lib/domain/notification.ts';
import {
  SUCCESS_TOPIC,
  completed,
  failed,
  notificationRecords as recordsOf,
  sqsEvent,
} from '../../../support/notifications.ts';

const event = (name: string) => JSON.parse(readFileSync(`events/${name}`, 'utf8'));
const record = (message: unknown, topicArn: string | undefined = SUCCESS_TOPIC) => ({
  id: 'r1',
  topicArn,
  body: typeof message === 'string' ? message : JSON.stringify(message),
});

describe('parseNotification', () => {
  it('accepts the real shape and lets unknown fields pass', () => {
    const n = parseNotification(record({ ...completed('a'), newField: { x: 1 } }), SUCCESS_TOPIC);
    expect(n.inferenceId).toBe('a');
    expect(n.responseParameters?.outputLocation).toBe('s3://async-jobs-local-output/outputs/a.out');
  });

  it('refuses a record from another topic, and accepts a raw SQS record (no topic)', () => {
    expect(() =>
      parseNotification(record(completed('a'), 'arn:aws:sns:us-east-1:1:evil'), SUCCESS_TOPIC),
    ).toThrow(/unexpected topic/);
    expect(parseNotification(record(completed('a'), undefined), SUCCESS_TOPIC).inferenceId).toBe(
      'a',
    );
  });

  it.each([
    ['eventSource other than aws:sagemaker', { eventSource: 'aws:s3' }],
    ['an inferenceId over 64 characters', { inferenceId: 'x'.repeat(65) }],
    ['a non-printable inferenceId', { inferenceId: 'a\nb' }],
    ['an unknown invocationStatus', { invocationStatus: 'Maybe' }],
    ['a non-s3 outputLocation', { responseParameters: { outputLocation: 'https://evil/x' } }],
    ['no requestParameters', { requestParameters: undefined }],
  ])('refuses %s', (_what, patch) => {
    expect(() => parseNotification(record({ ...completed('a'), ...patch }), undefined)).toThrow(
      RefusedNotification,
    );
  });

  it('names the failing fields but never echoes their values', () => {
    const secret = 'https://secret-value.example/x';
    let message = '';
    try {
      parseNotification(
        record({ ...completed('a'), responseParameters: { outputLocation: secret } }),
        undefined,
      );
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('responseParameters.outputLocation');
    expect(message).not.toContain('secret-value');
  });

  it('refuses a body that is not JSON', () => {
    expect(() => parseNotification(record('{not json'), undefined)).toThrow(/not JSON/);
  });

  it('finds the failure location at the top level or in responseParameters', () => {
    const inParams = parseNotification(
      record(failed('f', { failureKey: 'failures/f' })),
      undefined,
    );
    expect(failureLocationOf(inParams)).toBe('s3://async-jobs-local-output/failures/f');
    const top = parseNotification(
      record({ ...failed('g'), failureLocation: 's3://async-jobs-local-output/failures/g' }),
      undefined,
    );
    expect(failureLocationOf(top)).toBe('s3://async-jobs-local-output/failures/g');
  });

  it('parses every SQS record of a mixed batch independently', () => {
    const records = recordsOf(
      sqsEvent(
        { id: '1', message: completed('x'), topic: SUCCESS_TOPIC },
        { id: '2', message: 'junk' },
      ),
    );
    expect(parseNotification(records[0]!, SUCCESS_TOPIC).inferenceId).toBe('x');
    expect(() => parseNotification(records[1]!, SUCCESS_TOPIC)).toThrow(RefusedNotification);
  });
});

describe('a scaling step', () => {
  // Application Auto Scaling changes an endpoint's instance count with
  // UpdateEndpointWeightsAndCapacities, on every step up or down (docs/scaling.md), and SageMaker
  // then publishes its test message, exactly this body, to both topics.
  const step =
    '{"eventVersion":"1.0","eventSource":"aws:sagemaker","eventName":"TestNotification"}';
  const ERROR_TOPIC = SUCCESS_TOPIC.replace(/success$/, 'error');

  it('publishes a test notification on both topics that is recognised as a test, not a job', () => {
    expect(parseNotificationMessage(record(step), SUCCESS_TOPIC)).toEqual({ kind: 'test' });
    expect(parseNotificationMessage(record(step, ERROR_TOPIC), ERROR_TOPIC)).toEqual({
      kind: 'test',
    });
    // The same body wrapped by SNS and delivered through SQS (resultDelivery=sqs).
    const records = recordsOf(event('test-notification-sqs.json'));
    expect(records.length).toBeGreaterThan(0);
    for (const r of records)
      expect(parseNotificationMessage(r, undefined)).toEqual({ kind: 'test' });
  });

  it('is refused as a result: it names no job to store', () => {
    expect(() => parseNotification(record(step), SUCCESS_TOPIC)).toThrow(
      /a test notification names no job/,
    );
  });
});
