import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSnsDelivery, offlineInvoker, snsEventFor } from '../../../src/local/sns.ts';

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

describe('offlineInvoker', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  async function lambdaApi(status: number, headers: Record<string, string>, body: string) {
    const requests: { url?: string; body: string }[] = [];
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        requests.push({ url: req.url, body: text });
        res.writeHead(status, headers).end(body);
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, requests };
  }

  it('posts the event to the Lambda Invoke API of the named function', async () => {
    const api = await lambdaApi(200, {}, 'null');
    await offlineInvoker(api.url, 'async-jobs-local-onSuccess')({ Records: [] });
    expect(api.requests[0]).toEqual({
      url: '/2015-03-31/functions/async-jobs-local-onSuccess/invocations',
      body: '{"Records":[]}',
    });
  });

  it('turns a function error into a rejection carrying its message', async () => {
    const api = await lambdaApi(
      200,
      { 'x-amz-function-error': 'Unhandled' },
      '{"errorType":"Error","errorMessage":"1 of 1 notifications not processed"}',
    );
    await expect(offlineInvoker(api.url, 'fn')({})).rejects.toThrow(
      'fn failed: 1 of 1 notifications not processed',
    );
  });
});
