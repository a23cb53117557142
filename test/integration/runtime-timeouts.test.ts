import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerModel } from '../../src/local/container.ts';
import { FAILURE_REASONS } from '../../src/local/sagemaker.ts';
import { startHangingServer, type HangingServer } from '../support/hanging-server.ts';
import { startRuntimeHarness, type RuntimeHarness } from '../support/local-runtime.ts';
import { startModelServer, type Behaviour, type ModelServer } from '../support/model-server.ts';
import { waitFor } from '../support/lambda.ts';

/*
 * The local runtime's own HTTP calls to a model container, against one that hangs: `/ping` is
 * bound by SageMaker's 2 s per attempt (PING_TIMEOUT_MS), `/invocations` by the request's
 * InvocationTimeoutSeconds (an AbortSignal that destroys the request, its body included). A
 * container that accepts and never answers, and one that answers its headers and stalls mid-body:
 * each call ends while the container still hangs.
 */

let silent: HangingServer;
let stalled: HangingServer;
beforeAll(async () => {
  [silent, stalled] = await Promise.all([
    startHangingServer({ mode: 'silent' }),
    startHangingServer({ mode: 'mid-body', contentType: 'text/plain', head: 'READY' }),
  ]);
});
afterAll(async () => {
  await Promise.all([silent?.close(), stalled?.close()]);
});

const request = (input = 'x') => ({ input: Buffer.from(input), length: input.length });

describe('containerModel against a container that hangs', () => {
  it('/ping never answered, or answered 200 with a body that stalls: not ready', async () => {
    expect(await containerModel(silent.url).ping()).toBe(false);
    expect(await containerModel(stalled.url).ping()).toBe(false);
    expect(silent.finished + stalled.finished).toBe(0);
  });

  it('/invocations never answered: the invocation’s signal ends it', async () => {
    const reason = new Error('InvocationTimeoutSeconds');
    const signal = AbortSignal.timeout(200);
    await expect(containerModel(silent.url).invoke(request(), signal)).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    const controller = new AbortController();
    const call = containerModel(silent.url).invoke(request(), controller.signal);
    setTimeout(() => controller.abort(reason), 100);
    await expect(call).rejects.toBe(reason);
    expect(silent.finished).toBe(0);
  });

  it('/invocations answering its headers, then stalling mid-body: the signal ends the body read', async () => {
    const answer = await containerModel(stalled.url).invoke(request(), AbortSignal.timeout(300));
    expect(answer.status).toBe(200);
    const read = async () => {
      for await (const chunk of answer.body) void chunk;
    };
    await expect(read()).rejects.toBeDefined();
    expect(stalled.finished).toBe(0);
  });
});

describe('the local runtime with a container whose answer stalls mid-body', () => {
  let model: ModelServer;
  let h: RuntimeHarness;
  beforeAll(async () => {
    model = await startModelServer();
    h = await startRuntimeHarness({ modelUrl: model.url });
  });
  afterAll(async () => {
    await h?.close();
    await model?.close();
  });

  it('fails the request at its InvocationTimeoutSeconds and stores no partial output', async () => {
    const stall: Behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
      res.write('the first part of an answer');
      return new Promise<void>(() => undefined);
    };
    model.behave(stall);
    const input = await h.putInput('in/stalled', 'x');
    const res = await h.invoke({
      InputLocation: input,
      InferenceId: 'stalled-1',
      InvocationTimeoutSeconds: 1,
    });
    const note = await h.notification('stalled-1');
    expect(note.message.failureReason).toBe(FAILURE_REASONS.timeout(1));
    await expect(h.getObject(res.OutputLocation!)).rejects.toMatchObject({ name: 'NoSuchKey' });
    // The runtime hung up on the model.
    await waitFor(() => model.inFlight === 0, { what: 'the model connection to close' });
  });
});
