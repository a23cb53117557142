import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  notificationEventOf,
  notificationRecordOf,
} from '../../../../src/lib/adapters/notification-envelope.ts';
import { RefusedNotification } from '../../../../src/lib/domain/errors.ts';
import { SUCCESS_TOPIC, notificationRecords } from '../../../support/notifications.ts';

const event = (name: string) => JSON.parse(readFileSync(`events/${name}`, 'utf8'));

describe('notificationEventOf, notificationRecordOf', () => {
  it('splits an SNS event, keeping each record topic', () => {
    const delivery = notificationEventOf(event('success.json'));
    expect(delivery.kind).toBe('sns');
    const records = notificationRecords(event('success.json'));
    expect(records).toHaveLength(1);
    expect(records[0]?.topicArn).toBe(SUCCESS_TOPIC);
  });

  it('unwraps SNS envelopes in SQS bodies and passes raw messages through without a topic', () => {
    expect(notificationEventOf(event('success-sqs.json')).kind).toBe('sqs');
    const records = notificationRecords(event('success-sqs.json'));
    expect(records.map((r) => r.topicArn)).toEqual([SUCCESS_TOPIC, undefined]);
    expect(JSON.parse(records[1]!.body).inferenceId).toBe('sample-sqs-raw-1');
  });

  it('refuses an event that is neither SNS nor SQS', () => {
    expect(() => notificationEventOf({ detail: {} })).toThrow(RefusedNotification);
    expect(() => notificationEventOf({ Records: [] })).toThrow(RefusedNotification);
  });

  it('keeps the SQS messageId as the record id, wrapped or raw, and the body as it came', () => {
    const wrapped = notificationRecordOf({
      id: 'm-1',
      body: JSON.stringify({ Type: 'Notification', TopicArn: SUCCESS_TOPIC, Message: 'inner' }),
    });
    expect(wrapped).toEqual({ id: 'm-1', topicArn: SUCCESS_TOPIC, body: 'inner' });
    // Not an SNS notification (no Type): the body is the message itself, whatever it holds.
    const raw = JSON.stringify({ TopicArn: SUCCESS_TOPIC, Message: 'inner' });
    expect(notificationRecordOf({ id: 'm-2', body: raw })).toEqual({ id: 'm-2', body: raw });
    expect(notificationRecordOf({ id: 'm-3', body: '{no' })).toEqual({ id: 'm-3', body: '{no' });
  });
});
