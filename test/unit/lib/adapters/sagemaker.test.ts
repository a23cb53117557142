import {
  InvokeEndpointAsyncCommand,
  ModelNotReadyException,
  SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { invokeError, sageMakerEndpoint } from '../../../../src/lib/adapters/sagemaker.ts';
import { AppError } from '../../../../src/lib/domain/errors.ts';
import { errorAnswer } from '../../../../src/lib/http/errors.ts';

describe('sageMakerEndpoint', () => {
  it('sends InvokeEndpointAsync with every parameter and a predictable output key', async () => {
    const sm = mockClient(SageMakerRuntimeClient);
    sm.on(InvokeEndpointAsyncCommand).resolves({
      InferenceId: 'job-1',
      OutputLocation: 's3://async-jobs-local-output/outputs/demo-endpoint/job-1.out',
      FailureLocation: 's3://async-jobs-local-output/failures/demo-endpoint/job-1.out',
    });
    const client = new SageMakerRuntimeClient({ region: 'us-east-1' });
    const queued = await sageMakerEndpoint(() => client).invokeAsync({
      endpointName: 'demo-endpoint',
      input: { bucket: 'async-jobs-local-input', key: 'inputs/job-1' },
      inferenceId: 'job-1',
      contentType: 'text/csv',
      accept: 'application/json',
      customAttributes: 'delay_ms=10',
      requestTtlSeconds: 600,
      invocationTimeoutSeconds: 120,
    });
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
    expect(queued).toEqual({
      outputLocation: 's3://async-jobs-local-output/outputs/demo-endpoint/job-1.out',
      failureLocation: 's3://async-jobs-local-output/failures/demo-endpoint/job-1.out',
    });
    sm.restore();
  });

  it('answers a refusal as the AppError a client can act on', async () => {
    const sm = mockClient(SageMakerRuntimeClient);
    sm.on(InvokeEndpointAsyncCommand).rejects(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 429 },
      }),
    );
    const client = new SageMakerRuntimeClient({ region: 'us-east-1' });
    const err = await sageMakerEndpoint(() => client)
      .invokeAsync({
        endpointName: 'demo-endpoint',
        input: { bucket: 'b', key: 'k' },
        inferenceId: 'x',
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(errorAnswer(err as AppError).status).toBe(429);
    sm.restore();
  });
});

describe('invokeError', () => {
  it('says the model is not ready, not that the endpoint throttles, for ModelNotReadyException', () => {
    // SageMaker answers it (HTTP 429) while the model loads; the local runtime while the container
    // of --model-url has not passed /ping.
    const err = new ModelNotReadyException({
      message: 'not ready',
      $metadata: { httpStatusCode: 429 },
    });
    const answer = invokeError(err);
    expect(errorAnswer(answer).status).toBe(429);
    expect(answer.retryable).toBe(true);
    expect(answer.message).toBe(
      "the endpoint's model is not ready (its container has not answered /ping yet); retry with the same inferenceId",
    );
    expect(errorAnswer(answer).headers['Retry-After']).toBe('10');
    expect(
      invokeError(Object.assign(new Error('x'), { name: 'ThrottlingException' })).message,
    ).toBe('the endpoint is throttling requests; retry with the same inferenceId');
  });
});
