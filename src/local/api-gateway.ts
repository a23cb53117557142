import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { FunctionName } from './names.ts';
import { PROJECT_DIR } from './paths.ts';
import { matchRoute, ROUTES, type Route } from './routes.ts';
import { listenLocal } from './listen.ts';

/*
 * The sandbox's HTTP API, answering as API Gateway HTTP API does in front of the same handlers:
 * it matches the route, builds the payload format 2.0 event, invokes the function in the local
 * Lambda runtime (lambda-runtime.ts), and writes the function's answer. serverless-offline's HTTP
 * server, which the sandbox used before, answered some requests itself, in its own format: a
 * Content-Type its parser refuses (`text/ csv`, `banana`) got its 400 instead of the handler's 415,
 * a body without Content-Type reached the handler as `application/json`, and an unknown route got
 * its own 404 body. Here the handler sees the request as sent, and an unknown route answers
 * API Gateway's own 404 `{"message":"Not Found"}`.
 * (An HTTP API answers a request no route matches with 404 `{"message":"Not Found"}`, a REST API
 * with 403 "Missing Authentication Token"; AWS's own API Gateway emulator answers the same:
 * https://github.com/aws/aws-lambda-dotnet/pull/1909.)
 */

/*
 * What is refused before any function runs, and how
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html):
 * - a body above HTTP API's 10 MB payload quota: `413 {"message":"Request Entity Too Large"}`;
 * - an event Lambda refuses: its synchronous invoke takes a request payload (the event's JSON)
 *   smaller than 6 MiB, else it fails with RequestEntityTooLargeException (HTTP 413) before the
 *   function runs (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). So a
 *   body of about 6 to 10 MB (less in base64, which grows it by a third, or with JSON escapes)
 *   passes the quota and never reaches the handler; HTTP API answers it with the same 413, as
 *   AWS's own emulator does (aws-lambda-dotnet, LambdaTestTool-v2 LargePayloadTests, HttpV2), not
 *   with its 500 for a failed integration. A handler's own 413 (a body just under the limit) is
 *   its answer, passed on like any other;
 * - a request line plus header values above 10,240 bytes: AWS's documentation gives the quota, not
 *   the answer. The sandbox answers 431 Request Header Fields Too Large (RFC 6585, section 5; the
 *   status Node's own parser gives) with API Gateway's JSON body, so every error is `{"message"}`.
 */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
export const MAX_INVOKE_REQUEST_BYTES = 6 * 1024 * 1024;
export const MAX_REQUEST_HEAD_BYTES = 10_240;
const TOO_LARGE = 'Request Entity Too Large';
const HEAD_TOO_LARGE = 'Request Header Fields Too Large';

/** Body media types passed as text (isBase64Encoded false); any other body is base64. */
const TEXT_TYPE = /^(text\/|application\/(json|xml|javascript)\b|[^;]*\+(json|xml)\b)/i;

export type Invoke = (fn: FunctionName, event: APIGatewayProxyEventV2) => Promise<unknown>;

export interface LocalApiGateway {
  url: string;
  /** With `starting`: from now on requests reach the functions. */
  open(): void;
  close(): Promise<void>;
}

/** What the port answers before the sandbox is ready (`starting`), with Retry-After. */
export const STARTING_MESSAGE = 'the sandbox is starting; retry shortly';

