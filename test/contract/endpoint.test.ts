import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { Readable } from 'node:stream';
import type { Endpoint } from '../../src/lib/app/ports/endpoint.ts';
import { sageMakerEndpoint } from '../../src/lib/adapters/sagemaker.ts';
import { BadRequest, Throttled, Unavailable } from '../../src/lib/domain/errors.ts';
import type { ModelBackend } from '../../src/local/container.ts';
import { localClientOptions } from '../../src/local/emulators.ts';
import { startLocalSageMaker } from '../../src/local/sagemaker.ts';
import { FakeEndpoint } from '../support/fakes/endpoint.ts';
import { waitFor } from '../support/lambda.ts';
import { ENDPOINT, startRuntimeHarness } from '../support/local-runtime.ts';
import { ERROR_TOPIC, OUTPUT_BUCKET, SUCCESS_TOPIC } from '../support/notifications.ts';
import { endpointContract, type Received, type Refusal } from './endpoint.contract.ts';

endpointContract('in-memory fake', async () => {
  const outputPath = `s3://${OUTPUT_BUCKET}/outputs`;
  const failurePath = `s3://${OUTPUT_BUCKET}/failures`;
  const endpoint = new FakeEndpoint(outputPath, failurePath);
  const inputs = new Map<string, string>();
  // The refusals a test of a use case injects, as the adapter answers them.
  const answers: Record<Refusal, () => Error> = {
    throttle: () => new Throttled('the endpoint is throttling requests'),
    'not-ready': () => new Throttled("the endpoint's model is not ready", 10),
    unavailable: () => new Unavailable('SageMaker is unavailable'),
    invalid: () => new BadRequest('SageMaker rejected the request (ValidationError)'),
  };
  return {
    endpoint,
    endpointName: ENDPOINT,
    outputPath,
    failurePath,
    putInput: async (key, body) => {
      inputs.set(key, body);
      return { bucket: 'in', key };
    },
    refusing(kind) {
      const refusing = new FakeEndpoint(outputPath, failurePath);
      return {
        invokeAsync(invocation, opts) {
          refusing.faults.push(answers[kind]());
          return refusing.invokeAsync(invocation, opts);
        },
      };
    },
    received: async (id) => {
      const i = endpoint.invocations.find((x) => x.inferenceId === id)!;
      return {
        input: inputs.get(i.input.key)!,
        contentType: i.contentType,
        accept: i.accept,
        customAttributes: i.customAttributes,
      };
    },
    close: async () => {},
  };
});

endpointContract('SageMaker adapter on the local SageMaker async runtime', async () => {
  const received = new Map<string, Received>();
  // A container that answers every job, and says what it was sent.
  const model: ModelBackend = {
    name: 'contract model',
    ping: async () => true,
    async invoke(req) {
      const chunks: Buffer[] = [];
      for await (const c of req.input as Readable) chunks.push(c as Buffer);
      received.set(req.inferenceId!, {
        input: Buffer.concat(chunks).toString(),
        contentType: req.contentType,
        accept: req.accept,
        customAttributes: req.customAttributes,
      });
      return {
        status: 200,
        contentType: 'application/json',
        body: (async function* () {
          yield Buffer.from('{}');
        })(),
      };
    },
  };
  let refuse: 'throttle' | 'unavailable' | undefined;
  const h = await startRuntimeHarness({
    model,
    faults: { throttle: () => refuse === 'throttle', unavailable: () => refuse === 'unavailable' },
  });
  // An endpoint whose container never passes /ping: ModelNotReadyException.
  const starting = await startLocalSageMaker({
    port: 0,
    s3: h.s3,
    outputBucket: OUTPUT_BUCKET,
    outputPrefix: 'outputs/',
    failurePrefix: 'failures/',
    successTopicArn: SUCCESS_TOPIC,
    errorTopicArn: ERROR_TOPIC,
    publish: async () => {},
    model: { ...model, ping: async () => false },
    pingIntervalMs: 60_000,
  });
  // The production client's attempts (clients.ts): a throttle is retried once before it answers.
  const client = (url: string) =>
    new SageMakerRuntimeClient({ ...localClientOptions(url), maxAttempts: 2 });
  const main = client(h.runtime.url);
  const notReady = client(starting.url);
  const endpoint = sageMakerEndpoint(() => main);
  return {
    endpoint,
    endpointName: ENDPOINT,
    outputPath: `s3://${OUTPUT_BUCKET}/outputs`,
    failurePath: `s3://${OUTPUT_BUCKET}/failures`,
    async putInput(key, body) {
      const uri = await h.putInput(key, body);
      const [, bucket, k] = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)!;
      return { bucket: bucket!, key: k! };
    },
    refusing(kind): Endpoint {
      if (kind === 'not-ready') return sageMakerEndpoint(() => notReady);
      return {
        async invokeAsync(invocation, opts) {
          if (kind === 'invalid') {
            // The runtime knows one endpoint: any other name is SageMaker's ValidationError.
            return endpoint.invokeAsync({ ...invocation, endpointName: 'no-such-endpoint' }, opts);
          }
          refuse = kind;
          try {
            return await endpoint.invokeAsync(invocation, opts);
          } finally {
            refuse = undefined;
          }
        },
      };
    },
    received: (id) => waitFor(() => received.get(id), { what: `the model's request for ${id}` }),
    async close() {
      main.destroy();
      notReady.destroy();
      await starting.close();
      await h.close();
    },
  };
});
