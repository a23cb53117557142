import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  dynamo,
  eventBridge,
  resetClients,
  s3,
  sageMaker,
  sqs,
} from '../../../../src/lib/adapters/clients.ts';
import { resetStepFunctions, stepFunctions } from '../../../../src/lib/adapters/step-functions.ts';
import {
  DeadlineExceeded,
  TIME_BOUNDS,
  honourDeadlines,
  requestHandler,
  withinDeadline,
  type AttemptBounds,
} from '../../../../src/lib/adapters/time-bounds.ts';
import { resetSecretsManager, secretsManager } from '../../../../src/lib/adapters/webhook-keys.ts';
import { isDependencyFailure } from '../../../../src/lib/http/answers.ts';

/*
 * The configured numbers, added up: arithmetic, not a clock. The attempts are read from the
 * clients as built (clients.ts), the bounds from TIME_BOUNDS, the Lambda timeout from
 * serverless.yml; the SDK's backoff is the one of the installed @smithy/core (retry/util-retry:
 * StandardRetryStrategy.js, DefaultRetryBackoffStrategy.js, retries-2026-config.js): before retry
 * i (0-based) it waits random x min(base x 2^i, 20 s), base 50 ms, 1 s after a throttle, and up to
 * 5 s more when the answer carried Retry-After. docs/reliability.md "Time bounds" writes the sums.
 */

afterEach(() => {
  resetClients();
  resetStepFunctions();
  resetSecretsManager();
});

const API_GATEWAY_LIMIT_MS = 30_000;
/** The most a Lambda INIT (cold start) may take before the handler runs (Lambda quotas). */
const LAMBDA_INIT_MAX_MS = 10_000;
/** What the issue asks a submit's worst case to stay under. */
const SUBMIT_BUDGET_MS = 20_000;

const transientBackoff = (i: number) => Math.min(50 * 2 ** i, 20_000);
const throttleBackoff = (i: number) => Math.min(1_000 * 2 ** i, 20_000) + 5_000;

/** One attempt: headers by `headersMs`, then one stall of `idleMs` (armed 3 s late from 6 s). */
const attemptWorst = (b: AttemptBounds) => b.headersMs + b.idleMs + (b.idleMs >= 6_000 ? 3_000 : 0);

function callWorst(b: AttemptBounds, attempts: number, backoff: (i: number) => number): number {
  let total = attempts * attemptWorst(b);
  for (let i = 0; i < attempts - 1; i++) total += backoff(i);
  return total;
}

/** A function's Lambda timeout in serverless.yml (its own, else the provider's), in ms. */
function lambdaTimeoutMs(name: string): number {
  const yml = readFileSync('serverless.yml', 'utf8');
  const provider = /^provider:\n(?:(?: {2}.*)?\n)*?\s{2}timeout: (\d+)$/m.exec(yml);
  const fn = new RegExp(`^  ${name}:\\n((?:    .*\\n|\\n)*)`, 'm').exec(yml);
  expect(fn, `${name} in serverless.yml`).not.toBeNull();
  const own = /^ {4}timeout: (\d+)$/m.exec(fn![1]!);
  return Number((own ?? provider)![1]) * 1000;
}

async function attempts(): Promise<Record<string, number>> {
  return {
    dynamo: await dynamo().config.maxAttempts(),
    s3: await (await s3()).config.maxAttempts(),
    sageMaker: await sageMaker().config.maxAttempts(),
    eventBridge: await (await eventBridge()).config.maxAttempts(),
    sqs: await (await sqs()).config.maxAttempts(),
    sfn: await stepFunctions().config.maxAttempts(),
    secretsManager: await (await secretsManager()).config.maxAttempts(),
  };
}

describe('submit: the worst case, by construction', () => {
  const { deadlineMs, releaseMs } = TIME_BOUNDS.submit;

  it('its deadline and the release after it stay under 20 s, and inside API Gateway’s 30 s after a cold start', () => {
    expect(deadlineMs + releaseMs).toBeLessThanOrEqual(SUBMIT_BUDGET_MS);
    expect(LAMBDA_INIT_MAX_MS + deadlineMs + releaseMs).toBeLessThan(API_GATEWAY_LIMIT_MS);
  });

  it('submitJob lives long enough to answer: its Lambda timeout is longer than the worst case', () => {
    expect(lambdaTimeoutMs('submitJob')).toBeGreaterThan(deadlineMs + releaseMs);
  });

  it('a SageMaker that never answers gets all its attempts inside the deadline, then the claim is released', async () => {
    const n = await attempts();
    const sm = TIME_BOUNDS.sageMaker;
    // Never answering: each attempt ends at its headers bound; a timeout backs off as transient.
    const invoke = callWorst({ ...sm, idleMs: 0 }, n.sageMaker!, transientBackoff);
    expect(invoke).toBeLessThan(deadlineMs);
    // The release has at least one whole attempt of its own, a stalled one included.
    expect(attemptWorst(TIME_BOUNDS.dynamo)).toBeLessThanOrEqual(releaseMs);
  });

  it('without the deadline the per-call bounds alone would not hold the budget (why submit has one)', async () => {
    const n = await attempts();
    // claim (DynamoDB), input upload (S3), invoke (SageMaker), record (DynamoDB): each stalled
    // on every attempt and throttled with Retry-After in between.
    const calls =
      2 * callWorst(TIME_BOUNDS.dynamo, n.dynamo!, throttleBackoff) +
      callWorst(TIME_BOUNDS.s3, n.s3!, throttleBackoff) +
      callWorst(TIME_BOUNDS.sageMaker, n.sageMaker!, throttleBackoff);
    expect(calls).toBeGreaterThan(SUBMIT_BUDGET_MS);
    expect(Math.min(calls, deadlineMs) + releaseMs).toBeLessThanOrEqual(SUBMIT_BUDGET_MS);
  });

  it('docs/reliability.md "Time bounds" states the same deadline and release', () => {
    const doc = readFileSync('docs/reliability.md', 'utf8');
    const section = doc.slice(doc.indexOf('## Time bounds'));
    expect(section.startsWith('## Time bounds')).toBe(true);
    expect(section).toContain(`${deadlineMs / 1000} s`);
    expect(section).toContain(`${releaseMs / 1000} s`);
    expect(section).toContain(`${(deadlineMs + releaseMs) / 1000} s`);
  });
});

