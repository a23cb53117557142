import { request, type IncomingMessage } from 'node:http';
import { parseArgs } from 'node:util';
import type { Readable } from 'node:stream';
import { ModelError, delayOf, runModel } from './model.ts';

/*
 * What the local runtime talks to when it runs a request: either the demo model in this process or
 * a real SageMaker inference container reached over HTTP. The container contract is the one in
 * "Use Your Own Inference Code with Hosting Services"
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html): a web
 * server on port 8080 answering `GET /ping` (200 when ready; each attempt times out after 2 s) and
 * `POST /invocations` with the input as the body.
 */

/** The request headers a container sees, with the names SageMaker gives them. */
export interface ModelRequest {
  input: Buffer | Readable;
  /** Bytes of `input`, sent as Content-Length. */
  length: number;
  contentType?: string;
  accept?: string;
  customAttributes?: string;
  /** Only when the caller chose the InferenceId (as the SageMaker Python SDK's local mode does). */
  inferenceId?: string;
}

export interface ModelAnswer {
  status: number;
  contentType?: string;
  customAttributes?: string;
  body: AsyncIterable<Uint8Array>;
}

export interface ModelBackend {
  /** What the logs call it: `demo model` or the container's URL. */
  readonly name: string;
  /** True when the model answers `GET /ping` with 200 within the ping timeout. */
  ping(): Promise<boolean>;
  /** Runs one request; rejects with ModelUnreachable, or with the signal's reason when aborted. */
  invoke(req: ModelRequest, signal: AbortSignal): Promise<ModelAnswer>;
}

/** No connection to the container (refused, reset before an answer, unknown host). */
export class ModelUnreachable extends Error {
  constructor(readonly code: string) {
    super(`the model container is unreachable (${code})`);
    this.name = 'ModelUnreachable';
  }
}

/** SageMaker's timeout for one `/ping` attempt. */
export const PING_TIMEOUT_MS = 2_000;

async function* once(chunk: Buffer): AsyncIterable<Uint8Array> {
  yield chunk;
}

async function bufferOf(input: Buffer | Readable): Promise<Buffer> {
  if (Buffer.isBuffer(input)) return input;
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The demo model behind the same interface: always pinging, `delay_ms=<n>` in CustomAttributes
 * makes it slow (so InvocationTimeoutSeconds applies to it too), a ModelError answers 500.
 */
export function demoModel(): ModelBackend {
  return {
    name: 'demo model',
    ping: async () => true,
    async invoke(req, signal) {
      const delay = delayOf(req.customAttributes);
      if (delay > 0) await sleep(delay, signal);
      const input = await bufferOf(req.input);
      try {
        const out = runModel(input, req.contentType, req.accept);
        return { status: 200, contentType: out.contentType, body: once(out.body) };
      } catch (err) {
        if (!(err instanceof ModelError)) throw err;
        // A crashing container answers 500 with its message; the failure object gets the body.
        return {
          status: 500,
          contentType: 'text/plain; charset=utf-8',
          body: once(Buffer.from(`${err.message}\n${err.body}`)),
        };
      }
    },
  };
}

const header = (res: IncomingMessage, name: string): string | undefined => {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export function networkCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'ERR_STREAM_PREMATURE_CLOSE') return 'ECONNRESET';
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

/** A SageMaker inference container at `baseUrl` (for example `http://127.0.0.1:8080`). */
export function containerModel(baseUrl: string): ModelBackend {
  const base = new URL(baseUrl);
  if (base.protocol !== 'http:') throw new Error(`model URL must be http://host:port: ${baseUrl}`);
  const target = (path: string) => ({
    host: base.hostname,
    port: base.port || 80,
    path: `${base.pathname.replace(/\/+$/, '')}${path}`,
  });

  return {
    name: base.origin,
    ping() {
      return new Promise<boolean>((resolve) => {
        const req = request(
          { ...target('/ping'), method: 'GET', timeout: PING_TIMEOUT_MS },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode === 200));
            res.on('error', () => resolve(false));
          },
        );
        req.on('timeout', () => req.destroy(new Error('ping timed out')));
        req.on('error', () => resolve(false));
        req.end();
      });
    },
    invoke(m, signal) {
      const headers: Record<string, string | number> = { 'content-length': m.length };
      // The headers SageMaker passes to /invocations; nothing else of the caller's reaches it.
      if (m.contentType) headers['content-type'] = m.contentType;
      if (m.accept) headers.accept = m.accept;
      if (m.customAttributes) headers['x-amzn-sagemaker-custom-attributes'] = m.customAttributes;
      if (m.inferenceId) headers['x-amzn-sagemaker-inference-id'] = m.inferenceId;
      return new Promise<ModelAnswer>((resolve, reject) => {
        const req = request(
          { ...target('/invocations'), method: 'POST', headers, signal },
          (res) => {
            resolve({
              status: res.statusCode ?? 0,
              contentType: header(res, 'content-type'),
              customAttributes: header(res, 'x-amzn-sagemaker-custom-attributes'),
              body: res,
            });
          },
        );
        req.on('error', (err) => {
          if (signal.aborted) return reject(signal.reason as Error);
          const code = networkCode(err);
          reject(code ? new ModelUnreachable(code) : err);
        });
        if (Buffer.isBuffer(m.input)) {
          req.end(m.input);
        } else {
          m.input.on('error', (err) => req.destroy(err));
          m.input.pipe(req);
        }
      });
    },
  };
}

/** `--model-url <url>` from the command line, else SANDBOX_MODEL_URL; undefined for the demo model. */
export function modelUrlFrom(argv: string[], env: NodeJS.ProcessEnv): string | undefined {
  const { values } = parseArgs({
    args: argv,
    options: { 'model-url': { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  const url = values['model-url'] ?? (env.SANDBOX_MODEL_URL || undefined);
  if (url !== undefined && !/^http:\/\/[^/\s]+(\/.*)?$/.test(url)) {
    throw new Error(`--model-url / SANDBOX_MODEL_URL must look like http://127.0.0.1:8080: ${url}`);
  }
  return url;
}
