import {
  InvokeEndpointAsyncCommand,
  SageMakerRuntimeClient,
  ServiceUnavailable,
} from '@aws-sdk/client-sagemaker-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/lib/config.ts';
import { AppError } from '../../src/lib/domain/errors.ts';
import { errorAnswer } from '../../src/lib/http/errors.ts';
import type { Job } from '../../src/lib/domain/jobs.ts';
import { RetryConflict, retryJob } from '../../src/lib/app/retry.ts';
import { runScheduledRetry } from '../../src/lib/app/auto-retry.ts';
import { submitJob, type SubmitDeps } from '../../src/lib/app/submit.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import { INPUT_BUCKET, OUTPUT_BUCKET } from '../support/notifications.ts';
import { answering } from '../support/answers.ts';
import { submitPorts } from '../../src/lib/wiring/submit.ts';

/*
 * Retries against dynalite: the attempt counter and the new record are real conditional writes,
 * so two retries racing for one failure meet DynamoDB's conditions, not a mock's. SageMaker is
 * mocked: what matters here is how often, and with what, it is invoked.
 */

let b: Backends;
const sageMaker = new SageMakerRuntimeClient({ region: 'us-east-1' });
const sm = mockClient(sageMaker);
let deps: SubmitDeps;
/** How many of the next invocations SageMaker refuses as unavailable. */
let unavailable = 0;

beforeAll(async () => {
  b = await startBackends();
  deps = submitPorts({
    config: loadConfig({ ...process.env }),
    store: b.store,
    s3: async () => b.s3,
    sageMaker: () => sageMaker,
  });
});
afterAll(async () => {
  await b?.close();
});
beforeEach(() => {
  sm.reset();
  unavailable = 0;
  // InvokeEndpointAsync's answer: the id and where the output and failure will be written
  // (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpointAsync.html#API_runtime_InvokeEndpointAsync_ResponseSyntax).
  sm.on(InvokeEndpointAsyncCommand).callsFake(async (input: { InferenceId: string }) => {
    if (unavailable-- > 0) {
      // The error InvokeEndpointAsync answers when the service cannot take the request (same page, "Errors").
      throw new ServiceUnavailable({ message: 'Service is unavailable', $metadata: {} });
    }
    return {
      InferenceId: input.InferenceId,
      OutputLocation: `s3://${OUTPUT_BUCKET}/outputs/${input.InferenceId}.out`,
      FailureLocation: `s3://${OUTPUT_BUCKET}/failures/${input.InferenceId}-error.out`,
    };
  });
});

/** A job as submit leaves it, then finished with `status`. */
async function seed(
  id: string,
  status: Job['status'] = 'FAILED',
  extra: Partial<Job> & Record<string, unknown> = {},
): Promise<void> {
  await b.store.claim({
    inferenceId: id,
    status: 'IN_PROGRESS',
    endpointName: 'demo-endpoint',
    inputLocation: `s3://${INPUT_BUCKET}/inputs/${id}`,
    inputContentType: 'text/csv',
    submittedAt: '2026-11-26T08:00:00.000Z',
    expiresAt: 1_900_000_000,
    ...extra,
  } as Job);
  if (status === 'IN_PROGRESS') return;
  await b.store.transition(id, {
    status,
    endpointName: 'demo-endpoint',
    completedAt: '2026-11-26T08:00:05.000Z',
    expiresAt: 1_900_000_000,
    ...(status === 'FAILED'
      ? { failureReason: 'ClientError: Received server error (500) from primary' }
      : {}),
  });
}

async function statusOf(p: Promise<unknown>): Promise<number> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return err instanceof AppError ? errorAnswer(err).status : 0;
}

const invoked = () =>
  sm.commandCalls(InvokeEndpointAsyncCommand).map((c) => c.args[0].input.InferenceId);

