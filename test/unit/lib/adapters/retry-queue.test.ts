import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/lib/config.ts';
import { schedulePorts } from '../../../../src/lib/wiring/retries.ts';

/*
 * The RetryQueue adapter as scheduleRetry's wiring builds it: the one SendMessage a scheduled
 * retry is. When a retry is scheduled, and with which delay, is the use case's test
 * (test/unit/lib/app/auto-retry.test.ts, on the port's fake); the delay's bounds and the read-back
 * on the local SQS are test/contract/retry-queue.contract.ts.
 */

const sqsMock = mockClient(SQSClient);
const sqs = new SQSClient({ region: 'us-east-1' });
const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/async-jobs-dev-RetryQueue';
const env = {
  ENDPOINT_NAME: 'ep',
  INPUT_BUCKET: 'in-bucket',
  OUTPUT_BUCKETS: 'out',
  JOBS_TABLE: 'jobs',
};

beforeEach(() => {
  sqsMock.reset();
  // SendMessage's answer: the message id and the MD5 of the body, which the client checks
  // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html#API_SendMessage_ResponseElements).
  sqsMock.on(SendMessageCommand).callsFake(async (input: { MessageBody: string }) => ({
    MessageId: '5fea7756-0ea4-451a-a703-a558b933e274',
    MD5OfMessageBody: createHash('md5').update(input.MessageBody).digest('hex'),
  }));
});

describe('schedulePorts: the SQS retry queue', () => {
  it('sends one message to RETRY_QUEUE_URL: the attempt as its body, the backoff as its delay', async () => {
    const { retries } = schedulePorts(
      loadConfig({ ...env, RETRY_QUEUE_URL: queueUrl }),
      async () => sqs,
    );
    await retries!.schedule({ inferenceId: 'job-1.2', attempt: 2 }, 60);
    expect(sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input)).toEqual([
      {
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify({ inferenceId: 'job-1.2', attempt: 2 }),
        DelaySeconds: 60,
      },
    ]);
  });

  it('has no queue without RETRY_QUEUE_URL', () => {
    expect(schedulePorts(loadConfig(env), async () => sqs).retries).toBeUndefined();
  });
});
