import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Readable } from 'node:stream';
import type {
  BootstrapData,
  BootstrapMessage,
  FunctionErrorBody,
  InvokeMessage,
} from './lambda-bootstrap.ts';
import type { Schedule } from './stack.ts';
import { listenLocal } from './listen.ts';

/*
 * The sandbox's Lambda runtime: each function of serverless.yml runs in warm worker threads
 * (lambda-bootstrap.ts), one invocation at a time per worker as one Lambda instance runs them,
 * with the environment the `local` stage gives it (stack.ts). An idle worker is reused; a new one
 * is started (a cold start) only when none has been free for a moment, up to a cap per function;
 * each invocation is bounded by the function's timeout, after which its worker is terminated as
 * Lambda ends a timed-out instance. The Lambda Invoke API answers on a loopback port for callers
 * outside the process; the sandbox's own event sources call `invoke` directly.
 *
 * Limits from the Lambda docs (https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html and
 * the execution environment lifecycle page): 6 MB payloads synchronously and 1 MB asynchronously,
 * an INIT phase of at most 10 s.
 */

export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
export const MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024;
export const INIT_LIMIT_MS = 10_000;

export interface LambdaFunctionSpec {
  /** The key in serverless.yml (`getJob`). */
  key: string;
  /** The deployed name (`async-jobs-local-getJob`): the Invoke API's FunctionName. */
  name: string;
  /** The bundle to import, and its exported handler. */
  file: string;
  exportName: string;
  timeoutSeconds: number;
  memoryMb: number;
  environment: Record<string, string>;
  schedules?: Schedule[];
}

/** Warm workers per function and CPU; see LocalLambdaOptions.warmWorkers. */
export const WARM_PER_CPU = 4;

export interface LocalLambdaOptions {
  functions: LambdaFunctionSpec[];
  /** The built lambda-bootstrap.ts (lambda-build.ts). */
  bootstrap: string;
  /** The Invoke API's port; 0 for any free one. */
  port?: number;
  region: string;
  account?: string;
  /** The credentials Lambda would give the function's role, as environment variables. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /**
   * Workers per function started at once without waiting (default: four per CPU, WARM_PER_CPU).
   * Beyond it a new one starts only when an invocation has waited `scaleOutAfterMs` for a free
   * one while this thread, which runs the emulators the functions call, has time to spare (the
   * workers are held by long waits, such as getJob's long poll), and one at a time. A submit
   * spends most of its time waiting on four round trips to the emulators, so a worker per CPU
   * leaves them idle between calls; many more make each burst pay cold starts (half a second of
   * CPU each) on the same cores. The bench's "POST /jobs rate" row measures the choice.
   */
  warmWorkers?: number;
  scaleOutAfterMs?: number;
  /** Most workers per function; an invocation waits (up to its timeout) for one beyond it. */
  maxWorkers?: number;
  /** A worker idle this long is stopped (Lambda reclaims idle instances too). */
  idleMs?: number;
  /** Handler output, one line at a time, prefixed `[lambda:<key>]`; the runtime's own `[lambda]`. */
  log?: (line: string) => void;
}

/** The function ran and failed (threw, timed out, crashed): `X-Amz-Function-Error: Unhandled`. */
export class FunctionFailed extends Error {
  constructor(
    readonly functionName: string,
    readonly body: FunctionErrorBody,
  ) {
    super(`${functionName} failed: ${body.errorMessage || body.errorType}`);
    this.name = 'FunctionFailed';
  }
}

/** The Invoke API refused the call before the function ran (its status and error type, as `name`). */
export class InvokeRefused extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
    // The Lambda API's error type, as the AWS SDK names its exceptions: the gateway answers a
    // RequestEntityTooLargeException with 413 whoever raised it (api-gateway.ts).
    this.name = type;
  }
}

/** The runtime was stopped while the call waited or ran: no answer will come. */
export class RuntimeStopped extends Error {
  constructor() {
    super('the local Lambda runtime stopped');
    this.name = 'RuntimeStopped';
  }
}

export type InvocationType = 'RequestResponse' | 'Event';

export interface LocalLambda {
  url: string;
  port: number;
  /**
   * Runs a function (its key or name) with an event; resolves with its answer (`Event`: at once,
   * with undefined). Rejects with FunctionFailed, InvokeRefused or RuntimeStopped.
   */
  invoke(fn: string, event: unknown, type?: InvocationType): Promise<unknown>;
  /** Workers per function (idle and busy), for tests and the bench. */
  workers(): Record<string, { idle: number; busy: number }>;
  close(): Promise<void>;
}

