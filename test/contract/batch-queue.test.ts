import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { sqsBatchQueue } from '../../src/lib/adapters/batch-queue.ts';
import { parseBatchMessage } from '../../src/lib/domain/batches.ts';
import { localClientOptions } from '../../src/local/emulators.ts';
import { startLocalSqs } from '../../src/local/sqs.ts';
import { MemoryQueue } from '../support/fakes/batch-queue.ts';
import { batchQueueContract, type Received } from './batch-queue.contract.ts';

batchQueueContract('in-memory fake', async () => {
  const queue = new MemoryQueue();
  const refusing = new MemoryQueue();
  refusing.failSend = () => true;
  return {
    queue,
    refusing,
    receive: async (batchId) =>
      (queue.receive(Number.MAX_SAFE_INTEGER)?.Records ?? [])
        .map((r) => ({
          message: parseBatchMessage(r.body),
          receiptHandle: r.receiptHandle,
          receiveCount: Number(r.attributes.ApproximateReceiveCount),
        }))
        .filter((r) => r.message.batchId === batchId),
    close: async () => {},
  };
});

batchQueueContract('SQS adapter on the local SQS', async () => {
  // Read with ReceiveMessage, as the event source mapping would receive it.
  const sqs = await startLocalSqs({ queues: ['contract-batches'] });
  const client = new SQSClient(localClientOptions(sqs.url));
  const queueUrl = sqs.queueUrl('contract-batches');
  return {
    queue: sqsBatchQueue(() => client, queueUrl),
    refusing: sqsBatchQueue(async () => client, sqs.queueUrl('no-such-queue')),
    async receive(batchId) {
      const out: Received[] = [];
      for (;;) {
        const res = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        );
        if (!res.Messages?.length) break;
        for (const m of res.Messages) {
          out.push({
            message: parseBatchMessage(m.Body!),
            receiptHandle: m.ReceiptHandle!,
            receiveCount: Number(m.Attributes?.ApproximateReceiveCount),
          });
        }
      }
      return out.filter((r) => r.message.batchId === batchId);
    },
    async close() {
      client.destroy();
      await sqs.close();
    },
  };
});
