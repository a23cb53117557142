import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { md5OfMessageAttributes, startLocalSqs, type LocalSqs } from '../../../src/local/sqs.ts';

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
    const seen: { event: unknown }[] = [];
    const { sqs, client } = await start(async (event) => void seen.push({ event }));
    // The delay on a clock the test moves: not delivered a moment before it passed, then at once.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    onTestFinished(() => void vi.useRealTimers());
    await client.send(
      new SendMessageCommand({
        QueueUrl: sqs.queueUrl('retry'),
        MessageBody: '{"a":1}',
        DelaySeconds: 1,
      }),
    );
    await vi.advanceTimersByTimeAsync(999);
    expect(seen).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    const first = seen[0]!;
    expect(first).toBeDefined();
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

describe('local SQS as an SQS client (boto3, the AWS CLI, the SDK) reads it', () => {
  async function startRead() {
    sqs = await startLocalSqs({
      queues: ['refused', 'retry'],
      consumers: { retry: async () => {} },
    });
    client = new SQSClient({
      region: 'us-east-1',
      endpoint: sqs.url,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    return { sqs, client };
  }

  it("GetQueueUrl: the URL of a queue by name, every client's first call", async () => {
    const { sqs, client } = await startRead();
    const out = await client.send(new GetQueueUrlCommand({ QueueName: 'refused' }));
    expect(out.QueueUrl).toBe(sqs.queueUrl('refused'));
    const owned = await client.send(
      new GetQueueUrlCommand({ QueueName: 'retry', QueueOwnerAWSAccountId: '000000000000' }),
    );
    expect(owned.QueueUrl).toBe(sqs.queueUrl('retry'));
  });

  it("GetQueueUrl: an unknown queue (or another account's) is AWS's QueueDoesNotExist", async () => {
    const { sqs, client } = await startRead();
    for (const input of [
      { QueueName: 'nope' },
      { QueueName: 'refused', QueueOwnerAWSAccountId: '123456789012' },
    ]) {
      const err = await client.send(new GetQueueUrlCommand(input)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueueDoesNotExist);
      expect((err as QueueDoesNotExist).$metadata.httpStatusCode).toBe(400);
      expect((err as Error).message).toBe('The specified queue does not exist.');
    }
    // The legacy code boto3 and the AWS CLI report (AWS.SimpleQueueService.NonExistentQueue).
    const raw = await fetch(sqs.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AmazonSQS.GetQueueUrl',
      },
      body: JSON.stringify({ QueueName: 'nope' }),
    });
    expect(raw.status).toBe(400);
    expect(raw.headers.get('x-amzn-query-error')).toBe(
      'AWS.SimpleQueueService.NonExistentQueue;Sender',
    );
    expect(await raw.json()).toMatchObject({ __type: 'com.amazonaws.sqs#QueueDoesNotExist' });
  });

  it('computes MD5OfMessageAttributes as SQS does', () => {
    // Digests other SQS implementations check against SQS's (an attribute of each type, a pair).
    expect(md5OfMessageAttributes({ SellerName: { type: 'String', value: 'Example Store' } })).toBe(
      'cd28f3b68aeee4b2eac9c66f2f694b58',
    );
    expect(md5OfMessageAttributes({ timestamp: { type: 'Number', value: '1493147359900' } })).toBe(
      '235c5c510d26fb653d073faed50ae77c',
    );
    expect(
      md5OfMessageAttributes({
        ordinal: { type: 'Number', value: '1' },
        category: { type: 'String', value: 'test' },
      }),
    ).toBe('d21ae90c49061e927f57df5f5d72be1f');
  });

  it('reads a queue nothing consumes: receive (attributes, checked MD5s), hide, delete', async () => {
    const { sqs, client } = await startRead();
    const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: 'refused' }));
    // Nothing yet: a long-poll is answered by the message sent while it waits.
    const polled = client.send(
      new ReceiveMessageCommand({
        QueueUrl,
        WaitTimeSeconds: 10,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    await client.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: '{"refused":true}',
        MessageAttributes: { refusedReason: { DataType: 'String', StringValue: 'unknown topic' } },
      }),
    );
    const [m] = (await polled).Messages ?? [];
    expect(m).toMatchObject({
      MessageId: sqs.messages[0]!.messageId,
      Body: '{"refused":true}',
      Attributes: { ApproximateReceiveCount: '1' },
      MessageAttributes: { refusedReason: { DataType: 'String', StringValue: 'unknown topic' } },
      MD5OfMessageAttributes: md5OfMessageAttributes({
        refusedReason: { type: 'String', value: 'unknown topic' },
      }),
    });
    // Received: hidden for its visibility timeout, then back, counted again.
    expect((await client.send(new ReceiveMessageCommand({ QueueUrl }))).Messages).toBeUndefined();
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl,
        ReceiptHandle: m!.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const again = await client.send(
      new ReceiveMessageCommand({ QueueUrl, MessageSystemAttributeNames: ['All'] }),
    );
    expect(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
    await client.send(
      new DeleteMessageCommand({ QueueUrl, ReceiptHandle: again.Messages![0]!.ReceiptHandle }),
    );
    await expect(
      client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl,
          ReceiptHandle: again.Messages![0]!.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      ),
    ).rejects.toMatchObject({ name: 'ReceiptHandleIsInvalid' });
    expect((await client.send(new ReceiveMessageCommand({ QueueUrl }))).Messages).toBeUndefined();
    // The record of what was sent stays for the sandbox's log and tests.
    expect(sqs.messages).toHaveLength(1);
  });

  it("bounds ReceiveMessage as SQS does, and gives a consumed queue's messages to its consumer", async () => {
    const { sqs, client } = await startRead();
    await expect(
      client.send(
        new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl('refused'), MaxNumberOfMessages: 11 }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await client.send(
      new SendMessageCommand({ QueueUrl: sqs.queueUrl('retry'), MessageBody: 'x' }),
    );
    const out = await client.send(new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl('retry') }));
    expect(out.Messages).toBeUndefined();
  });
});
