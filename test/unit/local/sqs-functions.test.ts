import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { startLocalSqs, type LocalSqs, type QueueFunction } from '../../../src/local/sqs.ts';
import { waitFor } from '../../support/lambda.ts';

/*
 * The local SQS's batch work (the sandbox's stand-in for BatchQueue and batchWorker's event source
 * mapping), through the real SQS client: SendMessageBatch, ChangeMessageVisibility, delivery in
 * batches honouring batchItemFailures, the visibility timeout and the receive limit.
 */

interface Record {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: { ApproximateReceiveCount: string };
}
interface Delivery {
  records: Record[];
}

let sqs: LocalSqs | undefined;
let client: SQSClient | undefined;
afterEach(async () => {
  client?.destroy();
  await sqs?.close();
  sqs = undefined;
});

async function start(fn?: Omit<QueueFunction, 'invoke'>, answer?: (r: Record[]) => unknown) {
  const deliveries: Delivery[] = [];
  sqs = await startLocalSqs({
    queues: ['work'],
    functions: fn && {
      work: {
        ...fn,
        invoke: async (event) => {
          const records = (event as { Records: Record[] }).Records;
          deliveries.push({ records });
          return answer?.(records);
        },
      },
    },
  });
  client = new SQSClient({
    region: 'us-east-1',
    endpoint: sqs.url,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return { sqs, client, deliveries, url: sqs.queueUrl('work') };
}

const bodies = (d: Delivery) => d.records.map((r) => r.body);

describe('local SQS SendMessageBatch', () => {
  it('answers each entry in Successful or Failed by its Id, and keeps the accepted ones', async () => {
    const { sqs, client, url } = await start();
    // Answer shape: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
    // (the client also checks each Successful entry's MD5OfMessageBody, as against SQS).
    const res = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', MessageBody: 'one' },
          { Id: 'b', MessageBody: 'two', DelaySeconds: 901 },
          { Id: 'c', MessageBody: 'three', DelaySeconds: 1 },
        ],
      }),
    );
    expect(res.Successful?.map((s) => s.Id)).toEqual(['a', 'c']);
    expect(res.Failed).toEqual([
      expect.objectContaining({ Id: 'b', SenderFault: true, Code: 'InvalidParameterValue' }),
    ]);
    expect(sqs.messages.map((m) => [m.body, m.delaySeconds])).toEqual([
      ['one', undefined],
      ['three', 1],
    ]);
    await expect(
      client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [] })),
    ).rejects.toMatchObject({ name: 'EmptyBatchRequest' });
    await expect(
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: 'x' })),
        }),
      ),
    ).rejects.toMatchObject({ name: 'TooManyEntriesInBatchRequest' });
    await expect(
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: [
            { Id: 'x', MessageBody: '1' },
            { Id: 'x', MessageBody: '2' },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: 'BatchEntryIdsNotDistinct' });
    expect(sqs.messages).toHaveLength(2);
  });
});

describe('local SQS delivery to a function', () => {
  it('delivers in batches of batchSize; a reported failure comes back after the visibility timeout', async () => {
    let failOnce = true;
    const { client, url, deliveries } = await start(
      { batchSize: 3, visibilityTimeoutSeconds: 0.2 },
      (records) => {
        const two = records.find((r) => r.body === 'm2');
        if (!two || !failOnce) return { batchItemFailures: [] };
        failOnce = false;
        return { batchItemFailures: [{ itemIdentifier: two.messageId }] };
      },
    );
    // The visibility timeout on a clock the test moves: not a moment early, then at once.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    onTestFinished(() => void vi.useRealTimers());
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: ['m1', 'm2', 'm3', 'm4', 'm5'].map((b, i) => ({ Id: String(i), MessageBody: b })),
      }),
    );
    await vi.advanceTimersByTimeAsync(0);
    await sqs!.idle();
    expect(deliveries.map(bodies)).toEqual([
      ['m1', 'm2', 'm3'],
      ['m4', 'm5'],
    ]);
    await vi.advanceTimersByTimeAsync(199);
    expect(deliveries).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    const again = deliveries[2]!;
    expect(bodies(again)).toEqual(['m2']);
    expect(again.records[0]!.attributes.ApproximateReceiveCount).toBe('2');
    expect(again.records[0]!.receiptHandle).not.toBe(deliveries[0]!.records[1]!.receiptHandle);
    await sqs!.idle();
    expect(deliveries).toHaveLength(3);
    expect(sqs!.deadLetters).toEqual([]);
  });

  it('redelivers every record of a failed invocation, and dead-letters after maxReceiveCount', async () => {
    const { client, url, deliveries, sqs } = await start(
      { visibilityTimeoutSeconds: 0.02, maxReceiveCount: 2 },
      () => {
        throw new Error('boom');
      },
    );
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'doomed' }));
    const dead = await waitFor(() => sqs.deadLetters[0], { what: 'the dead letter' });
    expect(dead.body).toBe('doomed');
    expect(deliveries.map((d) => d.records[0]!.attributes.ApproximateReceiveCount)).toEqual([
      '1',
      '2',
    ]);
  });

  it('ChangeMessageVisibility sets when a received message is delivered again', async () => {
    let changed = false;
    const { client, url, deliveries, sqs } = await start(
      { visibilityTimeoutSeconds: 0 },
      async (records) => {
        if (changed) return undefined;
        changed = true;
        // As batchWorker backs off a throttled line: its visibility is its delay, then it fails.
        await client!.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: url,
            ReceiptHandle: records[0]!.receiptHandle,
            VisibilityTimeout: 1,
          }),
        );
        return { batchItemFailures: [{ itemIdentifier: records[0]!.messageId }] };
      },
    );
    // The new visibility on a clock the test moves: not a moment early, then at once.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    onTestFinished(() => void vi.useRealTimers());
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'later' }));
    await vi.advanceTimersByTimeAsync(0);
    await sqs.idle();
    expect(deliveries).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(deliveries).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    const again = deliveries[1]!;
    expect(again).toBeDefined();
    await sqs.idle();
    // Deleted once it succeeded: its receipt handle is no longer valid.
    await expect(
      client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: again.records[0]!.receiptHandle,
          VisibilityTimeout: 5,
        }),
      ),
    ).rejects.toMatchObject({ name: 'ReceiptHandleIsInvalid' });
    expect(deliveries).toHaveLength(2);
  });
});
