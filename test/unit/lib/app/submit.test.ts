import {
  DynamoDBClient,
  PutItemCommand,
  DeleteItemCommand,
  UpdateItemCommand,
  GetItemCommand,
  ConditionalCheckFailedException,
} from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  InvokeEndpointAsyncCommand,
  SageMakerRuntimeClient,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/lib/config.ts';
import { AppError } from '../../../../src/lib/domain/errors.ts';
import { errorAnswer } from '../../../../src/lib/http/errors.ts';
import { JobStore } from '../../../../src/lib/adapters/job-store.ts';
import { invokeError } from '../../../../src/lib/adapters/sagemaker.ts';
import { submitJob } from '../../../../src/lib/app/submit.ts';
import { parseSubmitQuery } from '../../../../src/lib/domain/submission.ts';
import { assignments } from '../../../support/expressions.ts';
import { answeringSync } from '../../../support/answers.ts';

const s3mock = mockClient(S3Client);
const ddb = mockClient(DynamoDBClient);
const sm = mockClient(SageMakerRuntimeClient);
const s3 = new S3Client({ region: 'us-east-1' });
const sageMaker = new SageMakerRuntimeClient({ region: 'us-east-1' });
const deps = {
  config: loadConfig(),
  store: new JobStore(new DynamoDBClient({ region: 'us-east-1' }), 'jobs'),
  s3: () => s3,
  sageMaker: () => sageMaker,
  now: () => new Date('2026-11-24T12:00:00Z'),
  newId: () => '00000000-0000-4000-8000-000000000000',
};
const csv = Buffer.from('1,2\n3,4\n');

async function status(p: Promise<unknown>): Promise<number> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return err instanceof AppError ? errorAnswer(err).status : 0;
}

beforeEach(() => {
  s3mock.reset();
  ddb.reset();
  sm.reset();
  ddb.on(PutItemCommand).resolves({});
  ddb.on(UpdateItemCommand).callsFake((input) => ({
    Attributes: marshall({ inferenceId: input.Key.inferenceId.S, status: 'IN_PROGRESS' }),
  }));
  s3mock.on(PutObjectCommand).resolves({});
  sm.on(InvokeEndpointAsyncCommand).resolves({
    InferenceId: 'x',
    OutputLocation: 's3://async-jobs-local-output/outputs/x.out',
    FailureLocation: 's3://async-jobs-local-output/failures/x-error.out',
  });
});

