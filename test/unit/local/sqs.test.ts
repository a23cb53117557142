import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalSqs, type LocalSqs } from '../../../src/local/sqs.ts';
import { waitFor } from '../../support/lambda.ts';

/*
 * The local SQS's delivery to a consumer (the sandbox's stand-in for autoRetry's event source
 * mapping), through the real SQS client: DelaySeconds is honoured and bounded as SQS bounds it.
 */

let sqs: LocalSqs | undefined;
let client: SQSClient | undefined;
afterEach(async () => {
  client?.destroy();
  await sqs?.close();
});

async function start(consumer: (event: unknown) => Promise<void>) {
  sqs = await startLocalSqs({ queues: ['retry'], consumers: { retry: consumer } });
  client = new SQSClient({
    region: 'us-east-1',
    endpoint: sqs.url,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return { sqs, client };
}

describe('local SQS consumers', () => {
  it('delivers a message as an SQS event of one record once its delay has passed', async () => {
    const seen: { at: number; event: unknown }[] = [];
    const { sqs, client } = await start(async (event) => void seen.push({ at: Date.now(), event }));
    const sent = Date.now();
    await client.send(
      new SendMessageCommand({
        QueueUrl: sqs.queueUrl('retry'),
        MessageBody: '{"a":1}',
        DelaySeconds: 1,
      }),
    );
    expect(seen).toEqual([]);
    const first = await waitFor(() => seen[0], { what: 'the delivery' });
    expect(first.at - sent).toBeGreaterThanOrEqual(990);
    const record = (first.event as { Records: Record<string, unknown>[] }).Records[0]!;
    expect(record).toMatchObject({
      body: '{"a":1}',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:retry',
      messageId: sqs.messages[0]!.messageId,
    });
    expect(sqs.messages[0]!.delaySeconds).toBe(1);
  });

  it('refuses a DelaySeconds above 900, as SQS does, and delivers nothing', async () => {
    const seen: unknown[] = [];
    const { sqs, client } = await start(async (event) => void seen.push(event));
    await expect(
      client.send(
        new SendMessageCommand({
          QueueUrl: sqs.queueUrl('retry'),
          MessageBody: 'x',
          DelaySeconds: 901,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await sqs.idle();
    expect(sqs.messages).toEqual([]);
    expect(seen).toEqual([]);
  });
});
