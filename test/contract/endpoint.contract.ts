import { describe, expect, it } from 'vitest';
import type { AsyncInvocation, Endpoint } from '../../src/lib/app/ports/endpoint.ts';
import type { S3Location } from '../../src/lib/domain/locations.ts';
import { freshId, useRig } from './rig.ts';

/*
 * What every Endpoint does, the fake (test/support/fakes/endpoint.ts) and the SageMaker adapter
 * on the local SageMaker async runtime alike: an invocation is queued with what the job asked
 * for (input, content type, accept, custom attributes, its own InferenceId) and answered with
 * where its result will be: S3OutputPathExtension and Filename make the output key
 * `<S3OutputPath>/<endpoint>/<inferenceId>.out`
 * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpointAsync.html),
 * the same for a repeat, so a record written later never names another location. A refusal is
 * thrown as the answer a client can act on, by kind, never with SageMaker's own text; a call
 * whose signal has already fired (submit's lease is over) ends as Unavailable.
 */

/** What the model's container received for a job. */
export interface Received {
  input: string;
  contentType?: string;
  accept?: string;
  customAttributes?: string;
}

export type Refusal = 'throttle' | 'unavailable' | 'not-ready' | 'invalid';

export interface EndpointRig {
  endpoint: Endpoint;
  endpointName: string;
  /** S3OutputPath and S3FailurePath of the endpoint's config, without a trailing slash. */
  outputPath: string;
  failurePath: string;
  /** Stores a job's input where the endpoint reads it. */
  putInput(key: string, body: string): Promise<S3Location>;
  /** The same port over an endpoint that refuses every call as SageMaker does for `kind`. */
  refusing(kind: Refusal): Endpoint;
  /** What the model received for `inferenceId`, once it has. */
  received(inferenceId: string): Promise<Received>;
  close(): Promise<void>;
}

/** What a SageMaker refusal says that a client must never be answered (it names the account). */
const SAGEMAKER_TEXT = /not found|account|arn:aws|Rate exceeded|Try your call again|GET \/ping/i;

export function endpointContract(name: string, start: () => Promise<EndpointRig>): void {
  describe(`Endpoint contract: ${name}`, () => {
    let rig: EndpointRig;
    useRig(start, (started) => {
      rig = started;
    });
    const invocation = async (
      inferenceId: string,
      extra: Partial<AsyncInvocation> = {},
    ): Promise<AsyncInvocation> => ({
      endpointName: rig.endpointName,
      input: await rig.putInput(`inputs/${inferenceId}`, '{"x":[1,2,3]}'),
      inferenceId,
      contentType: 'application/json',
      ...extra,
    });

    it('queues the job with what it asked for, and answers where its result will be', async () => {
      const inferenceId = freshId('job');
      const queued = await rig.endpoint.invokeAsync(
        await invocation(inferenceId, {
          accept: 'application/json',
          customAttributes: 'tenant=a;trace=7',
          requestTtlSeconds: 3_600,
          invocationTimeoutSeconds: 60,
        }),
      );
      expect(queued.outputLocation).toBe(
        `${rig.outputPath}/${rig.endpointName}/${inferenceId}.out`,
      );
      // The failure lands under S3FailurePath, named for the job (the exact suffix SageMaker adds
      // to Filename there is not documented: the local runtime adds `-error.out`, the fake none).
      expect(
        queued.failureLocation?.startsWith(
          `${rig.failurePath}/${rig.endpointName}/${inferenceId}.out`,
        ),
      ).toBe(true);
      expect(await rig.received(inferenceId)).toEqual({
        input: '{"x":[1,2,3]}',
        contentType: 'application/json',
        accept: 'application/json',
        customAttributes: 'tenant=a;trace=7',
      });
    });

    it('answers a repeated invocation with the same locations', async () => {
      const inferenceId = freshId('again');
      const first = await rig.endpoint.invokeAsync(await invocation(inferenceId));
      const second = await rig.endpoint.invokeAsync(await invocation(inferenceId));
      expect(second).toEqual(first);
    });

    it.each([
      ['throttle', 'throttled', 5],
      ['not-ready', 'throttled', 10],
      ['unavailable', 'unavailable', 10],
      ['invalid', 'invalid', undefined],
    ] as const)(
      'answers a %s refusal as %s, without SageMaker text',
      async (kind, answered, retryAfterSeconds) => {
        const err = await rig
          .refusing(kind)
          .invokeAsync(await invocation(freshId(kind)))
          .then(
            () => undefined,
            (e: unknown) => e as Error & { kind?: string; retryAfterSeconds?: number },
          );
        expect(err).toMatchObject({ kind: answered });
        expect(err?.retryAfterSeconds).toBe(retryAfterSeconds);
        expect(err?.message).not.toMatch(SAGEMAKER_TEXT);
      },
    );

    it('ends a call whose signal has already fired, as a dependency that is unavailable', async () => {
      const controller = new AbortController();
      controller.abort(new Error('the lease is over'));
      await expect(
        rig.endpoint.invokeAsync(await invocation(freshId('late')), {
          abortSignal: controller.signal,
        }),
      ).rejects.toMatchObject({ kind: 'unavailable' });
    });
  });
}