interface Pending {
  resolve(payload: string): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  busy: boolean;
  idleTimer?: NodeJS.Timeout;
  pending?: Pending;
  /** Set once the worker is gone or going: it takes no more work. */
  dead: boolean;
}

interface Waiter {
  resolve(slot: Slot): void;
  reject(err: Error): void;
  timers: NodeJS.Timeout[];
  /** It waited scaleOutAfterMs: a new worker may start for it (see `warmWorkers`). */
  overdue: boolean;
}

const timedOut = (id: string, seconds: number): FunctionErrorBody => ({
  errorType: 'Sandbox.Timedout',
  errorMessage: `RequestId: ${id} Error: Task timed out after ${seconds.toFixed(2)} seconds`,
});

function forwardLines(stream: Readable, emit: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) emit(line);
  });
  stream.on('end', () => {
    if (buffered.trim()) emit(buffered);
  });
}

class FunctionPool {
  private readonly slots = new Set<Slot>();
  private readonly waiters: Waiter[] = [];
  private seq = 0;
  /** Workers still in INIT. */
  private starting = 0;

  constructor(
    readonly spec: LambdaFunctionSpec,
    private readonly opts: Required<
      Pick<LocalLambdaOptions, 'warmWorkers' | 'scaleOutAfterMs' | 'maxWorkers' | 'idleMs'>
    > &
      Pick<LocalLambdaOptions, 'bootstrap' | 'region' | 'account' | 'credentials' | 'log'>,
    private readonly isClosed: () => boolean,
    /** This thread was busy most of the last moment (its event loop utilization). */
    private readonly hostBusy: () => boolean,
  ) {}

  counts() {
    let busy = 0;
    for (const s of this.slots) if (s.busy) busy++;
    return { idle: this.slots.size - busy, busy };
  }

