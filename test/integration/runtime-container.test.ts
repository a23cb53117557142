import { ModelNotReadyException } from '@aws-sdk/client-sagemaker-runtime';
import { createHash } from 'node:crypto';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  onTestFinished,
  vi,
} from 'vitest';
import { FAILURE_REASONS } from '../../src/local/sagemaker.ts';
import { waitFor } from '../support/lambda.ts';
import { startRuntimeHarness, type RuntimeHarness } from '../support/local-runtime.ts';
import {
  cut,
  echo,
  gate,
  hang,
  large,
  patternByte,
  startModelServer,
  status,
  type ModelServer,
} from '../support/model-server.ts';
import { ERROR_TOPIC, SUCCESS_TOPIC } from '../support/notifications.ts';

/*
 * The local runtime with a SageMaker inference container behind it (a stand-in HTTP server on a
 * free port): the container contract of "Use Your Own Inference Code with Hosting Services" and
 * what an async endpoint makes of the container's answers.
 */

/**
 * The timers the runtime (src/local/sagemaker.ts) sets from now on, by delay, and those that
 * fired: what a timeout did, without timing it.
 */
function runtimeTimers() {
  const seen = { armed: [] as number[], fired: [] as number[] };
  const real = globalThis.setTimeout;
  const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((
    fn: (...a: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) => {
    if (!new Error().stack?.includes('/src/local/sagemaker.ts')) return real(fn, ms, ...args);
    seen.armed.push(ms ?? 0);
    return real(() => {
      seen.fired.push(ms ?? 0);
      fn(...args);
    }, ms);
  }) as typeof setTimeout);
  onTestFinished(() => void spy.mockRestore());
  return seen;
}

let model: ModelServer;
let h: RuntimeHarness;
let n = 0;
const nextId = () => `container-${++n}`;

beforeAll(async () => {
  model = await startModelServer();
  h = await startRuntimeHarness({ modelUrl: model.url, concurrency: 2 });
});
afterAll(async () => {
  await h?.close();
  await model?.close();
});
beforeEach(() => {
  model.behave(echo);
  model.invocations.length = 0;
});

