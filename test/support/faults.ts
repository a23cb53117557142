import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A fault-injecting HTTP proxy for an emulator. A fixed share of requests fail, each in one of the
 * ways real services fail: a 500 before the request reaches the service, a connection reset before
 * it does, or the worst kind: the request is applied and its answer is lost.
 */

export type Fault = 'error' | 'reset' | 'lost-answer';

/** What a rule sees of a request: enough to pick one call of one job (a header, the body). */
export interface ProxiedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface FaultProxy {
  url: string;
  counts: Record<Fault | 'forwarded', number>;
  close(): Promise<void>;
}

/** A small seeded PRNG (mulberry32), so a failing run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An injected SageMaker runtime error, as the service answers one: 503 ServiceUnavailable. */
export const SAGEMAKER_UNAVAILABLE = {
  status: 503,
  contentType: 'application/json',
  headers: { 'x-amzn-ErrorType': 'ServiceUnavailable' },
  body: '{"message":"injected"}',
};

export async function startFaultProxy(opts: {
  target: string;
  rate: number;
  random: () => number;
  /** The body of an injected error (500 unless `status`), in the service's own error format. */
  errorBody: {
    contentType: string;
    body: string;
    status?: number;
    headers?: Record<string, string>;
  };
  /**
   * A fault chosen for this request before the random one: a test aims at one call of one job
   * ("every InvokeEndpointAsync of job 7"). The body is read whole first when a rule is given.
   */
  rule?: (req: ProxiedRequest) => Fault | undefined;
}): Promise<FaultProxy> {
  const target = new URL(opts.target);
  const counts = { error: 0, reset: 0, 'lost-answer': 0, forwarded: 0 };
  const faults: Fault[] = ['error', 'reset', 'lost-answer'];
  const handle = (req: IncomingMessage, res: ServerResponse, body?: Buffer) => {
    const aimed =
      body &&
      opts.rule?.({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body,
      });
    const fault =
      aimed ?? (opts.random() < opts.rate ? faults[Math.floor(opts.random() * 3)] : undefined);
    if (fault === 'error') {
      counts.error++;
      req.resume();
      res.writeHead(opts.errorBody.status ?? 500, {
        'content-type': opts.errorBody.contentType,
        ...opts.errorBody.headers,
      });
      res.end(opts.errorBody.body);
      return;
    }
    if (fault === 'reset') {
      counts.reset++;
      req.socket.destroy();
      return;
    }
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        if (fault === 'lost-answer') {
          counts['lost-answer']++;
          up.resume();
          up.on('end', () => req.socket.destroy());
          return;
        }
        counts.forwarded++;
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => req.socket.destroy());
    if (body) upstream.end(body);
    else req.pipe(upstream);
  };
  const server: Server = createServer((req, res) => {
    if (!opts.rule) {
      handle(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
