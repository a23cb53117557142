import { AsyncLocalStorage } from 'node:async_hooks';
import type { Deadlines } from '../app/ports/deadlines.ts';

/*
 * How long an outbound SDK call may take, and what enforces it. Read against the installed
 * @smithy/node-http-handler 4.14 (dist-es/node-http-handler.js, set-*-timeout.js):
 * - `connectionTimeout` destroys a socket that has not connected in time;
 * - `requestTimeout` only logs a warning unless `throwOnRequestTimeout: true`; with it the request
 *   is destroyed with a TimeoutError. Its timer starts with the attempt and is cleared once the
 *   answer's headers are in: it bounds connecting, sending the body and waiting for the headers,
 *   never the answer's body;
 * - `socketTimeout` is an inactivity timer on the socket (before and after the headers): a body that
 *   stops halfway fails the read with a TimeoutError. Unset, the SDK's service default applies
 *   (DynamoDB 300 s, the SageMaker runtime 900 s, none for the rest). From 6 s on the handler arms
 *   it 3 s late, so every idle bound here stays below that.
 * Each is a TimeoutError the SDK retries (up to the client's maxAttempts). A body that keeps
 * trickling a byte at a time is bound by none of them: only a deadline (`withinDeadline`, the SDK's
 * abortSignal) bounds a whole call, and submit has one.
 */

/** What ends one attempt of one call. */
export interface AttemptBounds {
  /** TCP connect. */
  connectMs: number;
  /** From the attempt's start to the answer's headers: connect, request body, service time. */
  headersMs: number;
  /** The longest silence on a connected socket: a service that stops answering, before or mid-body. */
  idleMs: number;
}

export interface TimeBounds {
  dynamo: AttemptBounds;
  s3: AttemptBounds;
  sageMaker: AttemptBounds;
  eventBridge: AttemptBounds;
  sqs: AttemptBounds;
  sfn: AttemptBounds;
  secretsManager: AttemptBounds;
  /** The sandbox's own clients of its in-process emulators (src/local). */
  local: AttemptBounds;
  /** The operator scripts (src/ops), run from a terminal. */
  ops: AttemptBounds;
  /** The operator scripts' Lambda client: a synchronous invoke answers when the function ends. */
  opsLambda: AttemptBounds;
  /**
   * One submit (src/lib/app/submit.ts): `deadlineMs` for every call from the claim to recording
   * the queued job; then `releaseMs` for releasing a claim that was never queued. Their sum stays
   * well inside API Gateway's 30 s integration limit (docs/reliability.md "Time bounds";
   * test/unit/lib/adapters/time-bounds.test.ts adds them up).
   */
  submit: { deadlineMs: number; releaseMs: number };
}

/*
 * The numbers. Every function that makes these calls has a Lambda timeout of 29 s or more
 * (serverless.yml) and the API's answer must come inside API Gateway's 30 s, so no single call may
 * take a large share of that: each service answers in milliseconds when healthy, and one that has
 * not answered in a few seconds is retried (a new connection) or given up on.
 */
export const TIME_BOUNDS: TimeBounds = {
  // Single-digit-millisecond answers (GetItem, PutItem, one Query page); 2 s is a lost request.
  dynamo: { connectMs: 1_000, headersMs: 2_000, idleMs: 2_000 },
  // headersMs covers sending the body: a submit uploads at most 6 MB (Lambda's request limit).
  s3: { connectMs: 2_000, headersMs: 5_000, idleMs: 3_000 },
  // InvokeEndpointAsync only queues the request; two attempts of 4 s leave submit's deadline room
  // for the claim and the record (submit.deadlineMs).
  sageMaker: { connectMs: 2_000, headersMs: 4_000, idleMs: 4_000 },
  eventBridge: { connectMs: 1_000, headersMs: 3_000, idleMs: 3_000 },
  // No long-poll receives in the functions (sends and visibility changes only).
  sqs: { connectMs: 1_000, headersMs: 3_000, idleMs: 3_000 },
  // Three attempts must end inside sendTaskResult's 30 s timeout.
  sfn: { connectMs: 1_000, headersMs: 3_000, idleMs: 3_000 },
  secretsManager: { connectMs: 1_000, headersMs: 3_000, idleMs: 3_000 },
  // In-process emulators on loopback: slow only under a load test, never silent for seconds.
  local: { connectMs: 1_000, headersMs: 10_000, idleMs: 5_000 },
  // redrive receives with WaitTimeSeconds 1.
  ops: { connectMs: 2_000, headersMs: 10_000, idleMs: 5_000 },
  // A synchronous invoke of a function with a 29 s timeout (onSuccess, onError); its answer comes
  // when the function ends, and the socket is silent until then.
  opsLambda: { connectMs: 2_000, headersMs: 35_000, idleMs: 35_000 },
  // 12 s + 4 s: under 20 s, leaving API Gateway's 30 s room for a cold start (INIT) of the function.
  submit: { deadlineMs: 12_000, releaseMs: 4_000 },
};