describe('the container contract', () => {
  it('posts the input to /invocations with the headers SageMaker sends, and nothing else of the request', async () => {
    const id = nextId();
    const input = await h.putInput(`in/${id}`, '1,2,3\n');
    await h.invoke({
      InputLocation: input,
      InferenceId: id,
      ContentType: 'text/csv',
      Accept: 'application/json',
      CustomAttributes: 'trace=abc-123;delay_ms=0',
      RequestTTLSeconds: 600,
    });
    await h.notification(id);
    const seen = model.invocations.at(-1)!;
    expect(seen.body.toString()).toBe('1,2,3\n');
    expect(seen.headers).toMatchObject({
      'content-type': 'text/csv',
      accept: 'application/json',
      'x-amzn-sagemaker-custom-attributes': 'trace=abc-123;delay_ms=0',
      'x-amzn-sagemaker-inference-id': id,
      'content-length': '6',
    });
    // The InvokeEndpointAsync-only headers (TTL, timeout, input location) stay with the service.
    expect(Object.keys(seen.headers).filter((k) => k.startsWith('x-amzn-sagemaker-'))).toEqual([
      'x-amzn-sagemaker-custom-attributes',
      'x-amzn-sagemaker-inference-id',
    ]);
  });

  it('sends no Inference-Id header when the caller chose none', async () => {
    const input = await h.putInput('in/no-id', 'x');
    const { InferenceId } = await h.invoke({ InputLocation: input });
    await h.notification(InferenceId!);
    expect(model.invocations.at(-1)!.headers).not.toHaveProperty('x-amzn-sagemaker-inference-id');
  });

  it("stores the answer with the model's Content-Type and names it in the notification", async () => {
    const id = nextId();
    model.behave(status(200, '{"label":"cat"}', 'application/vnd.example+json'));
    const input = await h.putInput(`in/${id}`, '{}');
    const res = await h.invoke({ InputLocation: input, InferenceId: id });
    const note = await h.notification(id);
    expect(note.topicArn).toBe(SUCCESS_TOPIC);
    expect(note.message.responseParameters).toEqual({
      contentType: 'application/vnd.example+json',
      outputLocation: res.OutputLocation,
    });
    const out = await h.getObject(res.OutputLocation!);
    expect(out.body.toString()).toBe('{"label":"cat"}');
    expect(out.contentType).toBe('application/vnd.example+json');
  });

  it('turns a 500 into the error notification SageMaker publishes, with the body under failures/', async () => {
    const id = nextId();
    model.behave(status(500, '{"error": "cannot unpack non-iterable NoneType object"}'));
    const input = await h.putInput(`in/${id}`, '{}');
    const res = await h.invoke({ InputLocation: input, InferenceId: id });
    const note = await h.notification(id);
    expect(note.topicArn).toBe(ERROR_TOPIC);
    expect(note.message).toMatchObject({
      invocationStatus: 'Failed',
      failureReason:
        'ClientError: Received server error (500) from primary with message "{"error": "cannot unpack non-iterable NoneType object"}". See the SageMaker Endpoint logs in your account for more information.',
      responseParameters: { failureLocation: res.FailureLocation },
    });
    expect(res.FailureLocation).toMatch(/^s3:\/\/[^/]+\/failures\//);
    expect((await h.getObject(res.FailureLocation!)).body.toString()).toBe(
      '{"error": "cannot unpack non-iterable NoneType object"}',
    );
  });

  it('treats any non-2xx answer as a failure, a 4xx included', async () => {
    const id = nextId();
    model.behave(status(415, 'unsupported content type', 'text/plain'));
    const input = await h.putInput(`in/${id}`, 'x');
    await h.invoke({ InputLocation: input, InferenceId: id });
    const note = await h.notification(id);
    expect(note.message.failureReason).toBe(
      FAILURE_REASONS.serverError(415, 'unsupported content type'),
    );
  });

  it('enforces InvocationTimeoutSeconds: a model that does not answer in time fails the request', async () => {
    const id = nextId();
    model.behave(hang);
    const input = await h.putInput(`in/${id}`, 'x');
    const timers = runtimeTimers();
    const res = await h.invoke({
      InputLocation: input,
      InferenceId: id,
      InvocationTimeoutSeconds: 1,
    });
    const note = await h.notification(id);
    // Failed by a timer of the 1 s asked for, once it fired: not before, not by another error.
    expect(timers.armed).toContain(1000);
    expect(timers.fired).toContain(1000);
    expect(note.message.failureReason).toBe(FAILURE_REASONS.timeout(1));
    expect((await h.getObject(res.FailureLocation!)).body.toString()).toMatch(
      /InvocationTimeoutSeconds \(1\)/,
    );
    // The runtime hung up on the model.
    await waitFor(() => model.inFlight === 0, { what: 'the model connection to close' });
  });

  it('fails a request whose answer is cut off halfway, and stores no partial output', async () => {
    const id = nextId();
    model.behave(cut);
    const input = await h.putInput(`in/${id}`, 'x');
    const res = await h.invoke({ InputLocation: input, InferenceId: id });
    const note = await h.notification(id);
    expect(note.topicArn).toBe(ERROR_TOPIC);
    expect(note.message.failureReason).toBe(FAILURE_REASONS.unreachable('ECONNRESET'));
    await expect(h.getObject(res.OutputLocation!)).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('streams a large answer to S3 whole, and leaves it out of the notification', async () => {
    const id = nextId();
    const bytes = 20 * 1024 * 1024 + 12_345;
    model.behave(large(bytes));
    const input = await h.putInput(`in/${id}`, 'x');
    const res = await h.invoke({ InputLocation: input, InferenceId: id });
    const note = await h.notification(id);
    expect(note.message.invocationStatus).toBe('Completed');
    expect(note.message.responseBody).toBeUndefined();
    const out = await h.getObject(res.OutputLocation!);
    expect(out.body.length).toBe(bytes);
    const expected = createHash('sha256');
    const CHUNK = 1024 * 1024;
    for (let offset = 0; offset < bytes; offset += CHUNK) {
      const n = Math.min(CHUNK, bytes - offset);
      const chunk = Buffer.allocUnsafe(n);
      for (let j = 0; j < n; j++) chunk[j] = patternByte(offset + j);
      expected.update(chunk);
    }
    expect(createHash('sha256').update(out.body).digest('hex')).toBe(expected.digest('hex'));
  }, 60_000);

  it('round-trips CustomAttributes to the container; an async endpoint keeps none from the answer', async () => {
    const id = nextId();
    const input = await h.putInput(`in/${id}`, 'hello');
    const res = await h.invoke({
      InputLocation: input,
      InferenceId: id,
      CustomAttributes: 'tag=7',
    });
    const note = await h.notification(id);
    expect(model.invocations.at(-1)!.headers['x-amzn-sagemaker-custom-attributes']).toBe('tag=7');
    expect(JSON.stringify(note.message)).not.toContain('tag=7');
    expect((await h.getObject(res.OutputLocation!)).body.toString()).toBe('hello');
  });

  it('runs at most `concurrency` requests at once (MaxConcurrentInvocationsPerInstance)', async () => {
    const g = gate();
    model.behave(g.wait);
    const ids = [nextId(), nextId(), nextId()];
    for (const id of ids) {
      await h.invoke({ InputLocation: await h.putInput(`in/${id}`, id), InferenceId: id });
    }
    await waitFor(() => model.inFlight === 2, { what: 'two invocations in flight' });
    expect(h.runtime.stats()).toMatchObject({ running: 2, queued: 1 });
    g.open();
    for (const id of ids) await h.notification(id);
    expect(model.invocations.map((i) => i.body.toString())).toEqual(ids);
  });
});

describe('an unreachable or unready container', () => {
  let local: RuntimeHarness | undefined;
  let other: ModelServer | undefined;
  afterEach(async () => {
    await local?.close();
    await other?.close();
    local = other = undefined;
  });

  it('refuses work with ModelNotReadyException until /ping answers 200, then takes it', async () => {
    other = await startModelServer();
    other.pingStatus = 503;
    local = await startRuntimeHarness({ modelUrl: other.url, pingIntervalMs: 20 });
    const input = await local.putInput('in/unready', '1');
    const refused = await local.invoke({ InputLocation: input }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ModelNotReadyException);
    expect((refused as ModelNotReadyException).$metadata.httpStatusCode).toBe(429);
    expect(local.runtime.stats()).toMatchObject({ healthy: false, accepted: 0 });
    expect(other.invocations).toHaveLength(0);

    other.pingStatus = 200;
    await local.runtime.ready();
    const { InferenceId } = await local.invoke({ InputLocation: input });
    expect((await local.notification(InferenceId!)).message.invocationStatus).toBe('Completed');
  });

  it('counts a /ping slower than 2 s as failed', async () => {
    other = await startModelServer();
    other.hangPing = true;
    local = await startRuntimeHarness({ modelUrl: other.url, pingIntervalMs: 20 });
    expect(local.runtime.stats().healthy).toBe(false);
    expect(other.pings).toBe(1);
    other.hangPing = false;
    await local.runtime.ready();
    expect(local.runtime.stats().healthy).toBe(true);
  }, 15_000);

  it('fails a request whose container refuses the connection', async () => {
    other = await startModelServer();
    local = await startRuntimeHarness({ modelUrl: other.url });
    await other.refuse();
    const { InferenceId, FailureLocation } = await local.invoke({
      InputLocation: await local.putInput('in/refused', '1'),
    });
    const note = await local.notification(InferenceId!);
    expect(note.topicArn).toBe(ERROR_TOPIC);
    expect(note.message.failureReason).toBe(FAILURE_REASONS.unreachable('ECONNREFUSED'));
    expect((await local.getObject(FailureLocation!)).body.toString()).toMatch(/ECONNREFUSED/);
  });
});

describe('the demo model behind the same contract', () => {
  let local: RuntimeHarness | undefined;
  afterEach(async () => {
    await local?.close();
    local = undefined;
  });

  it('is subject to InvocationTimeoutSeconds too (delay_ms in CustomAttributes)', async () => {
    local = await startRuntimeHarness();
    const input = await local.putInput('demo/slow', '1,2\n');
    await local.invoke({
      InputLocation: input,
      InferenceId: 'demo-slow',
      ContentType: 'text/csv',
      CustomAttributes: 'delay_ms=5000',
      InvocationTimeoutSeconds: 1,
    });
    const note = await local.notification('demo-slow');
    expect(note.message.failureReason).toBe(FAILURE_REASONS.timeout(1));
  });

  it('answers FAIL with a 500, reported like a container error', async () => {
    local = await startRuntimeHarness();
    const res = await local.invoke({
      InputLocation: await local.putInput('demo/fail', 'FAIL'),
      InferenceId: 'demo-fail',
    });
    const note = await local.notification('demo-fail');
    expect(note.message.failureReason).toMatch(
      /^ClientError: Received server error \(500\) from primary with message "the model container crashed/,
    );
    expect((await local.getObject(res.FailureLocation!)).body.toString()).toMatch(/Traceback/);
  });
});