  private spawn(): Slot {
    const { spec } = this;
    const data: BootstrapData = {
      file: spec.file,
      exportName: spec.exportName,
      functionName: spec.name,
      memoryMb: spec.memoryMb,
      region: this.opts.region,
      account: this.opts.account ?? '000000000000',
    };
    const worker = new Worker(this.opts.bootstrap, {
      workerData: data,
      // Only what Lambda sets and the function's own variables: nothing of the sandbox's shell.
      env: {
        ...spec.environment,
        AWS_REGION: this.opts.region,
        AWS_DEFAULT_REGION: this.opts.region,
        AWS_ACCESS_KEY_ID: this.opts.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: this.opts.credentials.secretAccessKey,
        AWS_LAMBDA_FUNCTION_NAME: spec.name,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      },
      // The bundle is JavaScript: no loader of the host process (tsx) in the worker.
      execArgv: [],
      stdout: true,
      stderr: true,
      // The function's memory as the heap's bound: a runaway function dies as Lambda's would.
      resourceLimits: { maxOldGenerationSizeMb: Math.max(spec.memoryMb, 128) },
    });
    const emit = (line: string) => this.opts.log?.(`[lambda:${spec.key}] ${line}`);
    forwardLines(worker.stdout, emit);
    forwardLines(worker.stderr, emit);
    let crash: Error | undefined;
    let markReady!: () => void;
    let failInit!: (err: Error) => void;
    const slot: Slot = {
      worker,
      busy: true,
      dead: false,
      ready: new Promise<void>((resolve, reject) => {
        markReady = resolve;
        failInit = reject;
      }),
    };
    // Awaited by the invocation that started the worker; never an unhandled rejection.
    slot.ready.catch(() => undefined);
    this.starting++;
    const startedAt = Date.now();
    let initDone = false;
    const endInit = () => {
      if (initDone) return;
      initDone = true;
      this.starting--;
      clearTimeout(initTimer);
    };
    const initTimer = setTimeout(() => {
      endInit();
      failInit(
        new FunctionFailed(spec.name, {
          errorType: 'Runtime.InitTimeout',
          errorMessage: `INIT did not finish within ${INIT_LIMIT_MS / 1000} s`,
        }),
      );
      this.retire(slot);
    }, INIT_LIMIT_MS);
    worker.on('message', (msg: BootstrapMessage) => {
      if (msg.type === 'ready') {
        endInit();
        this.opts.log?.(
          `[lambda] ${spec.key} instance started ${JSON.stringify({ initMs: Date.now() - startedAt, instances: this.slots.size })}`,
        );
        markReady();
        this.pump();
        return;
      }
      if (msg.type === 'init-error') {
        endInit();
        failInit(new FunctionFailed(spec.name, msg.error));
        this.retire(slot);
        return;
      }
      const p = slot.pending;
      if (!p) return;
      slot.pending = undefined;
      clearTimeout(p.timer);
      if (msg.type === 'result') p.resolve(msg.payload);
      else p.reject(new FunctionFailed(spec.name, msg.error));
      this.release(slot);
    });
    worker.on('error', (err) => (crash = err));
    worker.on('exit', (code) => {
      endInit();
      const outOfMemory =
        (crash as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      const body: FunctionErrorBody = outOfMemory
        ? {
            errorType: 'Runtime.OutOfMemory',
            errorMessage: `the function used more than its ${spec.memoryMb} MB`,
          }
        : crash
          ? { errorType: crash.name || 'Runtime.ExitError', errorMessage: crash.message }
          : { errorType: 'Runtime.ExitError', errorMessage: `the worker exited with code ${code}` };
      failInit(this.isClosed() ? new RuntimeStopped() : new FunctionFailed(spec.name, body));
      const p = slot.pending;
      slot.pending = undefined;
      if (p) {
        clearTimeout(p.timer);
        p.reject(this.isClosed() ? new RuntimeStopped() : new FunctionFailed(spec.name, body));
      }
      this.forget(slot);
    });
    this.slots.add(slot);
    return slot;
  }

  /** Takes the slot out of service and stops its worker. */
  private retire(slot: Slot): void {
    this.forget(slot);
    void slot.worker.terminate();
  }

  private forget(slot: Slot): void {
    if (slot.dead) return;
    slot.dead = true;
    clearTimeout(slot.idleTimer);
    this.slots.delete(slot);
    // A waiter the cap held back may now start a worker of its own.
    this.pump();
  }

  private release(slot: Slot): void {
    if (slot.dead) return;
    slot.busy = false;
    clearTimeout(slot.idleTimer);
    const waiter = this.waiters.shift();
    if (waiter) {
      slot.busy = true;
      waiter.timers.forEach(clearTimeout);
      waiter.resolve(slot);
      return;
    }
    slot.idleTimer = setTimeout(() => {
      if (!slot.busy) this.retire(slot);
    }, this.opts.idleMs);
    slot.idleTimer.unref();
  }

  private idleSlot(): Slot | undefined {
    for (const s of this.slots) if (!s.busy && !s.dead) return s;
    return undefined;
  }

  /** Starts workers for waiters that may have one now (below the warm count, or the cap). */
  private pump(): void {
    while (this.waiters.length > 0 && !this.isClosed()) {
      const idle = this.idleSlot();
      if (idle) {
        this.release(idle);
        continue;
      }
      const size = this.slots.size;
      const stuck = !this.hostBusy();
      const i = this.waiters.findIndex(
        (w) =>
          size < this.opts.warmWorkers ||
          (w.overdue && stuck && size < this.opts.maxWorkers && this.starting === 0),
      );
      if (i < 0) return;
      const [waiter] = this.waiters.splice(i, 1) as [Waiter];
      waiter.timers.forEach(clearTimeout);
      waiter.resolve(this.spawn());
    }
  }

  /** A worker for one invocation: idle, new, or the next to be free, within `waitMs`. */
  private acquire(waitMs: number): Promise<Slot> {
    const idle = this.idleSlot();
    if (idle) {
      clearTimeout(idle.idleTimer);
      idle.busy = true;
      return Promise.resolve(idle);
    }
    if (this.slots.size < this.opts.warmWorkers) return Promise.resolve(this.spawn());
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timers: [], overdue: false };
      const leave = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
      };
      // Busy workers usually free up within a few milliseconds; one held longer (a long poll)
      // should not hold the queue: then a new instance starts, as Lambda scales out.
      waiter.timers.push(
        setInterval(() => {
          waiter.overdue = true;
          this.pump();
        }, this.opts.scaleOutAfterMs),
        setTimeout(() => {
          leave();
          waiter.timers.forEach(clearTimeout);
          reject(
            new InvokeRefused(
              429,
              'TooManyRequestsException',
              `Rate Exceeded: ${this.spec.name} has ${this.opts.maxWorkers} instances busy`,
            ),
          );
        }, waitMs),
      );
      this.waiters.push(waiter);
    });
  }

  async run(event: string, awsRequestId: string): Promise<string> {
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    const slot = await this.acquire(timeoutMs);
    try {
      await slot.ready;
    } catch (err) {
      this.retire(slot);
      throw err;
    }
    if (this.isClosed() || slot.dead) throw new RuntimeStopped();
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        slot.pending = undefined;
        // As Lambda does with a timed-out instance: it is stopped, the next call starts anew.
        this.opts.log?.(
          `[lambda] ${this.spec.key} timed out after ${this.spec.timeoutSeconds} s ${JSON.stringify({ awsRequestId })}`,
        );
        this.retire(slot);
        reject(
          new FunctionFailed(this.spec.name, timedOut(awsRequestId, this.spec.timeoutSeconds)),
        );
      }, timeoutMs);
      slot.pending = { resolve, reject, timer };
      const msg: InvokeMessage = {
        id: ++this.seq,
        event,
        awsRequestId,
        deadline: Date.now() + timeoutMs,
      };
      slot.worker.postMessage(msg);
    });
  }

  async close(): Promise<void> {
    for (const w of this.waiters.splice(0)) {
      w.timers.forEach(clearTimeout);
      w.reject(new RuntimeStopped());
    }
    await Promise.all(
      [...this.slots].map(async (s) => {
        clearTimeout(s.idleTimer);
        await s.worker.terminate();
      }),
    );
  }
}

