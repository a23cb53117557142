import type { S3Location } from '../../domain/locations.ts';

/*
 * The SageMaker asynchronous endpoint (InvokeEndpointAsync). A refusal is thrown as the answer a
 * client can act on (AppError: 400, 429, 503), never with SageMaker's own text. Production:
 * src/lib/adapters/sagemaker.ts; fake: test/support/fakes/endpoint.ts.
 */

/** One job to queue with SageMaker Asynchronous Inference. */
export interface AsyncInvocation {
  endpointName: string;
  input: S3Location;
  inferenceId: string;
  contentType?: string;
  accept?: string;
  customAttributes?: string;
  requestTtlSeconds?: number;
  invocationTimeoutSeconds?: number;
}

/** Where SageMaker will write the result, or the failure. */
export interface Queued {
  outputLocation?: string;
  failureLocation?: string;
}

export interface Endpoint {
  /** `abortSignal` ends the call, retries included, when it fires (submit's claim lease). */
  invokeAsync(invocation: AsyncInvocation, opts?: { abortSignal?: AbortSignal }): Promise<Queued>;
}

/**
 * What the endpoint can run now (DescribeEndpoint's CurrentInstanceCount, summed over its
 * variants): the dispatcher's window is computed from it (docs/queue.md). Production: the
 * SageMaker control-plane adapter; the sandbox: its local runtime's capacity model; fake:
 * test/support/fakes/admission.ts.
 */
export interface EndpointCapacity {
  describe(endpointName: string): Promise<{ instances: number }>;
}
