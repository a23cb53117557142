import { describe, expect, it } from 'vitest';
import { createSnsDelivery, snsEventFor } from '../../../src/local/sns.ts';

const TOPIC = 'arn:aws:sns:us-east-1:000000000000:async-jobs-local-success';

describe('local SNS delivery', () => {
  it('delivers a published message as a real SNS event', async () => {
    const seen: unknown[] = [];
    const sns = createSnsDelivery({ subscriptions: { [TOPIC]: async (e) => void seen.push(e) } });
    const id = await sns.publish(TOPIC, '{"inferenceId":"a"}');
    await sns.idle();
    expect(seen).toHaveLength(1);
    const record = (seen[0] as ReturnType<typeof snsEventFor>).Records[0]!;
    expect(record.EventSource).toBe('aws:sns');
    expect(record.Sns).toMatchObject({
      MessageId: id,
      TopicArn: TOPIC,
      Message: '{"inferenceId":"a"}',
    });
  });

  it('retries a failing function, then dead-letters the message with the reason', async () => {
    let calls = 0;
    const letters: unknown[] = [];
    const sns = createSnsDelivery({
      subscriptions: {
        [TOPIC]: async () => {
          calls++;
          throw new Error('boom');
        },
      },
      backoffMs: () => 1,
      onDeadLetter: (l) => letters.push(l),
    });
    await sns.publish(TOPIC, '{}');
    await sns.idle();
    expect(calls).toBe(3);
    expect(sns.deadLetters).toHaveLength(1);
    expect(sns.deadLetters[0]).toMatchObject({ topicArn: TOPIC, reason: 'boom' });
    expect(letters).toHaveLength(1);
  });

  it('a function that recovers on a retry is not dead-lettered', async () => {
    let calls = 0;
    const sns = createSnsDelivery({
      subscriptions: {
        [TOPIC]: async () => {
          if (++calls < 2) throw new Error('transient');
        },
      },
      backoffMs: () => 1,
    });
    await sns.publish(TOPIC, '{}');
    await sns.idle();
    expect(calls).toBe(2);
    expect(sns.deadLetters).toHaveLength(0);
  });
});
