import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  InvokeEndpointAsyncCommand,
  SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as getJob } from '../../../src/handlers/getJob.ts';
import { handler as onError } from '../../../src/handlers/onError.ts';
import { handler as onSuccess } from '../../../src/handlers/onSuccess.ts';
import { handler as submitJob } from '../../../src/handlers/submitJob.ts';
import { jobStore } from '../../../src/lib/adapters/clients.ts';
import { shardKey } from '../../../src/lib/domain/jobs.ts';
import { lambdaContext } from '../../support/lambda.ts';

const s3mock = mockClient(S3Client);
const ddb = mockClient(DynamoDBClient);
const sm = mockClient(SageMakerRuntimeClient);
const event = (name: string) => JSON.parse(readFileSync(`events/${name}`, 'utf8'));
type Answer = { statusCode: number; headers: Record<string, string>; body: string };
const call = (h: unknown, e: unknown, name: string) =>
  (h as (e: unknown, c: unknown) => Promise<Answer>)(e, lambdaContext(name));

beforeEach(() => {
  s3mock.reset();
  ddb.reset();
  sm.reset();
});

describe('submitJob handler', () => {
  beforeEach(() => {
    ddb.on(PutItemCommand).resolves({});
    ddb.on(UpdateItemCommand).resolves({
      Attributes: marshall({
        inferenceId: 'sample-submit-1',
        status: 'IN_PROGRESS',
        outputLocation: 's3://async-jobs-local-output/outputs/o.out',
        expiresAt: 123,
      }),
    });
    s3mock.on(PutObjectCommand).resolves({});
    sm.on(InvokeEndpointAsyncCommand).resolves({
      OutputLocation: 's3://async-jobs-local-output/outputs/o.out',
    });
  });

  it('answers 202 with Location and the record, without expiresAt', async () => {
    const res = await call(submitJob, event('submit.json'), 'submitJob');
    expect(res.statusCode).toBe(202);
    expect(res.headers.location).toBe('/jobs/sample-submit-1');
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ inferenceId: 'sample-submit-1', status: 'IN_PROGRESS' });
    expect(body).not.toHaveProperty('expiresAt');
  });

  it('writes the base64 sample body byte-exact', async () => {
    await call(submitJob, event('submit-base64.json'), 'submitJob');
    const body = s3mock.commandCalls(PutObjectCommand)[0]!.args[0].input.Body as Uint8Array;
    expect(Buffer.from(body)).toEqual(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  });

  it('answers errors as {"message"} only, never a stack', async () => {
    const e = event('submit.json');
    e.queryStringParameters = { inferenceId: 'bad id!' };
    const res = await call(submitJob, e, 'submitJob');
    expect(res.statusCode).toBe(400);
    expect(Object.keys(JSON.parse(res.body))).toEqual(['message']);
    expect(res.body).not.toMatch(/at .*\.ts/);
  });
});

describe('getJob handler', () => {
  it('answers 200 with the record minus expiresAt', async () => {
    ddb.on(GetItemCommand).resolves({
      Item: marshall({ inferenceId: 'sample-success-1', status: 'COMPLETED', expiresAt: 1 }),
    });
    const res = await call(getJob, event('get.json'), 'getJob');
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ inferenceId: 'sample-success-1', status: 'COMPLETED' });
  });

  it('answers 404 for an unknown id and 400 for an impossible one', async () => {
    ddb.on(GetItemCommand).resolves({});
    expect((await call(getJob, event('get.json'), 'getJob')).statusCode).toBe(404);
    const e = event('get.json');
    e.pathParameters = { inferenceId: 'x'.repeat(65) };
    expect((await call(getJob, e, 'getJob')).statusCode).toBe(400);
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(1);
  });

  it('answers 503 when DynamoDB is unreachable', async () => {
    ddb
      .on(GetItemCommand)
      .rejects(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    expect((await call(getJob, event('get.json'), 'getJob')).statusCode).toBe(503);
  });
});

/*
 * The handlers end jobs through the process's JobStore, the adapter the contract suite holds on
 * dynalite (test/contract/job-repository.contract.ts): what each asks of it is read off the
 * store, never parsed back out of the UpdateItem it sends.
 */
