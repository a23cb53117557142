import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  InvokeEndpointAsyncCommand,
  SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { JobStore } from '../../../../src/lib/adapters/job-store.ts';
import { eventDetail } from '../../../../src/lib/adapters/events.ts';
import { submitJob } from '../../../../src/lib/app/submit.ts';
import { loadConfig } from '../../../../src/lib/config.ts';
import { publicView, type Job } from '../../../../src/lib/domain/jobs.ts';
import { wantsTaskResult } from '../../../../src/local/eventbridge.ts';
import { answering } from '../../../support/answers.ts';

const ddb = mockClient(DynamoDBClient);
const s3mock = mockClient(S3Client);
const sm = mockClient(SageMakerRuntimeClient);
const s3 = new S3Client({ region: 'us-east-1' });
const sageMaker = new SageMakerRuntimeClient({ region: 'us-east-1' });
const deps = {
  config: loadConfig(),
  store: new JobStore(new DynamoDBClient({ region: 'us-east-1' }), 'jobs'),
  s3: () => s3,
  sageMaker: () => sageMaker,
  now: () => new Date('2026-11-26T08:00:00Z'),
};

beforeEach(() => {
  ddb.reset();
  s3mock.reset();
  sm.reset();
  ddb.on(PutItemCommand).resolves({});
  s3mock.on(PutObjectCommand).resolves({});
  sm.on(InvokeEndpointAsyncCommand).resolves({ OutputLocation: 's3://o/outputs/job-1.out' });
});

describe('POST /jobs?taskToken=', () => {
  it('stores the token with the claim, PENDING, and answers a record without it', async () => {
    ddb.on(UpdateItemCommand).callsFake(() => {
      const claimed = unmarshall(ddb.commandCalls(PutItemCommand)[0]!.args[0].input.Item!);
      return { Attributes: marshall({ ...claimed, outputLocation: 's3://o/outputs/job-1.out' }) };
    });
    const { job } = await submitJob(
      {
        query: { inferenceId: 'job-1', taskToken: 'the-token' },
        contentType: 'text/csv',
        body: Buffer.from('1,2'),
      },
      deps,
    );
    const item = unmarshall(ddb.commandCalls(PutItemCommand)[0]!.args[0].input.Item!);
    expect(item.taskToken).toBe('the-token');
    expect(item.taskCallback).toEqual({ status: 'PENDING', at: '2026-11-26T08:00:00.000Z' });
    expect(JSON.stringify(publicView(job))).not.toContain('the-token');
    expect(publicView(job).taskCallback).toEqual(item.taskCallback);
  });

  it('stores the token a retry carries from the attempt it follows, PENDING again', async () => {
    ddb.on(UpdateItemCommand).callsFake(() => {
      const claimed = unmarshall(ddb.commandCalls(PutItemCommand)[0]!.args[0].input.Item!);
      return { Attributes: marshall(claimed) };
    });
    await submitJob(
      {
        query: {
          inferenceId: 'job-1.2',
          inputLocation: 's3://async-jobs-local-input/inputs/job-1',
        },
        body: Buffer.alloc(0),
        record: { retryOf: 'job-1', attempt: 2, taskToken: 'the-token' },
      },
      deps,
    );
    const item = unmarshall(ddb.commandCalls(PutItemCommand)[0]!.args[0].input.Item!);
    expect(item).toMatchObject({
      taskToken: 'the-token',
      taskCallback: { status: 'PENDING', at: '2026-11-26T08:00:00.000Z' },
    });
  });

  it('refuses an over-long token before anything is claimed', async () => {
    await expect(
      answering(
        submitJob(
          {
            query: { taskToken: 'x'.repeat(2049) },
            body: Buffer.from('1'),
            contentType: 'text/csv',
          },
          deps,
        ),
      ),
    ).rejects.toMatchObject({ status: 400 });
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('the outcome event of a job with a task token', () => {
  it('says hasTaskToken and never carries the token', () => {
    const job: Job = { inferenceId: 'j', status: 'COMPLETED', taskToken: 'the-token' };
    const detail = eventDetail(job);
    expect(detail.hasTaskToken).toBe(true);
    expect(JSON.stringify(detail)).not.toContain('the-token');
    expect(eventDetail({ inferenceId: 'k', status: 'FAILED' })).not.toHaveProperty('hasTaskToken');
  });

  it('reaches the callback rule only when final: a failure an automatic retry follows is not', () => {
    const event = (detail: Record<string, unknown>) => ({
      id: 'e',
      source: 'async-jobs',
      detailType: 'JobFailed',
      eventBusName: 'b',
      time: '2026-11-26T08:00:00Z',
      detail,
    });
    expect(wantsTaskResult(event({ hasTaskToken: true, finalAttempt: true }))).toBe(true);
    expect(wantsTaskResult(event({ hasTaskToken: true, finalAttempt: false }))).toBe(false);
    expect(wantsTaskResult(event({ finalAttempt: true }))).toBe(false);
  });
});
