import { isDeepStrictEqual } from 'node:util';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { inject } from 'vitest';
import type { Sandbox, SandboxOptions } from '../../src/local/sandbox.ts';
import type { LocalSageMakerStats } from '../../src/local/sagemaker.ts';
import type { JournalEntry, Method, SandboxInfo } from './shared-sandbox-server.ts';

/*
 * The suite's one shared sandbox as a Sandbox, for a test file: the same shape startSandbox()
 * returns, served by test/support/shared-sandbox-server.ts (started by the global setup
 * test/global/shared-sandbox.ts). Addresses and env are the sandbox's own; its captures
 * (sqs.messages, eventBridge.events, ...) and the log lines are copies kept current from the
 * server's journal, read synchronously as before; publish/idle/expire run on the sandbox.
 *
 * Sharing holds as long as each file uses ids of its own and reads the captures for its own ids:
 * every file sees every other file's jobs, events and log lines. A file that needs other options,
 * or the whole sandbox to itself (say, to assert that the endpoint scaled to zero), starts one
 * with startTestSandbox.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** The control URL of the shared sandbox's server (test/global/shared-sandbox.ts). */
    sharedSandbox: string;
  }
}

type Options = Omit<SandboxOptions, 'ports' | 'log'>;

/** What each collection of the journal holds. */
interface Captures {
  lines: string;
  'sqs.messages': Sandbox['sqs']['messages'][number];
  'sqs.deadLetters': Sandbox['sqs']['deadLetters'][number];
  'sns.deadLetters': Sandbox['sns']['deadLetters'][number];
  'eventBridge.events': Sandbox['eventBridge']['events'][number];
  'eventBridge.deadLetters': Sandbox['eventBridge']['deadLetters'][number];
  'stepFunctions.calls': Sandbox['stepFunctions']['calls'][number];
}

/** How long the server may take to listen: a tsx process starting on a loaded machine. */
const CONNECT_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The captures of the sandbox, as the server's journal has them so far. */
class Journal {
  seq = 0;
  stats: LocalSageMakerStats | undefined;
  private readonly arrays = new Map<string, unknown[]>();
  private waiting: { seq: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  private failure: Error | undefined;

  constructor(lines: string[]) {
    this.arrays.set('lines', lines);
  }

  /** The copy of a collection; the same array for the file's whole life, updated in place. */
  array<C extends keyof Captures>(name: C): Captures[C][] {
    let a = this.arrays.get(name);
    if (!a) this.arrays.set(name, (a = []));
    return a as Captures[C][];
  }

  apply(entry: JournalEntry): void {
    if (entry.c === 'sageMaker.stats') this.stats = entry.v as LocalSageMakerStats;
    else {
      const a = this.array(entry.c) as unknown[];
      if (entry.op === 'push') a.push(entry.v);
      else a.splice(0, a.length, ...(entry.v as unknown[]));
    }
    this.seq = entry.s;
    this.waiting = this.waiting.filter((w) => (w.seq <= this.seq ? (w.resolve(), false) : true));
  }

  /** Resolves once the copy holds every entry up to `seq`. */
  reached(seq: number): Promise<void> {
    if (seq <= this.seq) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiting.push({ seq, resolve, reject }));
  }

  fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting) w.reject(err);
    this.waiting = [];
  }
}

/** GET /sandbox, retried while the server is not listening yet (it starts with the run). */
async function sandboxInfo(control: string): Promise<SandboxInfo> {
  const deadline = Date.now() + CONNECT_MS;
  for (;;) {
    let res: Response;
    try {
      res = await fetch(`${control}/sandbox`);
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`the shared sandbox's server never answered at ${control}`, {
          cause: err,
        });
      }
      await sleep(100);
      continue;
    }
    const body = (await res.json()) as SandboxInfo & { error?: string; log?: string[] };
    if (res.status !== 200) {
      throw new Error(
        `the shared sandbox did not start: ${body.error}\n${(body.log ?? []).join('\n')}`,
      );
    }
    return body;
  }
}

/** Follows the server's journal into `journal` until `signal` aborts. */
async function follow(control: string, journal: Journal, signal: AbortSignal): Promise<void> {
  const res = await fetch(`${control}/journal?from=${journal.seq + 1}`, { signal });
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      journal.apply(JSON.parse(buffered.slice(0, nl)) as JournalEntry);
      buffered = buffered.slice(nl + 1);
    }
  }
  throw new Error('the shared sandbox stopped');
}

interface CallAnswer {
  value?: unknown;
  seq?: number;
  error?: { name: string; message: string };
}

function failed(method: Method, error: { name: string; message: string }): Error {
  return Object.assign(new Error(`${method} on the shared sandbox: ${error.message}`), {
    name: error.name,
  });
}

// A fetch run on a thread of its own while this one waits: how a synchronous method
// (stepFunctions.expire) stays synchronous, so its effect is in place before the next line runs.
const SYNC_POST = `
const { workerData } = require('node:worker_threads');
const { url, body, signal, port } = workerData;
fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  .then(async (res) => ({ status: res.status, text: await res.text() }))
  .catch((err) => ({ status: 0, text: JSON.stringify({ error: { name: 'Error', message: String(err) } }) }))
  .then((out) => {
    port.postMessage(out);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  });
`;

