import type { AsyncInvocation, Endpoint, Queued } from '../../../src/lib/app/ports/endpoint.ts';
import { Unavailable } from '../../../src/lib/domain/errors.ts';

/**
 * The Endpoint port in memory: each invocation accepted, with the locations SageMaker answers for
 * the adapter's S3OutputPathExtension and Filename (`<path>/<endpoint>/<inferenceId>.out`), or the
 * next of `faults` thrown instead.
 */
export class FakeEndpoint implements Endpoint {
  readonly invocations: AsyncInvocation[] = [];
  /** Thrown by the next invocations, in order, instead of accepting them. */
  faults: unknown[] = [];
  /** Called with each invocation's signal (a test of the cut-off inspects it). */
  signals: (AbortSignal | undefined)[] = [];

  constructor(
    readonly outputPath = 's3://async-jobs-local-output/outputs',
    readonly failurePath = 's3://async-jobs-local-output/failures',
  ) {}

  async invokeAsync(
    invocation: AsyncInvocation,
    opts: { abortSignal?: AbortSignal } = {},
  ): Promise<Queued> {
    this.invocations.push(structuredClone(invocation));
    this.signals.push(opts.abortSignal);
    // As the adapter: the SDK ends a call whose signal has fired, answered as a dependency down.
    if (opts.abortSignal?.aborted) throw new Unavailable('SageMaker is unavailable');
    const fault = this.faults.shift();
    if (fault !== undefined) throw fault;
    const file = `${invocation.endpointName}/${invocation.inferenceId}.out`;
    return {
      outputLocation: `${this.outputPath}/${file}`,
      failureLocation: `${this.failurePath}/${file}`,
    };
  }
}