describe('result handlers with the sample events', () => {
  beforeEach(() => ddb.on(UpdateItemCommand).resolves({}));
  afterEach(() => vi.restoreAllMocks());
  const transitions = () => vi.spyOn(jobStore(), 'transition');

  it('onSuccess reads the output and stores it', async () => {
    s3mock.on(GetObjectCommand).resolves({
      Body: Readable.from([Buffer.from('{"scores":[0.62,0.91]}')]) as never,
      ContentLength: 22,
      ContentType: 'application/json',
    });
    const transition = transitions();
    await call(onSuccess, event('success.json'), 'onSuccess');
    expect(transition).toHaveBeenCalledTimes(1);
    expect(transition).toHaveBeenCalledWith(
      'sample-success-1',
      expect.objectContaining({ status: 'COMPLETED', result: '{"scores":[0.62,0.91]}' }),
    );
    expect(ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input.Key).toEqual({
      inferenceId: { S: 'sample-success-1' },
    });
  });

  it('onSuccess with responseBody never reads S3', async () => {
    await call(onSuccess, event('success-response-body.json'), 'onSuccess');
    expect(s3mock.calls()).toHaveLength(0);
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(1);
  });

  it('onSuccess answers an SQS batch with no failures when all records land', async () => {
    const res = await call(onSuccess, event('success-sqs.json'), 'onSuccess');
    expect(res).toEqual({ batchItemFailures: [] });
  });

  it('onError stores the failure and refuses the success topic', async () => {
    s3mock
      .on(GetObjectCommand)
      .resolves({ Body: Readable.from([Buffer.from('OOM')]) as never, ContentLength: 3 });
    const transition = transitions();
    await call(onError, event('failure.json'), 'onError');
    expect(transition).toHaveBeenCalledWith(
      'sample-failure-1',
      expect.objectContaining({ status: 'FAILED' }),
    );
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(1);
    await expect(call(onError, event('success-response-body.json'), 'onError')).rejects.toThrow();
  });
});

describe('the other sample events', () => {
  it('getResult, listJobs and createUpload accept theirs', async () => {
    const { handler: getResult } = await import('../../../src/handlers/getResult.ts');
    const { handler: listJobs } = await import('../../../src/handlers/listJobs.ts');
    const { handler: createUpload } = await import('../../../src/handlers/createUpload.ts');
    ddb.on(GetItemCommand).resolves({
      Item: marshall({
        inferenceId: 'sample-success-1',
        status: 'COMPLETED',
        result: '[1]',
        resultEncoding: 'utf8',
      }),
    });
    const res = await call(getResult, event('get-result.json'), 'getResult');
    expect(res.statusCode).toBe(200);
    expect(Buffer.from(res.body, 'base64').toString()).toBe('[1]');
    // The job is in one shard of the status's index; its record is read for the page.
    const listed = marshall({ inferenceId: 'a', status: 'COMPLETED', result: 'x' });
    ddb
      .on(QueryCommand)
      .resolves({ Items: [] })
      .on(QueryCommand, { ExpressionAttributeValues: { ':k': { S: shardKey('COMPLETED', 'a') } } })
      .resolves({ Items: [listed] });
    ddb.on(GetItemCommand, { Key: { inferenceId: { S: 'a' } } }).resolves({ Item: listed });
    const list = await call(listJobs, event('list.json'), 'listJobs');
    expect(JSON.parse(list.body)).toEqual({ jobs: [{ inferenceId: 'a', status: 'COMPLETED' }] });
    const upload = await call(createUpload, event('upload.json'), 'createUpload');
    expect(upload.statusCode).toBe(201);
    expect(JSON.parse(upload.body).uploadUrl).toContain('X-Amz-Signature=');
  });

  it('reconcile accepts the scheduled event and reports what it checked', async () => {
    const { handler: reconcile } = await import('../../../src/handlers/reconcile.ts');
    ddb.on(QueryCommand).resolves({ Items: [] });
    // Its cursor: none yet, then saved.
    ddb.on(GetItemCommand).resolves({});
    ddb.on(UpdateItemCommand).resolves({});
    expect(await call(reconcile, event('reconcile.json'), 'reconcile')).toMatchObject({
      checked: 0,
      errors: 0,
    });
  });
});
