import {
  InvokeEndpointAsyncCommand,
  type InvokeEndpointAsyncCommandInput,
  type InvokeEndpointAsyncCommandOutput,
  type SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import {
  AppError,
  BadRequest,
  Throttled,
  Unavailable,
  awsErrorName,
  awsStatus,
} from '../domain/errors.ts';
import { s3Uri } from '../domain/locations.ts';
import type { AsyncInvocation, Endpoint } from '../app/ports/endpoint.ts';
import { logger } from './logger.ts';

/**
 * Maps InvokeEndpointAsync errors to answers a client can act on. SageMaker's own text is logged,
 * never answered: its messages name the account and the endpoint's ARN ("Endpoint ... of account
 * 123456789012 not found"). The client gets the error's class and the request id to quote.
 */
export function invokeError(err: unknown): AppError {
  const name = awsErrorName(err) ?? '';
  const status = awsStatus(err);
  if (name === 'ModelNotReadyException') {
    // SageMaker's 429 while the model is still loading (InvokeEndpoint's Errors): its container
    // has not passed the /ping health check yet. Not a throttle: the client should know to wait.
    return new Throttled(
      "the endpoint's model is not ready (its container has not answered /ping yet); retry with the same inferenceId",
      10,
    );
  }
  if (status === 429 || /Throttl|TooManyRequests/i.test(name)) {
    return new Throttled('the endpoint is throttling requests; retry with the same inferenceId');
  }
  if (name === 'ValidationError' || (status !== undefined && status >= 400 && status < 500)) {
    const requestId = (err as { $metadata?: { requestId?: string } }).$metadata?.requestId;
    return new BadRequest(
      `SageMaker rejected the request (${/^[A-Za-z]{1,64}$/.test(name) ? name : 'ValidationError'}): ` +
        'check the endpoint, the content type and the parameters' +
        (requestId ? `; SageMaker request id ${requestId}` : ''),
    );
  }
  return new Unavailable('SageMaker is unavailable; retry with the same inferenceId');
}

/** InvokeEndpointAsync; a refusal is logged in full and thrown as an answer (`invokeError`). */
export async function invokeAsync(
  client: SageMakerRuntimeClient,
  {
    endpointName,
    input,
    inferenceId,
    contentType,
    accept,
    customAttributes,
    requestTtlSeconds,
    invocationTimeoutSeconds,
  }: AsyncInvocation,
  /** Ends the call, retries included, when it fires (submit's claim lease). */
  opts: { abortSignal?: AbortSignal } = {},
): Promise<InvokeEndpointAsyncCommandOutput> {
  const params: InvokeEndpointAsyncCommandInput = {
    EndpointName: endpointName,
    InputLocation: s3Uri(input),
    InferenceId: inferenceId,
    // A predictable key per job: <S3OutputPath>/<endpoint>/<inferenceId>.out (and the same
    // under S3FailurePath), instead of a name SageMaker makes up.
    S3OutputPathExtension: endpointName,
    Filename: `${inferenceId}.out`,
    ContentType: contentType,
    Accept: accept,
    CustomAttributes: customAttributes,
    RequestTTLSeconds: requestTtlSeconds,
    InvocationTimeoutSeconds: invocationTimeoutSeconds,
  };
  const sent = client.send(new InvokeEndpointAsyncCommand(params), {
    abortSignal: opts.abortSignal,
  });
  return sent.catch((err: unknown) => {
    logger.warn('invoke failed', {
      inferenceId,
      error: awsErrorName(err),
      status: awsStatus(err),
      // SageMaker's text stays in the log (it may name the account), never in the answer.
      detail: err instanceof Error ? err.message.slice(0, 500) : undefined,
    });
    throw invokeError(err);
  });
}

/** The Endpoint port over SageMaker Runtime. */
export function sageMakerEndpoint(client: () => SageMakerRuntimeClient): Endpoint {
  return {
    async invokeAsync(invocation, opts) {
      const res = await invokeAsync(client(), invocation, opts);
      return { outputLocation: res.OutputLocation, failureLocation: res.FailureLocation };
    },
  };
}
