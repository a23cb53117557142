import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Sandbox, SandboxOptions } from '../../src/local/sandbox.ts';

/*
 * The suite's one shared sandbox, served from the process that holds it
 * (test/global/shared-sandbox-process.ts). Test files run in other processes, so they cannot hold
 * the Sandbox object; this serves it on a loopback control port instead
 * (test/support/shared-sandbox.ts builds the same shape from it):
 *
 * - GET /sandbox starts the sandbox on the first request (a run of unit files alone never pays
 *   for it) and answers its addresses and options once it is ready;
 * - GET /journal?from=N streams, as NDJSON, every log line and every entry the sandbox's captures
 *   gained (messages, dead letters, events, task calls) and each change of the runtime's stats,
 *   numbered, from the start;
 * - POST /call runs one of the sandbox's methods (publish, idle, expire) and answers with the
 *   journal's number after it, so a caller that waits for its copy to reach that number reads
 *   every capture the call caused.
 */

/** The captures of a Sandbox that test files read, by path. */
const COLLECTIONS = [
  'lines',
  'sqs.messages',
  'sqs.deadLetters',
  'sns.deadLetters',
  'eventBridge.events',
  'eventBridge.deadLetters',
  'stepFunctions.calls',
] as const;
export type Collection = (typeof COLLECTIONS)[number];

/** Methods a test file may run on the shared sandbox (never its close). */
const METHODS = [
  'sns.publish',
  'sns.idle',
  'sqs.idle',
  'eventBridge.idle',
  'sageMaker.ready',
  'sageMaker.idle',
  'sageMaker.publishTestNotification',
  'stepFunctions.expire',
  'lambda.invoke',
  'lambda.workers',
] as const;
export type Method = (typeof METHODS)[number];

/** One journal line: `push` appends to a collection, `set` replaces it (or the stats). */
export type JournalEntry =
  | { s: number; c: Collection; op: 'push'; v: unknown }
  | { s: number; c: Collection | 'sageMaker.stats'; op: 'set'; v: unknown };

/** What GET /sandbox answers: the plain data of a Sandbox, and the journal's number then. */
export type SandboxInfo = Pick<
  Sandbox,
  | 'ports'
  | 'apiUrl'
  | 'lambdaUrl'
  | 's3Url'
  | 'dynamodbUrl'
  | 'sageMakerUrl'
  | 'eventBridgeUrl'
  | 'env'
  | 'restored'
> & {
  options: Omit<SandboxOptions, 'ports' | 'log'>;
  sageMaker: { url: string; port: number };
  eventBridge: { url: string };
  sqs: { url: string; port: number; queueUrlPrefix: string };
  stepFunctions: { url: string; port: number };
  seq: number;
};