describe('submitJob', () => {
  it('stores the body, invokes with every parameter, records the locations', async () => {
    const res = await submitJob(
      {
        query: {
          inferenceId: 'job-1',
          accept: 'application/json',
          customAttributes: 'delay_ms=10',
          requestTtlSeconds: '600',
          invocationTimeoutSeconds: '120',
        },
        contentType: 'text/csv',
        body: csv,
      },
      deps,
    );
    expect(res.created).toBe(true);
    const put = s3mock.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put).toMatchObject({
      Bucket: 'async-jobs-local-input',
      Key: 'inputs/job-1',
      ContentType: 'text/csv',
    });
    expect(Buffer.from(put.Body as Uint8Array)).toEqual(csv);
    expect(sm.commandCalls(InvokeEndpointAsyncCommand)[0]!.args[0].input).toEqual({
      EndpointName: 'demo-endpoint',
      InputLocation: 's3://async-jobs-local-input/inputs/job-1',
      InferenceId: 'job-1',
      S3OutputPathExtension: 'demo-endpoint',
      Filename: 'job-1.out',
      ContentType: 'text/csv',
      Accept: 'application/json',
      CustomAttributes: 'delay_ms=10',
      RequestTTLSeconds: 600,
      InvocationTimeoutSeconds: 120,
    });
    const update = ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input;
    expect(assignments(update).outputLocation?.value).toEqual({
      S: 's3://async-jobs-local-output/outputs/x.out',
    });
  });

  it('routes to an allow-listed endpoint and records it on the job', async () => {
    const multi = {
      ...deps,
      config: { ...deps.config, endpointNames: ['demo-endpoint', 'other-ep'] },
    };
    await submitJob({ query: { endpoint: 'other-ep' }, contentType: 'text/csv', body: csv }, multi);
    expect(sm.commandCalls(InvokeEndpointAsyncCommand)[0]!.args[0].input.EndpointName).toBe(
      'other-ep',
    );
    expect(ddb.commandCalls(PutItemCommand)[0]!.args[0].input.Item?.endpointName).toEqual({
      S: 'other-ep',
    });
  });

  it('answers 400 for an endpoint outside the allow-list and invokes nothing', async () => {
    expect(
      await status(
        submitJob({ query: { endpoint: 'not-allowed' }, contentType: 'text/csv', body: csv }, deps),
      ),
    ).toBe(400);
    expect(
      await status(
        submitJob({ query: { endpoint: 'bad name!' }, contentType: 'text/csv', body: csv }, deps),
      ),
    ).toBe(400);
    expect(sm.calls()).toHaveLength(0);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('claims before it uploads or invokes', async () => {
    await submitJob({ query: {}, contentType: 'text/csv', body: csv }, deps);
    const claim = ddb.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(claim.Item?.inferenceId).toEqual({ S: '00000000-0000-4000-8000-000000000000' });
    expect(claim.Item?.expiresAt).toEqual({
      N: String(Date.parse('2026-11-24T12:00:00Z') / 1000 + 30 * 86_400),
    });
  });

  it('answers an existing id with the record and invokes nothing', async () => {
    ddb
      .on(PutItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }));
    ddb
      .on(GetItemCommand)
      .resolves({ Item: marshall({ inferenceId: 'dup', status: 'COMPLETED' }) });
    const res = await submitJob(
      { query: { inferenceId: 'dup' }, contentType: 'text/csv', body: csv },
      deps,
    );
    expect(res).toEqual({ created: false, job: { inferenceId: 'dup', status: 'COMPLETED' } });
    expect(s3mock.calls()).toHaveLength(0);
    expect(sm.calls()).toHaveLength(0);
  });

  it('releases the claim when SageMaker throttles, and answers 429', async () => {
    sm.on(InvokeEndpointAsyncCommand).rejects(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 429 },
      }),
    );
    expect(
      await status(
        submitJob({ query: { inferenceId: 't' }, contentType: 'text/csv', body: csv }, deps),
      ),
    ).toBe(429);
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(1);
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });

  it('releases the claim when the upload fails, and answers 503', async () => {
    s3mock.on(PutObjectCommand).rejects(new Error('socket hang up'));
    expect(await status(submitJob({ query: {}, contentType: 'text/csv', body: csv }, deps))).toBe(
      503,
    );
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(1);
    expect(sm.calls()).toHaveLength(0);
  });

  it('does not upload when the input is given by location', async () => {
    await submitJob(
      {
        query: { inputLocation: 's3://async-jobs-local-input/big/x.csv' },
        contentType: 'text/csv',
        body: Buffer.alloc(0),
      },
      deps,
    );
    expect(s3mock.calls()).toHaveLength(0);
    expect(sm.commandCalls(InvokeEndpointAsyncCommand)[0]!.args[0].input.InputLocation).toBe(
      's3://async-jobs-local-input/big/x.csv',
    );
  });

  it.each([
    [{ inferenceId: 'has space' }, 400],
    [{ inferenceId: '.starts-with-dot' }, 400],
    [{ requestTtlSeconds: '21601' }, 400],
    [{ requestTtlSeconds: '12.5' }, 400],
    [{ invocationTimeoutSeconds: '0' }, 400],
    [{ customAttributes: 'x'.repeat(1025) }, 400],
    [{ customAttributes: 'caf\u00e9' }, 400],
    [{ accept: 'not a type' }, 400],
    [{ inputLocation: 's3://async-jobs-local-input/x' }, 400], // and a body
  ])('rejects %j with %i before touching anything', async (query, code) => {
    expect(await status(submitJob({ query, contentType: 'text/csv', body: csv }, deps))).toBe(code);
    expect(ddb.calls()).toHaveLength(0);
    expect(sm.calls()).toHaveLength(0);
  });

  it('rejects an empty body (400), a bad content type (415) and a huge body (413)', async () => {
    expect(
      await status(submitJob({ query: {}, contentType: 'text/csv', body: Buffer.alloc(0) }, deps)),
    ).toBe(400);
    expect(
      await status(submitJob({ query: {}, contentType: 'text/csv;;\u0001', body: csv }, deps)),
    ).toBe(415);
    expect(
      await status(
        submitJob(
          { query: {}, contentType: 'text/csv', body: Buffer.alloc(6 * 1024 * 1024) },
          deps,
        ),
      ),
    ).toBe(413);
  });

  it('defaults the content type of a body to application/octet-stream', async () => {
    await submitJob({ query: {}, body: csv }, deps);
    expect(sm.commandCalls(InvokeEndpointAsyncCommand)[0]!.args[0].input.ContentType).toBe(
      'application/octet-stream',
    );
  });
});

describe('invokeError', () => {
  it('maps SageMaker errors to answers a client can act on', () => {
    const answer = (err: unknown) => errorAnswer(invokeError(err));
    expect(
      answer(new ValidationError({ message: 'Endpoint x not found.', $metadata: {} })).status,
    ).toBe(400);
    const unavailable = answer(new ServiceUnavailable({ message: 'down', $metadata: {} }));
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers['Retry-After']).toBeDefined();
    expect(answer(Object.assign(new Error('x'), { name: 'ThrottlingException' })).status).toBe(429);
    expect(answer(new Error('ECONNRESET')).status).toBe(503);
  });

  it("never answers SageMaker's own text, which can name the account", () => {
    // InvokeEndpointAsync answers an unknown endpoint with ValidationError (HTTP 400) whose message
    // names the endpoint's account: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpointAsync.html#API_runtime_InvokeEndpointAsync_Errors
    const err = new ValidationError({
      message: 'Endpoint my-endpoint of account 123456789012 not found.',
      $metadata: { httpStatusCode: 400, requestId: 'b0e3c3a5-1111-2222-3333-444455556666' },
    });
    const answer = invokeError(err);
    expect(errorAnswer(answer).status).toBe(400);
    expect(answer.message).not.toContain('123456789012');
    expect(answer.message).not.toContain('my-endpoint of account');
    expect(answer.message).toBe(
      'SageMaker rejected the request (ValidationError): check the endpoint, the content type and the parameters; SageMaker request id b0e3c3a5-1111-2222-3333-444455556666',
    );
  });
});

describe('parseSubmitQuery', () => {
  it.each([
    ['accept', `a/b;${' '.repeat(200_000)}\u0000`, 'accept must be at most 1024 characters'],
    ['customAttributes', 'x'.repeat(1_000_000), 'customAttributes must be at most 1024 characters'],
    ['endpoint', `a${'-'.repeat(100_000)}!`, 'endpoint must be a SageMaker endpoint name'],
    ['inferenceId', 'a'.repeat(100_000), 'inferenceId must be at most 64 characters'],
  ])(
    'bounds %s before its pattern runs: one message, no regex over a long value',
    (name, value, message) => {
      expect(answeringSync(() => parseSubmitQuery({ [name]: value }))).toThrow(
        expect.objectContaining({ message, status: 400 }),
      );
    },
  );
});
