import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { roundsOf, sqsDispatchWake, wakeOf } from '../../../../src/lib/adapters/dispatch-wake.ts';

/* The dispatcher's wakes: what a submit sends, and which rounds a dispatch invocation runs. */

const sqs = mockClient(SQSClient);
const URL = 'http://127.0.0.1:4571/000000000000/dispatch';
beforeEach(() => sqs.reset());

const record = (messageId: string, body: string) => ({ messageId, body });

describe('the dispatcher wake', () => {
  it('sends one message naming the endpoint, which a round reads back', async () => {
    sqs.on(SendMessageCommand).resolves({});
    await sqsDispatchWake(async () => sqs as unknown as SQSClient, URL).wake('ep-a');
    const sent = sqs.commandCalls(SendMessageCommand)[0]!.args[0].input;
    expect(sent.QueueUrl).toBe(URL);
    expect(wakeOf(sent.MessageBody!)).toBe('ep-a');
  });

  it('runs one round per endpoint its wakes name, and knows which messages each serves', () => {
    const { endpoints, messagesOf, ignored } = roundsOf(
      {
        Records: [
          record('m1', '{"endpointName":"ep-a"}'),
          record('m2', '{"endpointName":"ep-b"}'),
          record('m3', '{"endpointName":"ep-a"}'),
          // Not a wake, and an endpoint the stack does not allow: dropped, never retried.
          record('m4', 'not json'),
          record('m5', '{"endpointName":"elsewhere"}'),
        ],
      },
      ['ep-a', 'ep-b'],
    );
    expect(endpoints).toEqual(['ep-a', 'ep-b']);
    expect(messagesOf('ep-a')).toEqual(['m1', 'm3']);
    expect(messagesOf('ep-b')).toEqual(['m2']);
    expect(ignored).toBe(2);
  });

  it('runs a round for every allowed endpoint on the tick (a scheduled event has no records)', () => {
    const tick = roundsOf({}, ['ep-a', 'ep-b']);
    expect(tick.endpoints).toEqual(['ep-a', 'ep-b']);
    expect(tick.messagesOf('ep-a')).toEqual([]);
  });
});
