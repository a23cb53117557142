import { vi } from 'vitest';

// Before the handlers read their configuration at cold start: a bus and a batch queue, as
// serverless.yml gives every function that ends a job.
vi.hoisted(() => {
  process.env.EVENT_BUS_NAME = 'async-jobs-test';
  process.env.BATCH_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/BatchQueue';
  process.env.RECONCILE_AFTER_SECONDS = '0';
});

import {
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as getJob } from '../../../src/handlers/getJob.ts';
import { handler as reconcile } from '../../../src/handlers/reconcile.ts';
import { lambdaContext } from '../../support/lambda.ts';

/*
 * getJob's S3 check and the scheduled reconcile end jobs too: through their handlers (the deps
 * they build from the environment), the last job of a batch ended there counts its line and
 * queues the batch's finish, as onSuccess/onError do. AWS calls mocked (aws-sdk-client-mock); the
 * DynamoDB answers are the ones each call gets from the real table (ReturnValues ALL_NEW).
 */

const ddb = mockClient(DynamoDBClient);
const s3mock = mockClient(S3Client);
const sqsMock = mockClient(SQSClient);
const ebMock = mockClient(EventBridgeClient);

const BATCH = 'b-0123456789abcdef01234567';
const ID = `${BATCH}-2`;
const BATCH_KEY = `\u0000batch\u0000${BATCH}`;
const stale = {
  inferenceId: ID,
  status: 'IN_PROGRESS',
  endpointName: 'demo-endpoint',
  submittedAt: new Date(Date.now() - 3_600_000).toISOString(),
  outputLocation: `s3://async-jobs-local-output/outputs/${ID}.out`,
  failureLocation: `s3://async-jobs-local-output/failures/${ID}-error.out`,
  shardKey: 'IN_PROGRESS#07',
  batchId: BATCH,
  batchLine: 2,
  expiresAt: 2_000_000_000,
};

/** What the table answers each UpdateItem: the transition, the marker, the batch counters. */
function updated(input: UpdateItemCommandInput) {
  const key = input.Key?.inferenceId?.S;
  if (key === ID) {
    return {
      Attributes: marshall({ ...stale, status: 'COMPLETED', shardKey: 'COMPLETED#07' }),
    };
  }
  if (key === `${BATCH_KEY}#0`) {
    // Line 1 had ended before; this call added line 2: the block is done.
    return {
      Attributes: {
        inferenceId: { S: key },
        expected: { N: '2' },
        submitted: { NS: ['1', '2'] },
        completed: { NS: ['1', '2'] },
      },
    };
  }
  if (key === BATCH_KEY && input.UpdateExpression?.startsWith('ADD doneBlocks')) {
    return {
      Attributes: {
        ...marshall({ inferenceId: key, batchId: BATCH, createdAt: '2026-11-24T00:00:00Z' }),
        blocks: { N: '1' },
        doneBlocks: { NS: ['0'] },
      },
    };
  }
  return {};
}

beforeEach(() => {
  ddb.reset();
  s3mock.reset();
  sqsMock.reset();
  ebMock.reset();
  ddb.on(GetItemCommand, { Key: { inferenceId: { S: ID } } }).resolves({ Item: marshall(stale) });
  ddb.on(UpdateItemCommand).callsFake(updated);
  ddb.on(QueryCommand).callsFake((input) =>
    input.ExpressionAttributeValues?.[':k']?.S === stale.shardKey
      ? {
          Items: [
            marshall({
              inferenceId: ID,
              submittedAt: stale.submittedAt,
              shardKey: stale.shardKey,
            }),
          ],
        }
      : { Items: [] },
  );
  s3mock.on(GetObjectCommand, { Key: `outputs/${ID}.out` }).resolves({
    Body: Readable.from([Buffer.from('0.5\n')]) as never,
    ContentLength: 4,
    ContentType: 'text/csv',
  });
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  ebMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
});

/** Every expectation of a batch's last job ended: its line, the finish once, its event once. */
function expectBatchFinished() {
  const counted = ddb
    .commandCalls(UpdateItemCommand)
    .map((c) => c.args[0].input)
    .filter((i) => i.Key?.inferenceId?.S === `${BATCH_KEY}#0`);
  expect(counted.map((i) => [i.UpdateExpression, i.ExpressionAttributeNames?.['#s']])).toEqual([
    ['ADD #s :l', 'completed'],
  ]);
  const finishes = ddb
    .commandCalls(UpdateItemCommand)
    .filter((c) => c.args[0].input.UpdateExpression === 'SET finishedAt = :at');
  expect(finishes).toHaveLength(1);
  const sent = sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
  expect(sent.map((m) => [m.QueueUrl, JSON.parse(m.MessageBody!)])).toEqual([
    [process.env.BATCH_QUEUE_URL, { t: 'finish', batchId: BATCH }],
  ]);
  const events = ebMock.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries!);
  expect(events.map((e) => e.DetailType)).toEqual(['JobCompleted']);
}

describe('a batch whose last job is ended', () => {
  it("by getJob's S3 check counts its line and queues the batch's finish", async () => {
    const run = getJob as unknown as (e: unknown, c: unknown) => Promise<{ body: string }>;
    const res = await run(
      { version: '2.0', headers: {}, pathParameters: { inferenceId: ID } },
      lambdaContext('getJob'),
    );
    expect(JSON.parse(res.body)).toMatchObject({ status: 'COMPLETED', batchId: BATCH });
    expectBatchFinished();
  });

  it("by reconcile finding its output counts its line and queues the batch's finish", async () => {
    const run = reconcile as unknown as (e: unknown, c: unknown) => Promise<unknown>;
    expect(await run({}, lambdaContext('reconcile'))).toMatchObject({ completed: 1, errors: 0 });
    expectBatchFinished();
  });
});
