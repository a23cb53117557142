import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { deadLettersOnDemand } from '../../src/lib/adapters/lazy.ts';
import { localClientOptions } from '../../src/local/emulators.ts';
import { startLocalSqs } from '../../src/local/sqs.ts';
import { FakeDeadLetters } from '../support/fakes/dead-letters.ts';
import { deadLettersContract, type ReadLetter } from './dead-letters.contract.ts';

deadLettersContract('in-memory fake', async () => {
  const letters = new FakeDeadLetters();
  const refusing = new FakeDeadLetters();
  refusing.fails = () => new Error('the queue refused the letter');
  return {
    letters,
    refusing,
    read: async (id) =>
      [...letters.letters, ...refusing.letters]
        .filter((l) => l.record.id === id)
        .map((l) => ({
          body: l.record.body,
          sourceMessageId: l.record.id,
          reason: l.reason,
          ...(l.record.topicArn ? { sourceTopicArn: l.record.topicArn } : {}),
          ...(l.refusedBy ? { refusedBy: l.refusedBy } : {}),
        })),
    close: async () => {},
  };
});

deadLettersContract('SQS adapter on the local SQS', async () => {
  const sqs = await startLocalSqs({ queues: ['contract-refused'] });
  const client = new SQSClient(localClientOptions(sqs.url));
  const queueUrl = sqs.queueUrl('contract-refused');
  /** Every letter received so far: a received message stays hidden, so each is read once. */
  const received: ReadLetter[] = [];
  return {
    letters: deadLettersOnDemand(() => client, queueUrl),
    refusing: deadLettersOnDemand(() => client, sqs.queueUrl('no-such-queue')),
    // As an operator reads the queue: ReceiveMessage with every attribute, decoding the body
    // as the bodyEncoding attribute says.
    async read(id) {
      for (;;) {
        const res = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            MessageAttributeNames: ['All'],
          }),
        );
        if (!res.Messages?.length) break;
        for (const m of res.Messages) {
          const a = (k: string) => m.MessageAttributes?.[k]?.StringValue;
          const encoding = a('bodyEncoding');
          received.push({
            body: encoding === 'base64' ? Buffer.from(m.Body!, 'base64').toString() : m.Body!,
            sourceMessageId: a('sourceMessageId')!,
            reason: a('refusedReason')!,
            ...(a('sourceTopicArn') ? { sourceTopicArn: a('sourceTopicArn') } : {}),
            ...(a('refusedBy') ? { refusedBy: a('refusedBy') } : {}),
          });
        }
      }
      return received.filter((l) => l.sourceMessageId === id);
    },
    async close() {
      client.destroy();
      await sqs.close();
    },
  };
});
