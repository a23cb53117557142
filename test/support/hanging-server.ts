import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/*
 * A loopback HTTP server that accepts every request and never finishes one: `silent` never answers
 * at all; `mid-body` answers the status and headers, the first bytes of a body it promises to be
 * longer (Content-Length), then nothing. It never closes a connection itself, so a call to it that
 * ends was ended by the caller's own bound, and `finished` stays 0 to say so.
 */

export type Hang = 'silent' | 'mid-body';

export interface HangingServer {
  url: string;
  port: number;
  /** Requests received so far. */
  readonly requests: number;
  /** Answers the server completed: it completes none, so 0 after a call ended means it still hangs. */
  readonly finished: number;
  /** Connections the callers still hold open. */
  readonly open: number;
  close(): Promise<void>;
}

export interface HangOptions {
  mode: Hang;
  /** For `mid-body`: the status and Content-Type sent before the stall. */
  status?: number;
  contentType?: string;
  /** For `mid-body`: the bytes sent before the stall (a prefix of a plausible body). */
  head?: string;
  /** For `mid-body`: more headers, e.g. the ones an SDK reads its output from. */
  headers?: Record<string, string>;
}

/** A prefix of a JSON body, for the JSON-protocol AWS services (DynamoDB, SQS, EventBridge ...). */
export const JSON_HEAD = '{"Result":"';

export async function startHangingServer(opts: HangOptions): Promise<HangingServer> {
  let requests = 0;
  let finished = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests++;
    res.on('finish', () => finished++);
    // The request body is read (so the caller's upload completes), the answer never ends.
    req.resume();
    if (opts.mode === 'mid-body') {
      const head = Buffer.from(opts.head ?? JSON_HEAD);
      res.writeHead(opts.status ?? 200, {
        'content-type': opts.contentType ?? 'application/x-amz-json-1.0',
        'content-length': String(head.byteLength + 4096),
        ...opts.headers,
      });
      res.write(head);
    }
  });
  // Node's own server-side timeouts would end a silent request after minutes; none here.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 0;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    get finished() {
      return finished;
    },
    get open() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
