import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { createServer, type ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { buildFunctions, type BuiltFunctions } from '../../../src/local/lambda-build.ts';
import {
  FunctionFailed,
  InvokeRefused,
  MAX_SYNC_PAYLOAD_BYTES,
  RuntimeStopped,
  WARM_PER_CPU,
  startLocalLambda,
  type LambdaFunctionSpec,
  type LocalLambda,
  type LocalLambdaOptions,
} from '../../../src/local/lambda-runtime.ts';
import { waitFor } from '../../support/lambda.ts';

/*
 * The sandbox's Lambda runtime with small functions of the test's own: what a handler sees (its
 * event, a Lambda context, only its own environment), one invocation per worker at a time with
 * idle workers reused, every call bounded by the function's timeout (the worker terminated while
 * what it waited for still hangs), errors as Lambda answers them, the Invoke API as the AWS SDK
 * calls it, and schedules.
 */

const SOURCE = `
import { threadId } from 'node:worker_threads';
let calls = 0;
export const info = async (event, context) => ({
  calls: ++calls,
  threadId,
  event,
  context: {
    functionName: context.functionName,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    awsRequestId: context.awsRequestId,
    remaining: context.getRemainingTimeInMillis(),
  },
  env: {
    FROM_STACK: process.env.FROM_STACK,
    AWS_LAMBDA_FUNCTION_NAME: process.env.AWS_LAMBDA_FUNCTION_NAME,
    AWS_REGION: process.env.AWS_REGION,
    PATH: process.env.PATH ?? null,
    HOME: process.env.HOME ?? null,
  },
});
export const fail = async () => {
  console.log('about to fail');
  throw new TypeError('no good');
};
export const hold = async () => (await fetch(process.env.GATE + '/hold')).status;
export const spin = async () => {
  for (;;);
};
export const hog = async () => {
  const kept = [];
  for (;;) kept.push(new Array(1e6).fill(kept.length));
};
export const tick = async (event) => {
  await fetch(process.env.GATE + '/tick', { method: 'POST', body: JSON.stringify(event) });
};
`;

/** The test's server: /hold never answers until released; /tick records scheduled events. */
function startGate() {
  const held: ServerResponse[] = [];
  const ticks: unknown[] = [];
  let maxHeld = 0;
  const server = createServer((req, res) => {
    if (req.url === '/hold') {
      held.push(res);
      maxHeld = Math.max(maxHeld, held.length);
      res.on('close', () => held.includes(res) && held.splice(held.indexOf(res), 1));
      return;
    }
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      ticks.push(JSON.parse(body));
      res.end();
    });
  });
  return new Promise<{
    url: string;
    held: ServerResponse[];
    ticks: unknown[];
    maxHeld: () => number;
    release(): void;
    close(): Promise<void>;
  }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        held,
        ticks,
        maxHeld: () => maxHeld,
        release: () => held.shift()?.writeHead(200).end(),
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      }),
    ),
  );
}

let dir: string;
let built: BuiltFunctions;
let gate: Awaited<ReturnType<typeof startGate>>;
const lines: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'async-jobs-lambda-'));
  await writeFile(join(dir, 'fns.mjs'), SOURCE);
  await writeFile(join(dir, 'broken.mjs'), "throw new Error('cannot start');\n");
  built = await buildFunctions({
    rootDir: dir,
    entries: ['fns.mjs', 'broken.mjs'],
    outdir: join(dir, 'build'),
    custom: { bundle: true, platform: 'node', format: 'esm', target: 'node20' },
  });
  gate = await startGate();
});
afterAll(async () => {
  await gate?.close();
  await rm(dir, { recursive: true, force: true });
});

function spec(exportName: string, over: Partial<LambdaFunctionSpec> = {}): LambdaFunctionSpec {
  return {
    key: exportName,
    name: `svc-test-${exportName}`,
    file: built.bundles['fns.mjs'] as string,
    exportName,
    timeoutSeconds: 30,
    memoryMb: 256,
    environment: { FROM_STACK: 'yes', GATE: gate.url },
    ...over,
  };
}

async function runtime(
  functions: LambdaFunctionSpec[],
  opts: Partial<LocalLambdaOptions> = {},
): Promise<LocalLambda> {
  const lambda = await startLocalLambda({
    functions,
    bootstrap: built.bootstrap,
    port: 0,
    region: 'us-east-1',
    credentials: { accessKeyId: 'K', secretAccessKey: 'S' },
    log: (l) => lines.push(l),
    ...opts,
  });
  onTestFinished(() => lambda.close());
  return lambda;
}

