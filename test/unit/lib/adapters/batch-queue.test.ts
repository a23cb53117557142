import {
  SQSClient,
  SendMessageBatchCommand,
  ChangeMessageVisibilityCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { groups, sqsBatchQueue } from '../../../../src/lib/adapters/batch-queue.ts';
import type { BatchMessage } from '../../../../src/lib/domain/batches.ts';

const sqs = mockClient(SQSClient);
const URL = 'http://127.0.0.1:4571/000000000000/batches';
const msg = (line: number, body = 'x'): BatchMessage => ({
  t: 'submit',
  batchId: 'b-0123456789abcdef01234567',
  line,
  spec: { body },
});

beforeEach(() => sqs.reset());

describe('the batch queue', () => {
  it('groups entries by 10 and under 256 KiB a call', () => {
    expect(groups(Array.from({ length: 25 }, () => 'a')).map((g) => g.length)).toEqual([10, 10, 5]);
    const big = 'b'.repeat(100 * 1024);
    expect(groups([big, big, big]).map((g) => g.length)).toEqual([2, 1]);
  });

  it('sends again the entries SendMessageBatch reports as failed, once', async () => {
    // SendMessageBatch answers per entry: Successful and Failed lists, HTTP 200
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html).
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [{ Id: '0', MessageId: 'm0', MD5OfMessageBody: '' }],
        Failed: [{ Id: '1', SenderFault: false, Code: 'InternalError' }],
      })
      .resolves({ Successful: [{ Id: '1', MessageId: 'm1', MD5OfMessageBody: '' }], Failed: [] });
    await sqsBatchQueue(() => new SQSClient({ region: 'us-east-1' }), URL).send([msg(1), msg(2)]);
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args[0].input.Entries?.map((e) => e.Id)).toEqual(['1']);
  });

  it('fails the step when SQS refuses an entry twice', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '0', SenderFault: false, Code: 'InternalError' }],
    });
    await expect(
      sqsBatchQueue(() => new SQSClient({ region: 'us-east-1' }), URL).send([msg(1), msg(2)]),
    ).rejects.toThrow('SQS refused');
  });

  it('backs a message off with ChangeMessageVisibility', async () => {
    // ChangeMessageVisibility answers an empty 200
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html).
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    await sqsBatchQueue(() => new SQSClient({ region: 'us-east-1' }), URL).retryLater('h', 64);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]!.args[0].input).toEqual({
      QueueUrl: URL,
      ReceiptHandle: 'h',
      VisibilityTimeout: 64,
    });
  });
});
