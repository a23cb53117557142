import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

/*
 * One execution environment of the local Lambda runtime (lambda-runtime.ts), in a worker thread:
 * INIT imports the function's bundle once, then each invocation message runs the handler with its
 * event and a Lambda context, one at a time, as one Lambda instance does. Built by esbuild into the
 * sandbox's build folder (lambda-build.ts), so it runs as plain JavaScript in any host.
 */

export interface BootstrapData {
  file: string;
  exportName: string;
  functionName: string;
  memoryMb: number;
  region: string;
  account: string;
}

/** Main thread -> worker: one invocation; the event and the answer travel as JSON text. */
export interface InvokeMessage {
  id: number;
  event: string;
  awsRequestId: string;
  /** Date.now() at which the function times out. */
  deadline: number;
  clientContext?: unknown;
}

export interface FunctionErrorBody {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

/** Worker -> main thread. */
export type BootstrapMessage =
  | { type: 'ready' }
  | { type: 'init-error'; error: FunctionErrorBody }
  | { type: 'result'; id: number; payload: string }
  | { type: 'error'; id: number; error: FunctionErrorBody };

type Handler = (
  event: unknown,
  context: unknown,
  callback: (err?: unknown, result?: unknown) => void,
) => unknown;

/** The error body Lambda's Node.js runtime answers for a thrown value. */
export function errorBody(err: unknown, fallbackType = 'Error'): FunctionErrorBody {
  if (err instanceof Error) {
    return {
      errorType: err.name || fallbackType,
      errorMessage: err.message,
      trace: err.stack?.split('\n'),
    };
  }
  return {
    errorType: typeof err === 'string' ? 'string' : fallbackType,
    errorMessage: String(err),
  };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('lambda-bootstrap runs in a worker thread');
  const data = workerData as BootstrapData;
  let handler: Handler;
  try {
    const mod = (await import(pathToFileURL(data.file).href)) as Record<string, unknown>;
    const h = mod[data.exportName];
    if (typeof h !== 'function') {
      const e = new Error(`${data.file} does not export ${data.exportName}`);
      e.name = 'Runtime.HandlerNotFound';
      throw e;
    }
    handler = h as Handler;
  } catch (err) {
    port.postMessage({
      type: 'init-error',
      error: errorBody(err, 'Runtime.ImportModuleError'),
    } satisfies BootstrapMessage);
    return;
  }

  port.on('message', (msg: InvokeMessage) => {
    const context = {
      functionName: data.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${data.region}:${data.account}:function:${data.functionName}`,
      memoryLimitInMB: String(data.memoryMb),
      awsRequestId: msg.awsRequestId,
      logGroupName: `/aws/lambda/${data.functionName}`,
      logStreamName: `local/[$LATEST]${data.functionName}`,
      clientContext: msg.clientContext,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, msg.deadline - Date.now()),
    };
    const outcome = new Promise<unknown>((resolve, reject) => {
      const callback = (err?: unknown, result?: unknown) =>
        err !== undefined && err !== null ? reject(err) : resolve(result);
      const returned = handler(JSON.parse(msg.event) as unknown, context, callback);
      if (returned && typeof (returned as Promise<unknown>).then === 'function') {
        (returned as Promise<unknown>).then(resolve, reject);
      } else if (handler.length < 3) {
        // Neither a promise nor a callback: the function's answer is what it returned.
        resolve(returned);
      }
    });
    outcome
      .then((result) => {
        // Lambda answers `null` for a function that returns nothing; JSON, as Lambda sends it.
        const payload = JSON.stringify(result ?? null);
        port.postMessage({ type: 'result', id: msg.id, payload } satisfies BootstrapMessage);
      })
      .catch((err: unknown) => {
        port.postMessage({
          type: 'error',
          id: msg.id,
          error: errorBody(err),
        } satisfies BootstrapMessage);
      });
  });
  port.postMessage({ type: 'ready' } satisfies BootstrapMessage);
}

await main();