describe('every client: one call, stalled on every attempt, ends inside its functions’ Lambda timeout', () => {
  // The shortest timeout among the functions that use each client (serverless.yml).
  type Client = 'dynamo' | 's3' | 'sageMaker' | 'eventBridge' | 'sqs' | 'sfn' | 'secretsManager';
  const users: Record<Client, string[]> = {
    dynamo: ['submitJob', 'getJob', 'onSuccess', 'sendTaskResult'],
    s3: ['submitJob', 'getResult', 'onSuccess'],
    sageMaker: ['submitJob', 'retryJob'],
    eventBridge: ['onSuccess', 'onError'],
    sqs: ['onSuccess', 'createBatch', 'autoRetry'],
    sfn: ['sendTaskResult'],
    secretsManager: ['deliverWebhook'],
  };

  const clients = Object.keys(users) as Client[];

  it.each(clients)('%s', async (client) => {
    const n = (await attempts())[client]!;
    const b = TIME_BOUNDS[client];
    const limit = Math.min(...users[client].map(lambdaTimeoutMs));
    expect(callWorst(b, n, transientBackoff)).toBeLessThan(limit);
  });

  it('no idle bound of a function’s client reaches 6 s, where the handler arms it 3 s late', () => {
    for (const client of clients) expect(TIME_BOUNDS[client].idleMs).toBeLessThan(6_000);
  });
});

describe('requestHandler and withinDeadline', () => {
  it('turns each bound into the handler option that enforces it', () => {
    expect(requestHandler({ connectMs: 1, headersMs: 2, idleMs: 3 })).toEqual({
      connectionTimeout: 1,
      requestTimeout: 2,
      // Without it requestTimeout only logs a warning.
      throwOnRequestTimeout: true,
      socketTimeout: 3,
    });
  });

  /** A client whose calls end only when their abortSignal fires, as a hung SDK call would. */
  class HungClient {
    readonly signals: (AbortSignal | undefined)[] = [];
    send(_command: string, options?: { abortSignal?: AbortSignal }): Promise<never> {
      this.signals.push(options?.abortSignal);
      return new Promise((_, reject) =>
        options?.abortSignal?.addEventListener('abort', () =>
          reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })),
        ),
      );
    }
  }

  it('a call cut by the deadline throws DeadlineExceeded, which the API answers 503', async () => {
    const client = honourDeadlines(new HungClient());
    const err = await withinDeadline(20, 'test', () => client.send('GetItem')).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeadlineExceeded);
    expect((err as Error).message).toBe('test did not finish within 20 ms');
    expect(isDependencyFailure(err)).toBe(true);
  });

  it('outside a deadline a call gets none; a caller’s own signal is kept beside it', async () => {
    const client = honourDeadlines(new HungClient());
    void client.send('GetItem');
    expect(client.signals[0]).toBeUndefined();
    const own = new AbortController();
    const call = withinDeadline(60_000, 'test', () =>
      client.send('GetItem', { abortSignal: own.signal }),
    );
    own.abort();
    // Aborted by the caller, not by the deadline: the SDK's own AbortError passes through.
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a deadline inside another gives its calls time of their own (the release after a submit)', async () => {
    const client = honourDeadlines(new HungClient());
    const err = await withinDeadline(10, 'submit', async () => {
      await client.send('PutItem').catch(() => undefined);
      // The outer deadline has passed; the inner one is fresh.
      return withinDeadline(30, 'releasing the claim', () => client.send('DeleteItem'));
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('releasing the claim did not finish within 30 ms');
    expect(client.signals.map((sig) => sig?.aborted)).toEqual([true, true]);
  });

  it('passes every other error through', async () => {
    const boom = new Error('boom');
    await expect(withinDeadline(1_000, 'test', () => Promise.reject(boom))).rejects.toBe(boom);
  });
});