let active: TimeBounds = TIME_BOUNDS;

/** The bounds clients are built with and submit runs under. */
export function timeBounds(): TimeBounds {
  return active;
}

/**
 * For tests: the same clients and the same submit with other (small) numbers; pass nothing to go
 * back to TIME_BOUNDS. Clients already built keep theirs (resetClients).
 */
export function useTimeBounds(bounds: TimeBounds = TIME_BOUNDS): void {
  active = bounds;
}

/** The node-http-handler options that enforce `b` (a client's `requestHandler`). */
export function requestHandler(b: AttemptBounds): {
  connectionTimeout: number;
  requestTimeout: number;
  throwOnRequestTimeout: true;
  socketTimeout: number;
} {
  return {
    connectionTimeout: b.connectMs,
    requestTimeout: b.headersMs,
    throwOnRequestTimeout: true,
    socketTimeout: b.idleMs,
  };
}

/** A call that was still running when its deadline passed. */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
  /** A transport code: the API edge answers it as a dependency that timed out (503, retry). */
  readonly code = 'ETIMEDOUT';
}

const deadlines = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `fn` with every SDK call it makes (through a client passed to `honourDeadlines`) aborted
 * once `ms` have passed: attempts, the SDK's backoff between them and a body still being read. A
 * call cut by it throws DeadlineExceeded. A `withinDeadline` inside another replaces it for its own
 * calls (a release after a submit's deadline gets time of its own).
 */
export async function withinDeadline<T>(
  ms: number,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const reason = new DeadlineExceeded(`${what} did not finish within ${ms} ms`);
  const timer = setTimeout(() => controller.abort(reason), ms);
  try {
    return await deadlines.run(controller.signal, fn);
  } catch (err) {
    // The SDK reports an aborted call as an AbortError ("Request aborted"), not as the reason. An
    // inner deadline's DeadlineExceeded is not one: it is passed on as it is.
    if (controller.signal.aborted && err instanceof Error && err.name === 'AbortError')
      throw reason;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

type Send = (this: unknown, command: unknown, options?: unknown, cb?: unknown) => unknown;

/**
 * Makes `client.send` pass the current deadline (if any) as the SDK's own `abortSignal`, which the
 * SDK races its retry backoff against and the HTTP handler destroys the request on, body included.
 * The client's own `send` is looked up on each call, so a test that stubs the prototype (as
 * aws-sdk-client-mock does) still sees every call.
 */
export function honourDeadlines<C extends object>(client: C): C {
  const target = client as unknown as { send: Send };
  target.send = function (this: unknown, command, options, cb) {
    const send = (Object.getPrototypeOf(client) as { send: Send }).send;
    const deadline = deadlines.getStore();
    if (!deadline || typeof options === 'function') return send.call(this, command, options, cb);
    const given = (options as { abortSignal?: AbortSignal } | undefined)?.abortSignal;
    return send.call(
      this,
      command,
      {
        ...(options as object | undefined),
        abortSignal: given ? AbortSignal.any([given, deadline]) : deadline,
      },
      cb,
    );
  };
  return client;
}

/** The Deadlines port: submit's phases under TIME_BOUNDS.submit (or what a test set). */
export const submitDeadlines: Deadlines = {
  run: (phase, fn) =>
    phase === 'submit'
      ? withinDeadline(timeBounds().submit.deadlineMs, 'submit', fn)
      : withinDeadline(timeBounds().submit.releaseMs, 'releasing the claim', fn),
};
