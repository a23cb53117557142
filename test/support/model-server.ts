import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/*
 * A stand-in for a SageMaker inference container, on a free loopback port: `GET /ping` and
 * `POST /invocations`, with behaviours a test switches at will. It records what each invocation
 * received (headers and size), so a test can check what the runtime forwards.
 */

export interface ReceivedInvocation {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Answers one invocation; may take as long as it likes. */
export type Behaviour = (req: ReceivedInvocation, res: ServerResponse) => void | Promise<void>;

export interface ModelServer {
  url: string;
  port: number;
  /** Status of `GET /ping` (200 by default). */
  pingStatus: number;
  /** Hold `/ping` requests unanswered (slower than SageMaker's 2 s timeout) while true. */
  hangPing: boolean;
  pings: number;
  invocations: ReceivedInvocation[];
  /** Invocations that started and have not been answered yet. */
  inFlight: number;
  behave(b: Behaviour): void;
  /** Stops listening and drops every connection: new connections are refused. */
  refuse(): Promise<void>;
  close(): Promise<void>;
}

/** 200 with the input echoed, its Content-Type and custom attributes sent back. */
export const echo: Behaviour = (req, res) => {
  const headers: Record<string, string> = {
    'content-type': String(req.headers['content-type'] ?? 'application/octet-stream'),
  };
  const attrs = req.headers['x-amzn-sagemaker-custom-attributes'];
  if (typeof attrs === 'string') headers['x-amzn-sagemaker-custom-attributes'] = attrs;
  res.writeHead(200, headers);
  res.end(req.body);
};

/** An error answer, as a crashing model server gives. */
export const status =
  (code: number, body: string, contentType = 'application/json'): Behaviour =>
  (_req, res) => {
    res.writeHead(code, { 'content-type': contentType });
    res.end(body);
  };

/** Starts a 200 answer, then drops the connection halfway through it. */
export const cut: Behaviour = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
  res.write('only the first part', () => res.socket?.destroy());
};

/** Never answers (until the server closes). */
export const hang: Behaviour = () => new Promise<void>(() => undefined);

/** Byte i of a generated output; lets a test check a large object without keeping a copy. */
export const patternByte = (i: number) => (i * 31 + 7) % 251;

/** A `bytes`-long answer streamed in 64 KiB chunks with chunked encoding (no Content-Length). */
export const large =
  (bytes: number, contentType = 'application/octet-stream'): Behaviour =>
  async (_req, res) => {
    res.writeHead(200, { 'content-type': contentType });
    const CHUNK = 64 * 1024;
    for (let offset = 0; offset < bytes; offset += CHUNK) {
      const n = Math.min(CHUNK, bytes - offset);
      const chunk = Buffer.allocUnsafe(n);
      for (let j = 0; j < n; j++) chunk[j] = patternByte(offset + j);
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  };

/** A gate a behaviour waits on until the test opens it. */
export function gate(): { wait: Behaviour; open(): void } {
  let opened = false;
  const waiting: (() => void)[] = [];
  return {
    async wait(req, res) {
      if (!opened) await new Promise<void>((r) => waiting.push(r));
      echo(req, res);
    },
    open() {
      opened = true;
      for (const w of waiting.splice(0)) w();
    },
  };
}

export async function startModelServer(): Promise<ModelServer> {
  let behaviour: Behaviour = echo;
  const sockets = new Set<Socket>();
  const heldPings = new Set<ServerResponse>();
  const state: ModelServer = {
    url: '',
    port: 0,
    pingStatus: 200,
    hangPing: false,
    pings: 0,
    invocations: [],
    inFlight: 0,
    behave: (b) => (behaviour = b),
    refuse: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
    close: async () => {
      if (server.listening) await state.refuse();
    },
  };
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/ping') {
      state.pings++;
      req.resume();
      if (state.hangPing) {
        heldPings.add(res);
        res.on('close', () => heldPings.delete(res));
        return;
      }
      res.writeHead(state.pingStatus).end();
      return;
    }
    if (req.method === 'POST' && req.url === '/invocations') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const received = { headers: req.headers, body: Buffer.concat(chunks) };
        state.invocations.push(received);
        state.inFlight++;
        res.on('close', () => state.inFlight--);
        void Promise.resolve(behaviour(received, res)).catch(() => res.destroy());
      });
      return;
    }
    res.writeHead(404).end();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  return state;
}
