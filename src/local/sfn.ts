import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A local stand-in for Step Functions' callback API: it answers SendTaskSuccess and SendTaskFailure
 * in Step Functions' protocol (AWS JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Operation>`), so the
 * real @aws-sdk/client-sfn reaches it through AWS_ENDPOINT_URL_SFN, and records every call where
 * the sandbox and the tests can read it. A token it was told is expired answers TaskTimedOut, as
 * Step Functions does once the waiting task has timed out. Only what sendTaskResult calls exists.
 */

export interface TaskCall {
  operation: 'SendTaskSuccess' | 'SendTaskFailure';
  taskToken: string;
  /** SendTaskSuccess: the output, parsed. */
  output?: unknown;
  /** SendTaskFailure */
  error?: string;
  cause?: string;
  /** What the stand-in answered: 'ok' or the exception name. */
  answer: string;
  at: string;
}

export interface LocalStepFunctions {
  url: string;
  port: number;
  readonly calls: readonly TaskCall[];
  /** From now on this token answers TaskTimedOut (the task gave up waiting). */
  expire(taskToken: string): void;
  close(): Promise<void>;
}

export interface LocalStepFunctionsOptions {
  port?: number;
  /** Called for every call; never given the token (it is a bearer capability). */
  onCall?: (call: Omit<TaskCall, 'taskToken'>) => void;
}

const OPERATIONS = new Set(['SendTaskSuccess', 'SendTaskFailure']);

function answer(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-requestid': randomUUID(),
  });
  res.end(JSON.stringify(body));
}

export async function startLocalStepFunctions(
  opts: LocalStepFunctionsOptions = {},
): Promise<LocalStepFunctions> {
  const calls: TaskCall[] = [];
  const expired = new Set<string>();

  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (c: string) => (text += c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.replace(/^AWSStepFunctions\./, '');
      if (
        req.method !== 'POST' ||
        !target.startsWith('AWSStepFunctions.') ||
        !OPERATIONS.has(operation)
      ) {
        answer(res, 400, {
          __type: 'UnknownOperationException',
          message: `${target} is not supported by the local Step Functions`,
        });
        return;
      }
      let input: { taskToken?: string; output?: string; error?: string; cause?: string };
      try {
        input = JSON.parse(text) as typeof input;
      } catch {
        answer(res, 400, { __type: 'SerializationException', message: 'the request is not JSON' });
        return;
      }
      const token = input.taskToken ?? '';
      if (token.length < 1 || token.length > 2048) {
        answer(res, 400, { __type: 'InvalidToken', message: 'Invalid Token' });
        return;
      }
      let output: unknown;
      if (operation === 'SendTaskSuccess') {
        try {
          output = JSON.parse(input.output ?? '');
        } catch {
          answer(res, 400, { __type: 'InvalidOutput', message: 'Invalid Output' });
          return;
        }
      }
      const verdict = expired.has(token) ? 'TaskTimedOut' : 'ok';
      const call: TaskCall = {
        operation: operation as TaskCall['operation'],
        taskToken: token,
        ...(operation === 'SendTaskSuccess'
          ? { output }
          : { error: input.error, cause: input.cause }),
        answer: verdict,
        at: new Date().toISOString(),
      };
      calls.push(call);
      const { taskToken: _token, ...shown } = call;
      opts.onCall?.(shown);
      if (verdict === 'ok') answer(res, 200, {});
      else answer(res, 400, { __type: verdict, message: 'Task Timed Out' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    calls,
    expire: (taskToken) => void expired.add(taskToken),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