describe('retryJob against dynalite', () => {
  it('repeats what the submit was given: submit keeps it in the record, out of its public view', async () => {
    await submitJob(
      {
        query: {
          inferenceId: 'r-submitted',
          accept: 'text/csv',
          customAttributes: 'k=v',
          invocationTimeoutSeconds: '60',
        },
        contentType: 'text/csv',
        body: Buffer.from('1,2\n'),
      },
      deps,
    );
    expect((await b.store.get('r-submitted'))?.invocation).toEqual({
      accept: 'text/csv',
      customAttributes: 'k=v',
      invocationTimeoutSeconds: 60,
    });
    await b.store.transition('r-submitted', {
      status: 'FAILED',
      endpointName: 'demo-endpoint',
      completedAt: '2026-11-26T08:00:05.000Z',
      expiresAt: 1_900_000_000,
      failureReason: 'ModelError',
    });
    await retryJob({ inferenceId: 'r-submitted' }, deps);
    expect(sm.commandCalls(InvokeEndpointAsyncCommand)[1]!.args[0].input).toMatchObject({
      InferenceId: 'r-submitted.2',
      InputLocation: `s3://${INPUT_BUCKET}/inputs/r-submitted`,
      ContentType: 'text/csv',
      Accept: 'text/csv',
      CustomAttributes: 'k=v',
      InvocationTimeoutSeconds: 60,
    });
  });

  it('makes <id>.2 from the same input and parameters, and only points the original at it', async () => {
    await seed('r-1', 'FAILED', {
      callbackUrl: 'https://hooks.example.com/jobs',
      invocation: {
        accept: 'application/json',
        customAttributes: 'trace=abc',
        requestTtlSeconds: 600,
        invocationTimeoutSeconds: 120,
      },
      taskToken: 'token-from-step-functions',
    });
    const before = await b.store.get('r-1');
    const attempt = await retryJob({ inferenceId: 'r-1' }, deps);
    expect(attempt).toMatchObject({
      inferenceId: 'r-1.2',
      status: 'IN_PROGRESS',
      retryOf: 'r-1',
      attempt: 2,
      endpointName: 'demo-endpoint',
      inputLocation: `s3://${INPUT_BUCKET}/inputs/r-1`,
      inputContentType: 'text/csv',
      callbackUrl: 'https://hooks.example.com/jobs',
      outputLocation: `s3://${OUTPUT_BUCKET}/outputs/r-1.2.out`,
    });
    expect((await b.store.get('r-1.2')) as unknown).toMatchObject({
      taskToken: 'token-from-step-functions',
    });
    expect(sm.commandCalls(InvokeEndpointAsyncCommand)[0]!.args[0].input).toEqual({
      EndpointName: 'demo-endpoint',
      InputLocation: `s3://${INPUT_BUCKET}/inputs/r-1`,
      InferenceId: 'r-1.2',
      S3OutputPathExtension: 'demo-endpoint',
      Filename: 'r-1.2.out',
      ContentType: 'text/csv',
      Accept: 'application/json',
      CustomAttributes: 'trace=abc',
      RequestTTLSeconds: 600,
      InvocationTimeoutSeconds: 120,
    });
    const after = await b.store.get('r-1');
    expect(after).toEqual({ ...before, attempts: 2, retriedBy: 'r-1.2' });
  });

  it('answers 409 for a job that has not failed, 404 for an unknown one or another owner', async () => {
    await seed('r-running', 'IN_PROGRESS');
    await seed('r-done', 'COMPLETED');
    await seed('r-owned', 'FAILED', { owner: 'iam:alice' });
    expect(await statusOf(retryJob({ inferenceId: 'r-running' }, deps))).toBe(409);
    expect(await statusOf(retryJob({ inferenceId: 'r-done' }, deps))).toBe(409);
    expect(await statusOf(retryJob({ inferenceId: 'r-nothing' }, deps))).toBe(404);
    expect(await statusOf(retryJob({ inferenceId: 'r-owned', owner: 'iam:bob' }, deps))).toBe(404);
    expect(invoked()).toEqual([]);
    expect((await b.store.get('r-done'))?.attempts).toBeUndefined();
    const mine = await retryJob({ inferenceId: 'r-owned', owner: 'iam:alice' }, deps);
    expect((await b.store.get(mine.inferenceId))?.owner).toBe('iam:alice');
  });

  it('retries a CANCELLED and an EXPIRED job as it retries a FAILED one', async () => {
    await seed('r-cancelled', 'CANCELLED');
    await seed('r-expired', 'EXPIRED');
    for (const id of ['r-cancelled', 'r-expired']) {
      const attempt = await retryJob({ inferenceId: id }, deps);
      expect(attempt).toMatchObject({ inferenceId: `${id}.2`, retryOf: id, attempt: 2 });
      expect(await b.store.get(id)).toMatchObject({ attempts: 2, retriedBy: `${id}.2` });
    }
    expect(invoked()).toEqual(['r-cancelled.2', 'r-expired.2']);
  });

  it('numbers attempts of one base: retrying .2 makes .3, never .2.2; a running attempt blocks the original', async () => {
    await seed('r-chain');
    await retryJob({ inferenceId: 'r-chain' }, deps);
    // Attempt 2 is running: neither it nor the original may be retried.
    expect(await statusOf(retryJob({ inferenceId: 'r-chain.2' }, deps))).toBe(409);
    expect(await statusOf(retryJob({ inferenceId: 'r-chain' }, deps))).toBe(409);
    await b.store.transition('r-chain.2', {
      status: 'FAILED',
      endpointName: 'demo-endpoint',
      completedAt: '2026-11-26T08:01:00.000Z',
      expiresAt: 1_900_000_000,
      failureReason: 'ModelError',
    });
    const third = await retryJob({ inferenceId: 'r-chain.2' }, deps);
    expect(third).toMatchObject({ inferenceId: 'r-chain.3', retryOf: 'r-chain', attempt: 3 });
    expect(await b.store.get('r-chain')).toMatchObject({ attempts: 3, retriedBy: 'r-chain.3' });
    expect(invoked()).toEqual(['r-chain.2', 'r-chain.3']);
  });

  it('lets one of two concurrent retries of a failure through: one attempt, one invocation', async () => {
    await seed('r-race');
    const results = await Promise.allSettled([
      retryJob({ inferenceId: 'r-race' }, deps),
      retryJob({ inferenceId: 'r-race' }, deps),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(RetryConflict);
    expect(invoked()).toEqual(['r-race.2']);
    expect(await b.store.get('r-race.3')).toBeUndefined();
  });

  it('gives the number again when the retry that took it could not queue its job', async () => {
    await seed('r-throttled');
    unavailable = 1;
    expect(await statusOf(retryJob({ inferenceId: 'r-throttled' }, deps))).toBe(503);
    expect(await b.store.get('r-throttled.2')).toBeUndefined();
    const again = await retryJob({ inferenceId: 'r-throttled' }, deps);
    expect(again.inferenceId).toBe('r-throttled.2');
    expect(await b.store.get('r-throttled')).toMatchObject({ attempts: 2 });
  });

  it('gives the number again when that retry could not release its claim either, once its lease is over', async () => {
    await seed('r-dead');
    unavailable = 1;
    // The retry's invoke refused, and the DeleteItem releasing its claim lost too.
    const lost = Object.create(b.store, {
      release: { value: async () => Promise.reject(new Error('InternalServerError')) },
    }) as typeof b.store;
    expect(await statusOf(retryJob({ inferenceId: 'r-dead' }, { ...deps, store: lost }))).toBe(503);
    expect(await b.store.get('r-dead.2')).toMatchObject({ status: 'IN_PROGRESS' });
    // That retry may still be running: a retry now is told to wait, and invokes nothing.
    const err = await answering(retryJob({ inferenceId: 'r-dead' }, deps)).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, message: expect.stringMatching(/still running/) });
    // Past any invocation's end (no context here: 15 minutes), the next retry takes the claim.
    const later = { ...deps, now: () => new Date(Date.now() + 1_000_000) };
    const again = await retryJob({ inferenceId: 'r-dead' }, later);
    expect(again).toMatchObject({ inferenceId: 'r-dead.2', attempt: 2 });
    expect(again.outputLocation).toBeDefined();
    expect(invoked()).toEqual(['r-dead.2', 'r-dead.2']);
    expect(await b.store.get('r-dead')).toMatchObject({ attempts: 2, retriedBy: 'r-dead.2' });
  });

  it('refuses a retry whose id would pass 64 characters, without taking a number', async () => {
    const id = `r-${'x'.repeat(61)}`; // 63 characters: `.2` makes 65
    await seed(id);
    expect(await statusOf(retryJob({ inferenceId: id }, deps))).toBe(400);
    expect((await b.store.get(id))?.attempts).toBeUndefined();
    expect(invoked()).toEqual([]);
  });
});

