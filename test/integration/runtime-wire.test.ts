import {
  SageMakerRuntimeServiceException,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAILURE_REASONS, MAX_INPUT_BYTES } from '../../src/local/sagemaker.ts';
import { waitFor } from '../support/lambda.ts';
import { ENDPOINT, startRuntimeHarness, type RuntimeHarness } from '../support/local-runtime.ts';
import { gate, startModelServer, status, type ModelServer } from '../support/model-server.ts';
import { ERROR_TOPIC, INPUT_BUCKET, OUTPUT_BUCKET } from '../support/notifications.ts';

/*
 * InvokeEndpointAsync as the API reference defines it (restJson1), checked two ways: with raw HTTP,
 * byte for byte where a client depends on it, and with the real JS SDK client, which must map
 * every answer to its output shape or error class. Then the queue semantics of an async endpoint.
 * docs/local-runtime.md names these tests in its fidelity table.
 */

let h: RuntimeHarness;
let throttleCalls = 0;
let throttle = false;
let unavailable = false;

beforeAll(async () => {
  h = await startRuntimeHarness({
    faults: {
      throttle: () => (throttle ? (throttleCalls++, true) : false),
      unavailable: () => unavailable,
    },
  });
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => {
  throttle = unavailable = false;
});

async function raw(path: string, headers: Record<string, string>) {
  const res = await fetch(`${h.runtime.url}${path}`, { method: 'POST', headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as SageMakerRuntimeServiceException,
  );

describe('InvokeEndpointAsync on the wire', () => {
  it('answers 202 with x-amzn-RequestId, the Output/FailureLocation headers and {"InferenceId"}', async () => {
    const input = await h.putInput('wire/a', '1,2\n');
    const res = await raw(`/endpoints/${ENDPOINT}/async-invocations`, {
      'X-Amzn-SageMaker-InputLocation': input,
      'X-Amzn-SageMaker-Inference-Id': 'wire-raw-1',
      'X-Amzn-SageMaker-Content-Type': 'text/csv',
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-amzn-sagemaker-outputlocation')).toMatch(
      new RegExp(`^s3://${OUTPUT_BUCKET}/outputs/[0-9a-f-]{36}\\.out$`),
    );
    expect(res.headers.get('x-amzn-sagemaker-failurelocation')).toMatch(
      new RegExp(`^s3://${OUTPUT_BUCKET}/failures/[0-9a-f-]{36}-error\\.out$`),
    );
    expect(res.body).toEqual({ InferenceId: 'wire-raw-1' });
    await h.notification('wire-raw-1');
  });

  it('is parsed by the real SDK client into its output shape and request id', async () => {
    const input = await h.putInput('wire/b', '1\n');
    const out = await h.invoke({ InputLocation: input, InferenceId: 'wire-sdk-1' });
    expect(out.InferenceId).toBe('wire-sdk-1');
    expect(out.OutputLocation).toMatch(/^s3:\/\/.+\/outputs\/.+\.out$/);
    expect(out.FailureLocation).toMatch(/^s3:\/\/.+\/failures\/.+-error\.out$/);
    expect(out.$metadata.httpStatusCode).toBe(202);
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const note = await h.notification('wire-sdk-1');
    expect(note.message.responseParameters?.outputLocation).toBe(out.OutputLocation);
  });

  it('answers errors with x-amzn-ErrorType and a JSON {"message"} (what botocore and the JS SDK read)', async () => {
    const res = await raw(`/endpoints/${ENDPOINT}/async-invocations`, {});
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('ValidationError');
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body).toEqual({ message: 'InputLocation is required' });
  });

  it('maps ValidationError to the SDK class, message and request id', async () => {
    const err = await rejection(h.invoke({ InputLocation: 'https://example.com/x' }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(/s3:\/\//);
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unknown endpoint with ValidationError', async () => {
    const input = await h.putInput('wire/c', '1');
    const err = await rejection(
      h.invoke({ EndpointName: 'no-such-endpoint', InputLocation: input }),
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(/no-such-endpoint/);
  });

  it('maps ServiceUnavailable (503) to the SDK class', async () => {
    unavailable = true;
    const err = await rejection(h.invoke({ InputLocation: await h.putInput('wire/d', '1') }));
    expect(err).toBeInstanceOf(ServiceUnavailable);
    expect(err.$metadata.httpStatusCode).toBe(503);
  });

  it('answers ThrottlingException, which the SDK names and retries as a throttle', async () => {
    throttle = true;
    throttleCalls = 0;
    const { SageMakerRuntimeClient, InvokeEndpointAsyncCommand } =
      await import('@aws-sdk/client-sagemaker-runtime');
    const retrying = new SageMakerRuntimeClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      endpoint: h.runtime.url,
      maxAttempts: 2,
      retryStrategy: undefined,
    });
    const err = await rejection(
      retrying.send(
        new InvokeEndpointAsyncCommand({
          EndpointName: ENDPOINT,
          InputLocation: `s3://${INPUT_BUCKET}/wire/e`,
        }),
      ),
    );
    retrying.destroy();
    expect(err).toBeInstanceOf(SageMakerRuntimeServiceException);
    expect(err.name).toBe('ThrottlingException');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.$metadata.attempts).toBe(2);
    expect(throttleCalls).toBe(2);
  });

  it('answers an unknown operation with 404 UnknownOperationException', async () => {
    const res = await raw('/endpoints/x/invocations-nope', {});
    expect(res.status).toBe(404);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
  });
});

describe('request validation (InvokeEndpointAsync API reference)', () => {
  const input = `s3://${INPUT_BUCKET}/wire/v`;

  it.each([
    // (A leading space cannot cross HTTP: header values lose their leading whitespace.)
    ['no characters', ''],
    ['65 characters', 'x'.repeat(65)],
    ['a control character', 'a\tb'],
  ])('refuses an InferenceId with %s', async (_what, id) => {
    const err = await rejection(h.invoke({ InputLocation: input, InferenceId: id }));
    expect(err).toBeInstanceOf(ValidationError);
  });

  it('accepts a 64-character InferenceId with inner spaces, and makes up a UUID when none is given', async () => {
    const id = `a b${'c'.repeat(61)}`;
    await h.putInput('wire/v', '1');
    expect((await h.invoke({ InputLocation: input, InferenceId: id })).InferenceId).toBe(id);
    expect((await h.invoke({ InputLocation: input })).InferenceId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    await h.runtime.idle();
  });

  it.each([
    ['InvocationTimeoutSeconds', 0],
    ['InvocationTimeoutSeconds', 3601],
    ['RequestTTLSeconds', 59],
    ['RequestTTLSeconds', 21_601],
  ] as const)('refuses %s = %i', async (name, value) => {
    const err = await rejection(h.invoke({ InputLocation: input, [name]: value }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain(name);
  });

  it('accepts the bounds: InvocationTimeoutSeconds 1 and 3600, RequestTTLSeconds 60 and 21600', async () => {
    await h.putInput('wire/v', '1');
    for (const [t, ttl] of [
      [1, 60],
      [3600, 21_600],
    ]) {
      const out = await h.invoke({
        InputLocation: input,
        InvocationTimeoutSeconds: t,
        RequestTTLSeconds: ttl,
      });
      expect(out.InferenceId).toBeDefined();
    }
    await h.runtime.idle();
  });

  it('refuses CustomAttributes longer than 1024 characters', async () => {
    const err = await rejection(
      h.invoke({ InputLocation: input, CustomAttributes: 'a'.repeat(1025) }),
    );
    expect(err).toBeInstanceOf(ValidationError);
  });
});

describe('output naming', () => {
  it('puts S3OutputPathExtension and Filename into the output and failure keys', async () => {
    const input = await h.putInput('wire/n', '1,1\n');
    const out = await h.invoke({
      InputLocation: input,
      InferenceId: 'wire-named',
      S3OutputPathExtension: '/runs/7/',
      Filename: 'result.json',
    });
    expect(out.OutputLocation).toBe(`s3://${OUTPUT_BUCKET}/outputs/runs/7/result.json`);
    expect(out.FailureLocation).toBe(`s3://${OUTPUT_BUCKET}/failures/runs/7/result.json-error.out`);
    await h.notification('wire-named');
    expect((await h.getObject(out.OutputLocation!)).body.length).toBeGreaterThan(0);
  });
});

describe('the queue of an async endpoint', () => {
  let local: RuntimeHarness | undefined;
  let model: ModelServer | undefined;
  afterEach(async () => {
    await local?.close();
    await model?.close();
    local = model = undefined;
  });

  it('runs requests in the order they were accepted', async () => {
    model = await startModelServer();
    const g = gate();
    model.behave(g.wait);
    local = await startRuntimeHarness({ modelUrl: model.url, concurrency: 1 });
    const ids = ['q-1', 'q-2', 'q-3', 'q-4'];
    for (const id of ids) {
      await local.invoke({ InputLocation: await local.putInput(id, id), InferenceId: id });
    }
    g.open();
    for (const id of ids) await local.notification(id);
    expect(model.invocations.map((i) => i.body.toString())).toEqual(ids);
  });

  it('fails a request still queued after RequestTTLSeconds, without running it', async () => {
    model = await startModelServer();
    const g = gate();
    model.behave(g.wait);
    let clock = Date.now();
    local = await startRuntimeHarness({ modelUrl: model.url, concurrency: 1, now: () => clock });
    await local.invoke({ InputLocation: await local.putInput('ttl-a', 'a'), InferenceId: 'ttl-a' });
    await waitFor(() => model!.inFlight === 1, { what: 'the first request running' });
    await local.invoke({
      InputLocation: await local.putInput('ttl-b', 'b'),
      InferenceId: 'ttl-b',
      RequestTTLSeconds: 60,
    });
    clock += 61_000;
    g.open();
    const note = await local.notification('ttl-b');
    expect(note.topicArn).toBe(ERROR_TOPIC);
    expect(note.message.failureReason).toBe(FAILURE_REASONS.expired);
    expect(model.invocations.map((i) => i.body.toString())).toEqual(['a']);
  });

  it('includes a response of up to 128 KB in the notification (IncludeInferenceResponseIn), not one byte more', async () => {
    model = await startModelServer();
    local = await startRuntimeHarness({ modelUrl: model.url, includeResponseBody: true });
    const limit = 128 * 1024;
    model.behave(status(200, 'x'.repeat(limit), 'text/plain'));
    await local.invoke({ InputLocation: await local.putInput('r1', '1'), InferenceId: 'r-fits' });
    const fits = await local.notification('r-fits');
    expect(fits.message.responseBody?.encoding).toBe('BASE64');
    expect(Buffer.from(fits.message.responseBody!.content, 'base64').length).toBe(limit);
    model.behave(status(200, 'x'.repeat(limit + 1), 'text/plain'));
    await local.invoke({ InputLocation: await local.putInput('r2', '1'), InferenceId: 'r-big' });
    expect((await local.notification('r-big')).message.responseBody).toBeUndefined();
  });

  it('fails an input over the 1 GB payload limit before the model sees it', async () => {
    expect(MAX_INPUT_BYTES).toBe(1024 ** 3);
    model = await startModelServer();
    local = await startRuntimeHarness({ modelUrl: model.url, maxInputBytes: 10 });
    await local.invoke({
      InputLocation: await local.putInput('big', 'x'.repeat(11)),
      InferenceId: 'too-big',
    });
    await local.invoke({
      InputLocation: await local.putInput('ok', 'x'.repeat(10)),
      InferenceId: 'fits',
    });
    expect((await local.notification('too-big')).message.failureReason).toBe(
      FAILURE_REASONS.inputTooLarge,
    );
    expect((await local.notification('fits')).message.invocationStatus).toBe('Completed');
    expect(model.invocations.map((i) => i.body.length)).toEqual([10]);
  });

  it('fails a request whose input read breaks halfway, with a notification', async () => {
    const real: { s3?: S3Client } = {};
    // The runtime's S3: the input of `cut` arrives as a body that errors after its first bytes
    // (a reset, or a socket timeout of a read gone silent).
    const cutting = {
      send: async (command: GetObjectCommand) => {
        const out = (await real.s3!.send(command)) as { Body?: unknown };
        if (command instanceof GetObjectCommand && command.input.Key === 'cut') {
          const body = new Readable({ read() {} });
          body.push('1,');
          setImmediate(() => body.destroy(new Error('socket hang up')));
          (out.Body as Readable).destroy();
          out.Body = body;
        }
        return out;
      },
    } as unknown as S3Client;
    local = await startRuntimeHarness({ s3: cutting });
    real.s3 = local.s3;
    await local.invoke({ InputLocation: await local.putInput('cut', '1,2\n'), InferenceId: 'cut' });
    await local.invoke({
      InputLocation: await local.putInput('whole', '1,2\n'),
      InferenceId: 'whole',
    });
    expect((await local.notification('cut')).message.failureReason).toBe(
      FAILURE_REASONS.inputUnreadable,
    );
    expect((await local.notification('whole')).message.invocationStatus).toBe('Completed');
  });

  it('fails a request whose input cannot be read', async () => {
    local = await startRuntimeHarness();
    await local.invoke({ InputLocation: `s3://${INPUT_BUCKET}/missing`, InferenceId: 'no-input' });
    expect((await local.notification('no-input')).message.failureReason).toBe(
      FAILURE_REASONS.inputUnreadable,
    );
  });
});
