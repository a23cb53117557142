import { SQSClient } from '@aws-sdk/client-sqs';
import { sqsRetryQueue } from '../../src/lib/adapters/retry-queue.ts';
import { parseRetryMessage } from '../../src/lib/domain/retry.ts';
import { localClientOptions } from '../../src/local/emulators.ts';
import { startLocalSqs } from '../../src/local/sqs.ts';
import { FakeRetryQueue } from '../support/fakes/retry-queue.ts';
import { retryQueueContract } from './retry-queue.contract.ts';

retryQueueContract('in-memory fake', async () => {
  const retries = new FakeRetryQueue();
  const refusing = new FakeRetryQueue();
  refusing.refuse = () => new Error('the queue refused the message');
  return {
    retries,
    refusing,
    scheduled: async (id) =>
      [...retries.scheduled, ...refusing.scheduled].filter((s) => s.message.inferenceId === id),
    close: async () => {},
  };
});

retryQueueContract('SQS adapter on the local SQS', async () => {
  // A queue read with ReceiveMessage (no consumer here): it keeps every message as sent.
  const sqs = await startLocalSqs({ queues: ['contract-retries'] });
  const client = new SQSClient(localClientOptions(sqs.url));
  return {
    retries: sqsRetryQueue(() => client, sqs.queueUrl('contract-retries')),
    refusing: sqsRetryQueue(() => client, sqs.queueUrl('no-such-queue')),
    // What SQS was sent, as autoRetry's handler parses each body (parseRetryMessage).
    scheduled: async (id) =>
      sqs.messages
        .map((m) => ({ message: parseRetryMessage(m.body), delaySeconds: m.delaySeconds ?? 0 }))
        .filter((s) => s.message?.inferenceId === id),
    async close() {
      client.destroy();
      await sqs.close();
    },
  };
});