export interface LocalApiGatewayOptions {
  port: number;
  invoke: Invoke;
  routes?: readonly Route[];
  /** The OpenAPI document served at GET /openapi.yaml. */
  openapiFile?: string;
  /**
   * Bound early (a port another program holds fails the start at once) but not yet serving: every
   * request answers 503 with Retry-After until `open()`, so nothing waiting for the port takes it
   * for ready, and no request reaches a function that is not up.
   */
  starting?: boolean;
  log?: (msg: string, fields: Record<string, unknown>) => void;
  /**
   * The sandbox's own addition beside the routes: the console's page (src/console/serve.ts),
   * which answers its paths (`/console...`) and leaves every other request to the API.
   */
  site?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

/**
 * An invoke refused for its payload's size, as Lambda refuses it (RequestEntityTooLargeException,
 * HTTP 413): whatever runs the function throws this (or an error of the same name, as the SDK's
 * Lambda client does) and the gateway answers 413, not 500.
 */
export class RequestEntityTooLarge extends Error {
  override readonly name = 'RequestEntityTooLargeException';
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

/** The bytes HTTP API counts against its request line and header quota. */
function requestHeadBytes(req: IncomingMessage): number {
  let size = Buffer.byteLength(`${req.method ?? ''} ${req.url ?? ''} HTTP/${req.httpVersion}`);
  for (let i = 1; i < req.rawHeaders.length; i += 2) size += Buffer.byteLength(req.rawHeaders[i]!);
  return size;
}

/** The raw answer to a request Node's parser refused, before any handler saw it. */
function refusedRequest(status: 400 | 431, message: string): string {
  const body = JSON.stringify({ message });
  const reason = status === 431 ? HEAD_TOO_LARGE : 'Bad Request';
  return [
    `HTTP/1.1 ${status} ${reason}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(body)}`,
    `apigw-requestid: ${randomUUID()}`,
    'connection: close',
    '',
    body,
  ].join('\r\n');
}

/** A body above this is not read to its end: the connection is closed after the answer. */
const DRAIN_LIMIT_BYTES = 4 * MAX_BODY_BYTES;

/**
 * The body; 'too large' above the quota, its rest read and dropped so the client's upload ends and
 * its connection stays usable (closing it under an upload resets it, and an HTTP client reusing it
 * fails a later request); 'abandoned' once even that is too much to read.
 */
async function readBody(req: IncomingMessage): Promise<Buffer | 'too large' | 'abandoned'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > DRAIN_LIMIT_BYTES) return 'abandoned';
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    else chunks.length = 0;
  }
  return size > MAX_BODY_BYTES ? 'too large' : Buffer.concat(chunks);
}

export async function startLocalApiGateway(opts: LocalApiGatewayOptions): Promise<LocalApiGateway> {
  const routes = opts.routes ?? ROUTES;
  const openapiFile = opts.openapiFile ?? join(PROJECT_DIR, 'openapi.yaml');
  let starting = opts.starting ?? false;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (starting) {
      req.resume();
      send(
        res,
        503,
        { 'content-type': 'application/json', 'retry-after': '1', 'apigw-requestid': randomUUID() },
        JSON.stringify({ message: STARTING_MESSAGE }),
      );
      return;
    }
    const method = req.method ?? 'GET';
    if (requestHeadBytes(req) > MAX_REQUEST_HEAD_BYTES) {
      req.resume();
      gatewayAnswer(res, 431, HEAD_TOO_LARGE);
      return;
    }
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    if (opts.site && (await opts.site(req, res))) return;
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
    if (body === 'abandoned') {
      res.setHeader('connection', 'close');
      res.on('finish', () => req.destroy());
    }
    if (typeof body === 'string') {
      gatewayAnswer(res, 413, TOO_LARGE);
      return;
    }
    const event = httpApiEvent(req, match, body);
    // Measured here, so the answer is Lambda's whatever runs the function locally.
    if (Buffer.byteLength(JSON.stringify(event)) >= MAX_INVOKE_REQUEST_BYTES) {
      gatewayAnswer(res, 413, TOO_LARGE);
      return;
    }
    let result: unknown;
    try {
      result = await opts.invoke(match.route.fn, event);
    } catch (err) {
      if (err instanceof Error && err.name === 'RequestEntityTooLargeException') {
        gatewayAnswer(res, 413, TOO_LARGE);
        return;
      }
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
  // A request Node's parser refuses never reaches `handle`: a head above its maxHeaderSize (16 KiB)
  // got Node's bare 431 with an empty body. It gets the same JSON answer as one above the quota.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    socket.end(
      err.code === 'HPE_HEADER_OVERFLOW'
        ? refusedRequest(431, HEAD_TOO_LARGE)
        : refusedRequest(400, 'Bad Request'),
    );
  });
  const port = await listenLocal(server, opts.port);
  return {
    url: `http://127.0.0.1:${port}`,
    open: () => {
      starting = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