/** EventBridge's Scheduled Event, as a `schedule` rule sends it. */
export function scheduledEvent(region: string, account: string, rule: string, now = new Date()) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account,
    time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:${account}:rule/${rule}`],
    detail: {},
  };
}

/** The Invoke API's FunctionName: a name, an ARN or a partial ARN, with or without a qualifier. */
export function functionNameOf(raw: string): string {
  const m =
    /^(?:arn:[^:]+:lambda:[^:]+:)?(?:\d{12}:)?(?:function:)?([A-Za-z0-9_.-]+)(?::[^:]+)?$/.exec(
      raw,
    );
  return m ? (m[1] as string) : raw;
}

export async function startLocalLambda(opts: LocalLambdaOptions): Promise<LocalLambda> {
  let closed = false;
  const region = opts.region;
  const account = opts.account ?? '000000000000';
  const warm = opts.warmWorkers ?? WARM_PER_CPU * availableParallelism();
  const settings = {
    ...opts,
    warmWorkers: warm,
    scaleOutAfterMs: opts.scaleOutAfterMs ?? 500,
    maxWorkers: Math.max(opts.maxWorkers ?? 64, warm),
    idleMs: opts.idleMs ?? 10 * 60_000,
  };
  // This thread's event loop utilization over the last half second: the emulators' load.
  let elu = performance.eventLoopUtilization();
  let busy = 0;
  const sampler = setInterval(() => {
    const now = performance.eventLoopUtilization();
    busy = performance.eventLoopUtilization(now, elu).utilization;
    elu = now;
  }, 500);
  sampler.unref();
  const pools = new Map<string, FunctionPool>();
  for (const spec of opts.functions) {
    const pool = new FunctionPool(
      spec,
      settings,
      () => closed,
      () => busy > 0.8,
    );
    pools.set(spec.key, pool);
    pools.set(spec.name, pool);
  }
  const inFlight = new Set<Promise<unknown>>();
  const log = (line: string) => opts.log?.(line);

  function poolOf(fn: string): FunctionPool {
    const pool = pools.get(fn) ?? pools.get(functionNameOf(fn));
    if (pool) return pool;
    throw new InvokeRefused(
      404,
      'ResourceNotFoundException',
      `Function not found: arn:aws:lambda:${region}:${account}:function:${functionNameOf(fn)}`,
    );
  }

  /** The checks the Invoke API makes before the function runs: its name, the payload's size. */
  function accept(fn: string, event: unknown, type: InvocationType) {
    if (closed) throw new RuntimeStopped();
    const pool = poolOf(fn);
    const text = typeof event === 'string' ? event : JSON.stringify(event ?? {});
    const limit = type === 'Event' ? MAX_ASYNC_PAYLOAD_BYTES : MAX_SYNC_PAYLOAD_BYTES;
    if (Buffer.byteLength(text) > limit) {
      throw new InvokeRefused(
        413,
        'RequestEntityTooLargeException',
        `Request must be smaller than ${limit} bytes for the InvokeFunction operation`,
      );
    }
    return { pool, text };
  }

  async function runSync(fn: string, event: unknown): Promise<string> {
    const { pool, text } = accept(fn, event, 'RequestResponse');
    const payload = await pool.run(text, randomUUID());
    if (Buffer.byteLength(payload) > MAX_SYNC_PAYLOAD_BYTES) {
      throw new FunctionFailed(pool.spec.name, {
        errorType: 'Function.ResponseSizeTooLarge',
        errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_SYNC_PAYLOAD_BYTES} bytes).`,
      });
    }
    return payload;
  }

  /** Event: accepted now, run in the background; a failure is logged (no destination here). */
  function runAsync(fn: string, event: unknown): void {
    const { pool, text } = accept(fn, event, 'Event');
    const p = pool
      .run(text, randomUUID())
      .catch((err: unknown) => {
        if (err instanceof RuntimeStopped) return;
        log(
          `[lambda] ${pool.spec.key} (Event) failed ${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}`,
        );
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }

  const invoke: LocalLambda['invoke'] = async (fn, event, type = 'RequestResponse') => {
    if (type === 'Event') return runAsync(fn, event);
    return JSON.parse(await runSync(fn, event)) as unknown;
  };

  const server: Server = createServer((req, res) => {
    handleInvoke(req, res).catch(() => {
      if (!res.headersSent) answer(res, 500, { message: 'internal error' }, 'ServiceException');
      else res.destroy();
    });
  });

  function answer(res: ServerResponse, status: number, body: unknown, errorType?: string) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    });
    res.end(text);
  }

  async function handleInvoke(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(
      new URL(req.url ?? '/', 'http://local').pathname,
    );
    if (req.method !== 'POST' || !m) {
      req.resume();
      answer(
        res,
        404,
        { message: 'only Invoke (POST /2015-03-31/functions/{name}/invocations)' },
        'UnknownOperationException',
      );
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.byteLength;
      if (size <= MAX_SYNC_PAYLOAD_BYTES + 1) chunks.push(c);
    }
    const fn = decodeURIComponent(m[1] as string);
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    const raw = Buffer.concat(chunks).toString('utf8');
    const refuse = (err: InvokeRefused) =>
      answer(res, err.status, { Type: 'User', message: err.message }, err.type);
    if (size > MAX_SYNC_PAYLOAD_BYTES) {
      refuse(
        new InvokeRefused(
          413,
          'RequestEntityTooLargeException',
          `Request must be smaller than ${MAX_SYNC_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
        ),
      );
      return;
    }
    let event: unknown = {};
    if (raw.trim() !== '') {
      try {
        event = JSON.parse(raw);
      } catch {
        refuse(
          new InvokeRefused(
            400,
            'InvalidRequestContentException',
            'Could not parse request body into json',
          ),
        );
        return;
      }
    }
    try {
      if (type === 'DryRun') {
        accept(fn, event, 'RequestResponse');
        res.writeHead(204, { 'x-amzn-requestid': randomUUID() }).end();
        return;
      }
      if (type === 'Event') {
        runAsync(fn, event);
        res.writeHead(202, { 'content-length': 0, 'x-amzn-requestid': randomUUID() }).end();
        return;
      }
      if (type !== 'RequestResponse') {
        refuse(
          new InvokeRefused(
            400,
            'InvalidParameterValueException',
            `InvocationType ${type} is not one of RequestResponse, Event, DryRun`,
          ),
        );
        return;
      }
      const payload = await runSync(fn, event);
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        'x-amz-executed-version': '$LATEST',
        'x-amzn-requestid': randomUUID(),
      });
      res.end(payload);
    } catch (err) {
      if (err instanceof InvokeRefused) return refuse(err);
      if (err instanceof FunctionFailed) {
        const text = JSON.stringify(err.body);
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          'x-amz-executed-version': '$LATEST',
          'x-amz-function-error': 'Unhandled',
          'x-amzn-requestid': randomUUID(),
        });
        res.end(text);
        return;
      }
      if (err instanceof RuntimeStopped) {
        answer(res, 503, { message: err.message }, 'ServiceException');
        return;
      }
      throw err;
    }
  }

  const port = await listenLocal(server, opts.port);

  // As each `schedule` rule of the deployed stack: the first run one period after the start.
  const timers: NodeJS.Timeout[] = [];
  for (const spec of opts.functions) {
    for (const s of spec.schedules ?? []) {
      const rule = `${spec.name}-schedule`;
      const t = setInterval(() => {
        if (closed) return;
        runAsync(spec.key, s.input ?? scheduledEvent(region, account, rule));
      }, s.rateMs);
      t.unref();
      timers.push(t);
    }
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    invoke,
    workers: () => {
      const out: Record<string, { idle: number; busy: number }> = {};
      for (const spec of opts.functions) out[spec.key] = pools.get(spec.key)!.counts();
      return out;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      timers.forEach(clearInterval);
      clearInterval(sampler);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      const all = new Set(pools.values());
      await Promise.all([...all].map((p) => p.close()));
      await Promise.allSettled([...inFlight]);
    },
  };
}
