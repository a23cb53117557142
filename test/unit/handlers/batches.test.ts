import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resetBatchClients } from '../../../src/lib/adapters/batch-clients.ts';
import { resetConfig } from '../../../src/lib/config.ts';
import { lambdaContext } from '../../support/lambda.ts';

const s3mock = mockClient(S3Client);
const ddb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
const event = (name: string) => JSON.parse(readFileSync(`events/${name}`, 'utf8'));
type Answer = { statusCode: number; headers: Record<string, string>; body: string };
type Handler = (e: unknown, c: unknown) => Promise<Answer>;
const QUEUE = 'http://127.0.0.1:4571/000000000000/async-jobs-local-batches';

let createBatch: Handler;
let getBatch: Handler;

beforeAll(async () => {
  process.env.BATCH_QUEUE_URL = QUEUE;
  resetConfig();
  resetBatchClients();
  createBatch = (await import('../../../src/handlers/createBatch.ts')).handler as never;
  getBatch = (await import('../../../src/handlers/getBatch.ts')).handler as never;
});
afterAll(() => {
  delete process.env.BATCH_QUEUE_URL;
  resetConfig();
  resetBatchClients();
});
beforeEach(() => {
  s3mock.reset();
  ddb.reset();
  sqs.reset();
});

describe('createBatch handler', () => {
  it('answers 202 with Location, after storing the manifest and queuing its first step', async () => {
    // PutItem and PutObject answer 200 with no body of interest; SendMessage a MessageId
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
    ddb.on(PutItemCommand).resolves({});
    s3mock.on(PutObjectCommand).resolves({ ETag: '"e"' });
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1', MD5OfMessageBody: 'x' });
    const res = await createBatch(event('batch-create.json'), lambdaContext('createBatch'));
    expect(res.statusCode).toBe(202);
    const body = JSON.parse(res.body);
    expect(res.headers.location).toBe(`/batches/${body.batchId}`);
    expect(body).toMatchObject({ state: 'EXPANDING', counts: { submitted: 0 } });
    const put = s3mock.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put.Key).toBe(`batches/${body.batchId}/manifest.jsonl`);
    const sent = JSON.parse(sqs.commandCalls(SendMessageCommand)[0]!.args[0].input.MessageBody!);
    expect(sent).toEqual({ t: 'expand', batchId: body.batchId, block: 0, offset: 0, line: 1 });
  });

  it('answers 400 naming the malformed line, before storing anything', async () => {
    const e = event('batch-create.json');
    e.body = '{"body":"a"}\n{"body":"b","inferenceId":"no spaces allowed"}\n';
    const res = await createBatch(e, lambdaContext('createBatch'));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).message).toMatch(/^line 2: /);
    expect(s3mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});

describe('getBatch handler', () => {
  it('answers 404 for an unknown or malformed id', async () => {
    ddb.on(GetItemCommand).resolves({});
    const e = event('get.json');
    e.pathParameters = { batchId: 'b-0123456789abcdef01234567' };
    expect((await getBatch(e, lambdaContext('getBatch'))).statusCode).toBe(404);
    e.pathParameters = { batchId: '../x' };
    expect((await getBatch(e, lambdaContext('getBatch'))).statusCode).toBe(404);
  });
});
