import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, NotFound, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import {
  InvokeEndpointAsyncCommand,
  SageMakerRuntimeClient,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/lib/config.ts';
import { JobStore } from '../../../../src/lib/adapters/job-store.ts';
import { jobsFromMessage } from '../../../../src/lib/app/trigger.ts';
import { answering } from '../../../support/answers.ts';
import { submitPorts } from '../../../../src/lib/wiring/submit.ts';

const s3mock = mockClient(S3Client);
const ddb = mockClient(DynamoDBClient);
const sm = mockClient(SageMakerRuntimeClient);
const s3 = new S3Client({ region: 'us-east-1' });
const sageMaker = new SageMakerRuntimeClient({ region: 'us-east-1' });
const config = loadConfig({ ...process.env, TRIGGER_PREFIX: 'drop/' });
const rules = {
  inputBucket: config.inputBucket,
  prefix: 'drop/',
  inputPrefix: 'inputs/',
  maxBytes: 1_000_000,
  contentTypes: [] as string[],
};
// Through the wiring: the S3 adapter's HeadObject answers (404, 403) are part of what is tested.
const deps = {
  ...submitPorts({
    config,
    store: new JobStore(new DynamoDBClient({ region: 'us-east-1' }), 'jobs'),
    s3: () => s3,
    sageMaker: () => sageMaker,
    now: () => new Date('2026-11-26T12:00:00Z'),
  }),
  rules,
};

const created = (key: string, size = 5) => ({
  source: 'aws.s3',
  'detail-type': 'Object Created',
  detail: { bucket: { name: config.inputBucket }, object: { key, size, etag: 'abc' } },
});

// HeadObject has no body: a missing key is a bare 404 the SDK names NotFound; without
// s3:ListBucket it would be a 403 (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
const notFound = () =>
  new NotFound({ message: 'UnknownError', $metadata: { httpStatusCode: 404 } });

beforeEach(() => {
  s3mock.reset();
  ddb.reset();
  sm.reset();
  s3mock
    .on(HeadObjectCommand)
    .resolves({ ContentType: 'image/png', ContentLength: 5, ETag: '"abc"' });
  ddb.on(PutItemCommand).resolves({});
  ddb.on(DeleteItemCommand).resolves({});
  ddb.on(UpdateItemCommand).callsFake((input) => ({
    Attributes: marshall({ inferenceId: input.Key.inferenceId.S, status: 'IN_PROGRESS' }),
  }));
  sm.on(InvokeEndpointAsyncCommand).resolves({
    InferenceId: 'x',
    OutputLocation: 's3://out/outputs/x.out',
  });
});

describe('jobsFromMessage', () => {
  it('submits the dropped object where it lies, with its own Content-Type, under an id derived from it', async () => {
    const [outcome] = await jobsFromMessage(created('drop/scan 1.png'), deps);
    expect(outcome).toMatchObject({
      result: 'submitted',
      inferenceId: expect.stringMatching(/^s3-scan-1\.png-/),
    });
    const invoke = sm.commandCalls(InvokeEndpointAsyncCommand)[0]!.args[0].input;
    expect(invoke).toMatchObject({
      InputLocation: `s3://${config.inputBucket}/drop/scan 1.png`,
      ContentType: 'image/png',
      InferenceId: (outcome as { inferenceId: string }).inferenceId,
    });
    // The input is already in the bucket: nothing is copied.
    expect(s3mock.commandCalls(HeadObjectCommand)).toHaveLength(1);
    expect(s3mock.calls()).toHaveLength(1);
  });

  it('answers a repeated event with the existing job and never invokes twice', async () => {
    ddb
      .on(PutItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }));
    ddb
      .on(GetItemCommand)
      .resolves({ Item: marshall({ inferenceId: 'dup', status: 'IN_PROGRESS' }) });
    const [outcome] = await jobsFromMessage(created('drop/a.csv'), deps);
    expect(outcome!.result).toBe('duplicate');
    expect(sm.calls()).toHaveLength(0);
  });

  it('refuses, once and without retry, an object deleted before it was read', async () => {
    s3mock.on(HeadObjectCommand).rejects(notFound());
    const [outcome] = await jobsFromMessage(created('drop/a.csv'), deps);
    expect(outcome).toMatchObject({ result: 'refused', reason: 'gone' });
    expect(sm.calls()).toHaveLength(0);
  });

  it('finds a key it was sent encoded ("+" for a space) by its decoded form', async () => {
    s3mock.on(HeadObjectCommand, { Key: 'drop/red+flower.jpg' }).rejects(notFound());
    const [outcome] = await jobsFromMessage(created('drop/red+flower.jpg'), deps);
    expect(outcome!.result).toBe('submitted');
    expect(sm.commandCalls(InvokeEndpointAsyncCommand)[0]!.args[0].input.InputLocation).toBe(
      `s3://${config.inputBucket}/drop/red flower.jpg`,
    );
  });

  it('refuses a type outside the allow-list, a folder marker type, and an object grown too large', async () => {
    const only = { ...deps, rules: { ...rules, contentTypes: ['text/csv'] } };
    expect((await jobsFromMessage(created('drop/a.png'), only))[0]).toMatchObject({
      result: 'refused',
      reason: 'unsupported-type',
    });
    s3mock
      .on(HeadObjectCommand)
      .resolves({ ContentType: 'application/x-directory', ContentLength: 5 });
    expect((await jobsFromMessage(created('drop/b'), deps))[0]).toMatchObject({
      reason: 'unsupported-type',
    });
    s3mock.on(HeadObjectCommand).resolves({ ContentType: 'text/csv', ContentLength: 2_000_000 });
    expect((await jobsFromMessage(created('drop/c.csv'), deps))[0]).toMatchObject({
      reason: 'too-large',
    });
    expect(sm.calls()).toHaveLength(0);
  });

  it('refuses what SageMaker rejects as invalid (it would fail the same way every time) and releases the claim', async () => {
    sm.on(InvokeEndpointAsyncCommand).rejects(
      new ValidationError({
        message: 'Input location is invalid',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const [outcome] = await jobsFromMessage(created('drop/a.csv'), deps);
    expect(outcome).toMatchObject({ result: 'refused', reason: 'rejected' });
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(1);
  });

  it('throws what a retry can fix: throttling, and a 403 that says a permission is missing', async () => {
    // InvokeEndpointAsync answers 429 ThrottlingException when throttled
    // (https://docs.aws.amazon.com/sagemaker/latest/APIReference/CommonErrors.html).
    sm.on(InvokeEndpointAsyncCommand).rejects(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 429 },
      }),
    );
    await expect(answering(jobsFromMessage(created('drop/a.csv'), deps))).rejects.toMatchObject({
      status: 429,
    });
    s3mock.on(HeadObjectCommand).rejects(
      new S3ServiceException({
        name: 'Forbidden',
        $fault: 'client',
        message: 'Forbidden',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    await expect(jobsFromMessage(created('drop/b.csv'), deps)).rejects.toThrow(/AccessDenied/);
  });

  it("acknowledges S3's test event and anything that is not an object-created event, calling nothing", async () => {
    expect(
      await jobsFromMessage({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' }, deps),
    ).toEqual([{ result: 'test' }]);
    expect((await jobsFromMessage(undefined, deps))[0]!.result).toBe('unknown');
    expect(s3mock.calls()).toHaveLength(0);
    expect(sm.calls()).toHaveLength(0);
  });
});