describe('the local Lambda runtime', () => {
  it('runs a handler with its event, a Lambda context and only its own environment; the warm worker is reused', async () => {
    const lambda = await runtime([spec('info', { timeoutSeconds: 7, memoryMb: 384 })]);
    const first = (await lambda.invoke('info', { n: 1 })) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const second = (await lambda.invoke('svc-test-info', { n: 2 })) as typeof first;
    expect(first).toMatchObject({
      calls: 1,
      event: { n: 1 },
      context: {
        functionName: 'svc-test-info',
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:svc-test-info',
        memoryLimitInMB: '384',
      },
      // Nothing of the host's shell: what serverless.yml gives the function and Lambda sets.
      env: {
        FROM_STACK: 'yes',
        AWS_LAMBDA_FUNCTION_NAME: 'svc-test-info',
        AWS_REGION: 'us-east-1',
        PATH: null,
        HOME: null,
      },
    });
    expect(first.context.remaining).toBeGreaterThan(0);
    expect(first.context.remaining).toBeLessThanOrEqual(7_000);
    expect(second).toMatchObject({ calls: 2, threadId: first.threadId, event: { n: 2 } });
    expect(second.context.awsRequestId).not.toBe(first.context.awsRequestId);
    expect(lambda.workers().info).toEqual({ idle: 1, busy: 0 });
  });

  it("answers a thrown error as Lambda does, and forwards the function's output to the log", async () => {
    const lambda = await runtime([spec('fail')]);
    const err = await lambda.invoke('fail', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FunctionFailed);
    expect((err as FunctionFailed).message).toBe('svc-test-fail failed: no good');
    expect((err as FunctionFailed).body).toMatchObject({
      errorType: 'TypeError',
      errorMessage: 'no good',
    });
    // The worker's output travels apart from its answer, and may arrive after it.
    await waitFor(() => lines.includes('[lambda:fail] about to fail') || undefined);
  });

  it('ends a call at its timeout while what it waits for still hangs, and stops the worker', async () => {
    const lambda = await runtime([
      spec('hold', { timeoutSeconds: 1 }),
      spec('spin', { timeoutSeconds: 1 }),
    ]);
    const held = gate.held.length;
    const err = await lambda.invoke('hold', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FunctionFailed);
    expect((err as FunctionFailed).body).toMatchObject({
      errorType: 'Sandbox.Timedout',
      errorMessage: expect.stringMatching(/Task timed out after 1\.00 seconds$/),
    });
    // The gate never answered: the call ended on the runtime's bound, not on an answer.
    expect(gate.held.length).toBeGreaterThanOrEqual(held);
    // A function that never yields is stopped too.
    const spun = await lambda.invoke('spin', {}).catch((e: unknown) => e);
    expect((spun as FunctionFailed).body.errorType).toBe('Sandbox.Timedout');
    await waitFor(
      () => lambda.workers().spin!.idle + lambda.workers().spin!.busy === 0 || undefined,
    );
    expect(lines.some((l) => l.startsWith('[lambda] spin timed out after 1 s'))).toBe(true);
  });

  it('ends a function that outgrows its memory as Lambda does, and the next call starts anew', async () => {
    const lambda = await runtime([spec('hog', { memoryMb: 128 }), spec('info')]);
    const err = await lambda.invoke('hog', {}).catch((e: unknown) => e);
    expect((err as FunctionFailed).body).toEqual({
      errorType: 'Runtime.OutOfMemory',
      errorMessage: 'the function used more than its 128 MB',
    });
    expect(await lambda.invoke('info', {})).toMatchObject({ calls: 1 });
  });

  it('runs one invocation per worker at a time, up to the cap, reusing the worker', async () => {
    const lambda = await runtime([spec('hold')], { warmWorkers: 1, maxWorkers: 1 });
    const before = gate.maxHeld();
    gate.held.splice(0).forEach((r) => r.destroy());
    const calls = [1, 2, 3].map(() => lambda.invoke('hold', {}));
    for (let i = 0; i < 3; i++) {
      await waitFor(() => gate.held.length === 1 || undefined, { what: `call ${i + 1} held` });
      gate.release();
    }
    expect(await Promise.all(calls)).toEqual([200, 200, 200]);
    expect(gate.maxHeld()).toBe(Math.max(before, 1));
    expect(lambda.workers().hold).toEqual({ idle: 1, busy: 0 });
  });

  it('starts four workers per CPU at once for a burst, none waiting for a scale-out', async () => {
    const warm = WARM_PER_CPU * availableParallelism();
    const lambda = await runtime([spec('hold')], { scaleOutAfterMs: 3_600_000 });
    gate.held.splice(0).forEach((r) => r.destroy());
    const calls = Array.from({ length: warm }, () => lambda.invoke('hold', {}));
    await waitFor(() => gate.held.length === warm || undefined, {
      what: `${warm} calls held at once`,
    });
    for (let i = 0; i < warm; i++) gate.release();
    expect(await Promise.all(calls)).toEqual(Array.from({ length: warm }, () => 200));
    expect(lambda.workers().hold).toEqual({ idle: warm, busy: 0 });
  });

  it('starts another worker when every one is held by a long wait (a long poll)', async () => {
    const lambda = await runtime([spec('hold')], {
      warmWorkers: 1,
      maxWorkers: 3,
      scaleOutAfterMs: 50,
    });
    gate.held.splice(0).forEach((r) => r.destroy());
    const calls = [lambda.invoke('hold', {}), lambda.invoke('hold', {})];
    await waitFor(() => gate.held.length === 2 || undefined, { what: 'both calls held at once' });
    gate.release();
    gate.release();
    expect(await Promise.all(calls)).toEqual([200, 200]);
    expect(lambda.workers().hold).toEqual({ idle: 2, busy: 0 });
  });

  it('answers INIT errors, unknown functions and oversized payloads as Lambda does', async () => {
    const lambda = await runtime([
      spec('broken', { file: built.bundles['broken.mjs'] as string, exportName: 'handler' }),
      spec('info'),
    ]);
    const init = await lambda.invoke('broken', {}).catch((e: unknown) => e);
    expect((init as FunctionFailed).body).toMatchObject({ errorMessage: 'cannot start' });
    const missing = await lambda.invoke('nope', {}).catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 404, type: 'ResourceNotFoundException' });
    const big = await lambda
      .invoke('info', 'x'.repeat(MAX_SYNC_PAYLOAD_BYTES + 1))
      .catch((e: unknown) => e);
    expect(big).toBeInstanceOf(InvokeRefused);
    expect(big).toMatchObject({
      status: 413,
      type: 'RequestEntityTooLargeException',
      name: 'RequestEntityTooLargeException',
    });
  });

  it('serves the Invoke API as the AWS SDK calls it: RequestResponse, Event, errors', async () => {
    const lambda = await runtime([spec('info'), spec('fail'), spec('tick')]);
    const client = new LambdaClient({
      region: 'us-east-1',
      endpoint: lambda.url,
      credentials: { accessKeyId: 'K', secretAccessKey: 'S' },
      maxAttempts: 1,
    });
    onTestFinished(() => client.destroy());
    const ok = await client.send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:svc-test-info',
        Payload: JSON.stringify({ via: 'sdk' }),
      }),
    );
    expect(ok.StatusCode).toBe(200);
    expect(ok.FunctionError).toBeUndefined();
    expect(JSON.parse(Buffer.from(ok.Payload!).toString())).toMatchObject({
      event: { via: 'sdk' },
    });

    const failed = await client.send(new InvokeCommand({ FunctionName: 'svc-test-fail' }));
    expect(failed.FunctionError).toBe('Unhandled');
    expect(JSON.parse(Buffer.from(failed.Payload!).toString())).toMatchObject({
      errorType: 'TypeError',
      errorMessage: 'no good',
    });

    const ticks = gate.ticks.length;
    const queued = await client.send(
      new InvokeCommand({
        FunctionName: 'svc-test-tick',
        InvocationType: 'Event',
        Payload: JSON.stringify({ async: true }),
      }),
    );
    expect(queued.StatusCode).toBe(202);
    await waitFor(() => gate.ticks.slice(ticks).some((t) => (t as { async?: boolean }).async));

    await expect(client.send(new InvokeCommand({ FunctionName: 'nope' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(
      client.send(
        new InvokeCommand({
          FunctionName: 'svc-test-info',
          Payload: JSON.stringify({ x: 'x'.repeat(MAX_SYNC_PAYLOAD_BYTES) }),
        }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 413 } });
  });

  it('runs a schedule as its rule would, with the Scheduled Event', async () => {
    const ticks = gate.ticks.length;
    await runtime([spec('tick', { schedules: [{ expression: 'rate(1 minute)', rateMs: 100 }] })]);
    await waitFor(() => gate.ticks.length - ticks >= 2 || undefined, {
      what: 'two scheduled runs',
    });
    expect(gate.ticks.slice(ticks)[0]).toMatchObject({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      resources: ['arn:aws:events:us-east-1:000000000000:rule/svc-test-tick-schedule'],
    });
  });

  it('ends what is running when it closes, and takes no more calls', async () => {
    const lambda = await runtime([spec('hold')]);
    const call = lambda.invoke('hold', {}).catch((e: unknown) => e);
    await waitFor(() => gate.held.length > 0 || undefined);
    await lambda.close();
    expect(await call).toBeInstanceOf(RuntimeStopped);
    await expect(lambda.invoke('hold', {})).rejects.toBeInstanceOf(RuntimeStopped);
  });
});