function callSync(control: string, method: Method, args: unknown[]): unknown {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(SYNC_POST, {
    eval: true,
    workerData: {
      url: `${control}/call`,
      body: JSON.stringify({ method, args }),
      signal,
      port: port2,
    },
    transferList: [port2],
  });
  try {
    if (Atomics.wait(signal, 0, 0, 30_000) === 'timed-out') {
      throw new Error(`${method} on the shared sandbox: no answer in 30 s`);
    }
    const out = receiveMessageOnPort(port1)?.message as { text: string } | undefined;
    const body = JSON.parse(out?.text ?? '{}') as CallAnswer;
    if (body.error) throw failed(method, body.error);
    return body.value;
  } finally {
    port1.close();
    void worker.terminate();
  }
}

/**
 * The shared sandbox, for a file that would otherwise `startTestSandbox(lines, opts)`: `lines`
 * receives its log from its start. `opts` are what the file relies on; they must be what the
 * shared sandbox runs with (test/global/shared-sandbox.ts), else this throws, naming the option.
 * `close()` only lets go of it: the global teardown stops the sandbox after the last file.
 */
export async function sharedSandbox(lines: string[], opts: Options = {}): Promise<Sandbox> {
  const control = inject('sharedSandbox');
  if (!control) {
    throw new Error('no shared sandbox: vitest.config.ts must list test/global/shared-sandbox.ts');
  }
  return connectSandbox(control, lines, opts);
}

/** The sandbox served at `control` (test/support/shared-sandbox-server.ts), as sharedSandbox. */
export async function connectSandbox(
  control: string,
  lines: string[],
  opts: Options = {},
): Promise<Sandbox> {
  const info = await sandboxInfo(control);
  for (const [key, want] of Object.entries(opts)) {
    const has = (info.options as Record<string, unknown>)[key];
    if (!isDeepStrictEqual(want, has)) {
      throw new Error(
        `this file needs ${key} ${JSON.stringify(want)}; the shared sandbox runs with ` +
          `${JSON.stringify(has)}: change it for every file (test/global/shared-sandbox.ts), or ` +
          'start a sandbox of its own with startTestSandbox',
      );
    }
  }

  const journal = new Journal(lines);
  const stop = new AbortController();
  follow(control, journal, stop.signal).catch((err: unknown) =>
    journal.fail(err instanceof Error ? err : new Error(String(err))),
  );
  await journal.reached(info.seq);

  const call = async (method: Method, ...args: unknown[]): Promise<unknown> => {
    const res = await fetch(`${control}/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method, args }),
    });
    const body = (await res.json()) as CallAnswer;
    // What the call caused is in the copies before it returns, as it would be in-process.
    if (body.seq) await journal.reached(body.seq);
    if (body.error) throw failed(method, body.error);
    return body.value;
  };
  const done = async (method: Method) => void (await call(method));
  const notHere = (what: string) => () =>
    Promise.reject(new Error(`${what} is shared: the global teardown stops it`));

  return {
    ports: info.ports,
    apiUrl: info.apiUrl,
    lambdaUrl: info.lambdaUrl,
    s3Url: info.s3Url,
    dynamodbUrl: info.dynamodbUrl,
    sageMakerUrl: info.sageMakerUrl,
    eventBridgeUrl: info.eventBridgeUrl,
    env: info.env,
    restored: info.restored,
    sageMaker: {
      ...info.sageMaker,
      ready: () => done('sageMaker.ready'),
      idle: () => done('sageMaker.idle'),
      publishTestNotification: () => done('sageMaker.publishTestNotification'),
      stats: () => journal.stats as LocalSageMakerStats,
      close: notHere('the local SageMaker'),
    },
    sns: {
      publish: async (topicArn, message) => String(await call('sns.publish', topicArn, message)),
      idle: () => done('sns.idle'),
      get deadLetters() {
        return journal.array('sns.deadLetters');
      },
    },
    eventBridge: {
      ...info.eventBridge,
      get events() {
        return journal.array('eventBridge.events');
      },
      get deadLetters() {
        return journal.array('eventBridge.deadLetters');
      },
      idle: () => done('eventBridge.idle'),
      close: notHere('the local EventBridge'),
    },
    sqs: {
      url: info.sqs.url,
      port: info.sqs.port,
      queueUrl: (name) => `${info.sqs.queueUrlPrefix}${name}`,
      get messages() {
        return journal.array('sqs.messages');
      },
      get deadLetters() {
        return journal.array('sqs.deadLetters');
      },
      idle: () => done('sqs.idle'),
      close: notHere('the local SQS'),
    },
    stepFunctions: {
      ...info.stepFunctions,
      get calls() {
        return journal.array('stepFunctions.calls');
      },
      expire: (taskToken) => void callSync(control, 'stepFunctions.expire', [taskToken]),
      close: notHere('the local Step Functions'),
    },
    lambda: {
      url: info.lambdaUrl,
      port: info.ports.lambda,
      invoke: (fn, event, type) => call('lambda.invoke', fn, event, type),
      workers: () =>
        callSync(control, 'lambda.workers', []) as ReturnType<Sandbox['lambda']['workers']>,
      close: notHere('the local Lambda runtime'),
    },
    close: async () => stop.abort(),
  };
}
