import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { functionName, type FunctionName } from './names.ts';
import { PROJECT_DIR } from './paths.ts';
import { matchRoute, ROUTES, type Route } from './routes.ts';

/*
 * The sandbox's HTTP API, answering as API Gateway HTTP API does in front of the same handlers:
 * it matches the route, builds the payload format 2.0 event, invokes the function through
 * serverless-offline's Lambda port, and writes the function's answer. serverless-offline's own
 * HTTP server (on an internal port) would answer some requests itself, in its own format: a
 * Content-Type its parser refuses (`text/ csv`, `banana`) got its 400 instead of the handler's 415,
 * a body without Content-Type reached the handler as `application/json`, and an unknown route got
 * its own 404 body. Here the handler sees the request as sent, and an unknown route answers
 * API Gateway's own 404 `{"message":"Not Found"}`.
 * (An HTTP API answers a request no route matches with 404 `{"message":"Not Found"}`, a REST API
 * with 403 "Missing Authentication Token"; AWS's own API Gateway emulator answers the same:
 * https://github.com/aws/aws-lambda-dotnet/pull/1909.)
 */

/** API Gateway HTTP API's quota for a request body (the handlers refuse above ~6 MB themselves). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Body media types passed as text (isBase64Encoded false); any other body is base64. */
const TEXT_TYPE = /^(text\/|application\/(json|xml|javascript)\b|[^;]*\+(json|xml)\b)/i;

export type Invoke = (fn: FunctionName, event: APIGatewayProxyEventV2) => Promise<unknown>;

export interface LocalApiGateway {
  url: string;
  close(): Promise<void>;
}

export interface LocalApiGatewayOptions {
  port: number;
  invoke: Invoke;
  routes?: readonly Route[];
  /** The OpenAPI document served at GET /openapi.yaml. */
  openapiFile?: string;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

/** Invokes a function of the local stage through serverless-offline's Lambda port. */
export function lambdaPortInvoker(lambdaUrl: string): Invoke {
  return async (fn, event) => {
    const res = await fetch(`${lambdaUrl}/2015-03-31/functions/${functionName(fn)}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
      body: JSON.stringify(event),
    });
    const text = await res.text();
    if (!res.ok || res.headers.get('x-amz-function-error')) {
      throw new Error(`${fn} failed (HTTP ${res.status})`);
    }
    return text === '' ? null : JSON.parse(text);
  };
}

/** `12/Mar/2020:19:03:58 +0000`, API Gateway's requestContext.time. */
function clfTime(d: Date): string {
  const months = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** The payload format 2.0 event API Gateway sends for this request. */
export function httpApiEvent(
  req: IncomingMessage,
  match: { route: Route; params: Record<string, string> },
  body: Buffer,
  now = new Date(),
): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://local');
  const rawQuery = (req.url ?? '').includes('?') ? (req.url ?? '').split('?')[1]! : '';
  // Duplicate headers and query parameters are joined with commas; header names are lower case.
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const cookies = headers.cookie?.split(/;\s*/).filter(Boolean);
  delete headers.cookie;
  const routeKey = `${match.route.method} ${match.route.path}`;
  const text = TEXT_TYPE.test(headers['content-type'] ?? '') && isUtf8(body);
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: rawQuery,
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(Object.keys(match.params).length ? { pathParameters: match.params } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: (headers.host ?? '127').split('.')[0]!,
      http: {
        method: match.route.method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    ...(body.byteLength > 0
      ? { body: text ? body.toString('utf8') : body.toString('base64'), isBase64Encoded: !text }
      : { isBase64Encoded: false }),
  };
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | string[]>,
  body: Buffer | string,
): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function gatewayAnswer(res: ServerResponse, status: number, message: string): void {
  send(
    res,
    status,
    { 'content-type': 'application/json', 'apigw-requestid': randomUUID() },
    JSON.stringify({ message }),
  );
}

/** A function's answer as API Gateway writes it (payload format 2.0). */
function writeResult(res: ServerResponse, result: unknown): void {
  const r = result as APIGatewayProxyStructuredResultV2 | null;
  if (r === null || typeof r !== 'object' || r.statusCode === undefined) {
    // No statusCode: API Gateway takes the whole answer as a JSON 200.
    send(res, 200, { 'content-type': 'application/json' }, JSON.stringify(result));
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (r.cookies?.length) headers['set-cookie'] = r.cookies;
  headers['apigw-requestid'] = randomUUID();
  const body =
    r.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8');
  send(res, r.statusCode, headers, body);
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function startLocalApiGateway(opts: LocalApiGatewayOptions): Promise<LocalApiGateway> {
  const routes = opts.routes ?? ROUTES;
  const openapiFile = opts.openapiFile ?? join(PROJECT_DIR, 'openapi.yaml');
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    if (path === '/openapi.yaml' && (method === 'GET' || method === 'HEAD')) {
      // The sandbox's own addition: the API's contract, next to the API.
      const doc = await readFile(openapiFile);
      res.writeHead(200, { 'content-type': 'application/yaml', 'content-length': doc.byteLength });
      res.end(method === 'HEAD' ? undefined : doc);
      return;
    }
    const match = matchRoute(method, path, routes);
    if (!match) {
      req.resume();
      gatewayAnswer(res, 404, 'Not Found');
      return;
    }
    const body = await readBody(req);
    if (!body) {
      gatewayAnswer(res, 413, 'Request Entity Too Large');
      req.destroy();
      return;
    }
    let result: unknown;
    try {
      result = await opts.invoke(match.route.fn, httpApiEvent(req, match, body));
    } catch (err) {
      // A function that threw, or could not be invoked: API Gateway's answer for a failed
      // integration; the cause stays in the log (never the payload).
      opts.log?.('integration failed', {
        routeKey: `${match.route.method} ${match.route.path}`,
        error: err instanceof Error ? err.message : String(err),
      });
      gatewayAnswer(res, 500, 'Internal Server Error');
      return;
    }
    writeResult(res, result);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) gatewayAnswer(res, 500, 'Internal Server Error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`port ${opts.port} is in use by another program`)
          : err,
      ),
    );
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