describe('scheduled (automatic) retries against dynalite', () => {
  it('makes the attempt once: a repeated message, or one for an attempt retried since, is a no-op', async () => {
    await seed('r-auto');
    const first = await runScheduledRetry({ inferenceId: 'r-auto', attempt: 1 }, deps);
    const again = await runScheduledRetry({ inferenceId: 'r-auto', attempt: 1 }, deps);
    expect(first?.inferenceId).toBe('r-auto.2');
    expect(again).toBeUndefined();
    expect(invoked()).toEqual(['r-auto.2']);
  });

  it('lets one of two concurrent deliveries of one JobFailed through', async () => {
    await seed('r-auto-race');
    const both = await Promise.all([
      runScheduledRetry({ inferenceId: 'r-auto-race', attempt: 1 }, deps),
      runScheduledRetry({ inferenceId: 'r-auto-race', attempt: 1 }, deps),
    ]);
    expect(both.filter(Boolean)).toHaveLength(1);
    expect(invoked()).toEqual(['r-auto-race.2']);
  });

  it('rethrows what is worth another receive (SageMaker unavailable)', async () => {
    await seed('r-auto-503');
    unavailable = 1;
    await expect(
      runScheduledRetry({ inferenceId: 'r-auto-503', attempt: 1 }, deps),
    ).rejects.toBeInstanceOf(AppError);
    // The redelivered message finds the number free again and makes the attempt.
    const later = await runScheduledRetry({ inferenceId: 'r-auto-503', attempt: 1 }, deps);
    expect(later?.inferenceId).toBe('r-auto-503.2');
    expect(invoked()).toEqual(['r-auto-503.2', 'r-auto-503.2']);
  });
});
