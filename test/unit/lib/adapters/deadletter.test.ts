import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { sendToDeadLetter } from '../../../../src/lib/adapters/deadletter.ts';
import { SUCCESS_TOPIC } from '../../../support/notifications.ts';

/*
 * The DeadLetters adapter: what a refused notification looks like on the function's dead-letter
 * queue. Which records are refused, and that each is sent once, is the use case's test
 * (test/unit/lib/app/results.test.ts, on the port's fake).
 */

const sqsMock = mockClient(SQSClient);
const sqs = new SQSClient({ region: 'us-east-1' });
const DLQ = 'https://sqs.us-east-1.amazonaws.com/123456789012/async-jobs-dev-onSuccess-dlq';
const MESSAGE_ID = '0b5f5d2e-8c43-4bb0-9a57-9d5f0f1f6c2a';

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
});

const sent = () => sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);

describe('sendToDeadLetter', () => {
  it('sends the body as received, the reason and the source as message attributes', async () => {
    const body = JSON.stringify({ hello: 'world' });
    await sendToDeadLetter(sqs, DLQ, {
      record: { id: MESSAGE_ID, body, topicArn: SUCCESS_TOPIC },
      reason: 'not a SageMaker notification',
      refusedBy: 'async-jobs-dev-onSuccess',
    });
    const text = (value: string) => ({ DataType: 'String', StringValue: value });
    expect(sent()).toEqual([
      {
        QueueUrl: DLQ,
        MessageBody: body,
        MessageAttributes: {
          refusedReason: text('not a SageMaker notification'),
          sourceMessageId: text(MESSAGE_ID),
          bodyEncoding: text('utf8'),
          sourceTopicArn: text(SUCCESS_TOPIC),
          refusedBy: text('async-jobs-dev-onSuccess'),
        },
      },
    ]);
  });

  it('sends a body SQS cannot carry as base64, and says so', async () => {
    const body = 'bad\u0000bytes';
    await sendToDeadLetter(sqs, DLQ, { record: { id: MESSAGE_ID, body }, reason: 'not JSON' });
    const [input] = sent();
    expect(input!.MessageAttributes?.bodyEncoding?.StringValue).toBe('base64');
    expect(Buffer.from(input!.MessageBody!, 'base64').toString()).toBe(body);
    // An SQS record has no topic: no attribute claims one.
    expect(input!.MessageAttributes).not.toHaveProperty('sourceTopicArn');
  });

  it('lets a queue that cannot be reached fail the send', async () => {
    sqsMock
      .on(SendMessageCommand)
      .rejects(Object.assign(new Error('down'), { name: 'InternalError' }));
    await expect(
      sendToDeadLetter(sqs, DLQ, { record: { id: MESSAGE_ID, body: 'x' }, reason: 'not JSON' }),
    ).rejects.toThrow('down');
  });
});
