import {
  DynamoDBClient,
  GetItemCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { resetClients } from '../../../src/lib/adapters/clients.ts';
import { resetConfig } from '../../../src/lib/config.ts';
import { lambdaContext } from '../../support/lambda.ts';

// autoRetry's settings, before the handler reads them at import (its cold start).
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/async-jobs-dev-RetryQueue';
process.env.AUTO_RETRY_MAX_ATTEMPTS = '2';
process.env.AUTO_RETRY_BASE_DELAY_SECONDS = '45';
process.env.RETRY_QUEUE_URL = QUEUE;
resetConfig();
resetClients();
const { handler } = await import('../../../src/handlers/autoRetry.ts');

const ddb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
afterAll(() => {
  delete process.env.AUTO_RETRY_MAX_ATTEMPTS;
  delete process.env.AUTO_RETRY_BASE_DELAY_SECONDS;
  delete process.env.RETRY_QUEUE_URL;
  resetConfig();
  resetClients();
  ddb.restore();
  sqs.restore();
});
beforeEach(() => {
  ddb.reset();
  sqs.reset();
  // SendMessage's answer: the id and the body's MD5, which the client checks
  // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html#API_SendMessage_ResponseElements).
  sqs.on(SendMessageCommand).callsFake(async (input: { MessageBody: string }) => ({
    MessageId: '219f8380-5770-4cc2-8c3e-5c715e145f5e',
    MD5OfMessageBody: createHash('md5').update(input.MessageBody).digest('hex'),
  }));
});

const failed = {
  version: '0',
  id: '7a7c1f5e-0b43-4d3a-9d51-7b2f1a0e0c11',
  'detail-type': 'JobFailed' as const,
  source: 'async-jobs',
  account: '123456789012',
  time: '2026-11-26T08:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    inferenceId: 'job-1',
    status: 'FAILED' as const,
    failureReason: 'ClientError: Received server error (500) from primary with message "boom"',
    attempt: 1,
    finalAttempt: false,
  },
};

const sqsEvent = (...bodies: string[]) => ({
  Records: bodies.map((body, i) => ({
    messageId: `m-${i}`,
    receiptHandle: 'r',
    body,
    attributes: {},
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:RetryQueue',
    awsRegion: 'us-east-1',
  })),
});

describe('autoRetry', () => {
  it('JobFailed: queues the retry with its backoff as the delay', async () => {
    await handler(failed as never, lambdaContext('autoRetry'));
    expect(sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: QUEUE, MessageBody: '{"inferenceId":"job-1","attempt":1}', DelaySeconds: 45 },
    ]);
  });

  it('a due message: drops one it cannot read, leaves one that failed in the queue', async () => {
    // GetItem on a table that is not there: DynamoDB's ResourceNotFoundException
    // (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_GetItem.html#API_GetItem_Errors).
    ddb
      .on(GetItemCommand)
      .rejects(
        new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} }),
      );
    const answer = await handler(
      sqsEvent('not json', '{"inferenceId":"job-1","attempt":1}') as never,
      lambdaContext('autoRetry'),
    );
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
  });
});