// How often the captures are compared with what the journal holds: a file's copy lags the
// sandbox by about this much, except after a call (which flushes first).
const FLUSH_MS = 5;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export async function serveSharedSandbox(
  port: number,
  options: Omit<SandboxOptions, 'ports' | 'log'>,
  /** Starts the sandbox with these options, its log lines into `lines`. */
  start: (lines: string[]) => Promise<Sandbox>,
): Promise<{ url: string; close(): Promise<void> }> {
  const lines: string[] = [];
  const journal: JournalEntry[] = [];
  const streams = new Set<ServerResponse>();
  let sandbox: Sandbox | undefined;
  let starting: Promise<Sandbox> | undefined;

  const collection = (c: Collection): readonly unknown[] | undefined => {
    if (c === 'lines') return lines;
    if (!sandbox) return undefined;
    const [service, field] = c.split('.') as [keyof Sandbox, string];
    return (sandbox[service] as unknown as Record<string, readonly unknown[]>)[field];
  };
  // What the journal holds of each collection: its length, and its last item (to tell growth).
  const sent = new Map<Collection, { length: number; last: unknown }>();
  let sentStats = '';
  const record = (entry: Omit<JournalEntry, 's'>) => {
    const full = { ...entry, s: journal.length + 1 } as JournalEntry;
    journal.push(full);
    const line = `${JSON.stringify(full)}\n`;
    for (const res of streams) res.write(line);
  };
  // Captures only grow while a sandbox runs; one that did anything else is sent whole.
  const flush = () => {
    for (const c of COLLECTIONS) {
      const now = collection(c);
      if (!now) continue;
      const before = sent.get(c) ?? { length: 0, last: undefined };
      if (now.length === before.length && now.at(-1) === before.last) continue;
      const grown = now.length > before.length && now[before.length - 1] === before.last;
      if (grown) {
        for (const item of now.slice(before.length)) record({ c, op: 'push', v: item });
      } else {
        record({ c, op: 'set', v: [...now] });
      }
      sent.set(c, { length: now.length, last: now.at(-1) });
    }
    if (sandbox) {
      const stats = JSON.stringify(sandbox.sageMaker.stats());
      if (stats !== sentStats) {
        sentStats = stats;
        record({ c: 'sageMaker.stats', op: 'set', v: JSON.parse(stats) });
      }
    }
    return journal.length;
  };
  const flusher = setInterval(flush, FLUSH_MS);

  const info = (sb: Sandbox): SandboxInfo => ({
    options,
    ports: sb.ports,
    apiUrl: sb.apiUrl,
    lambdaUrl: sb.lambdaUrl,
    s3Url: sb.s3Url,
    dynamodbUrl: sb.dynamodbUrl,
    sageMakerUrl: sb.sageMakerUrl,
    eventBridgeUrl: sb.eventBridgeUrl,
    env: sb.env,
    restored: sb.restored,
    sageMaker: { url: sb.sageMaker.url, port: sb.sageMaker.port },
    eventBridge: { url: sb.eventBridge.url },
    sqs: { url: sb.sqs.url, port: sb.sqs.port, queueUrlPrefix: sb.sqs.queueUrl('') },
    stepFunctions: { url: sb.stepFunctions.url, port: sb.stepFunctions.port },
    seq: flush(),
  });

  const run = async (sb: Sandbox, method: Method, args: unknown[]): Promise<unknown> => {
    const [service, name] = method.split('.') as [keyof Sandbox, string];
    const target = sb[service] as unknown as Record<string, (...a: unknown[]) => unknown>;
    return await target[name]!.call(target, ...args);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://control');
    void (async () => {
      if (req.method === 'GET' && url.pathname === '/sandbox') {
        starting ??= start(lines).then((sb) => (sandbox = sb));
        try {
          answer(res, 200, info(await starting));
        } catch (err) {
          answer(res, 503, { error: String(err), log: lines.slice(-40) });
        }
      } else if (req.method === 'GET' && url.pathname === '/journal') {
        const from = Number(url.searchParams.get('from') ?? '1');
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        flush();
        for (const entry of journal.slice(Math.max(0, from - 1))) {
          res.write(`${JSON.stringify(entry)}\n`);
        }
        streams.add(res);
        res.on('close', () => streams.delete(res));
      } else if (req.method === 'POST' && url.pathname === '/call') {
        const { method, args } = JSON.parse(await readBody(req)) as {
          method: Method;
          args: unknown[];
        };
        if (!sandbox || !(METHODS as readonly string[]).includes(method)) {
          answer(res, 400, { error: { name: 'Error', message: `cannot run ${method}` } });
          return;
        }
        try {
          const value = await run(sandbox, method, args);
          answer(res, 200, { value: value ?? null, seq: flush() });
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          answer(res, 500, { error: { name: e.name, message: e.message }, seq: flush() });
        }
      } else {
        answer(res, 404, { error: { name: 'Error', message: 'no such route' } });
      }
    })().catch((err: unknown) => {
      if (!res.headersSent) answer(res, 500, { error: { name: 'Error', message: String(err) } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      clearInterval(flusher);
      for (const res of streams) res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const sb = await starting?.catch(() => undefined);
      await sb?.close();
    },
  };
}
