import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { listenLocal } from './listen.ts';

/*
 * A local stand-in for Step Functions' callback API: it answers SendTaskSuccess and SendTaskFailure
 * in Step Functions' protocol (AWS JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Operation>`), so the
 * real @aws-sdk/client-sfn reaches it through AWS_ENDPOINT_URL_SFN, and records every call where
 * the sandbox and the tests can read it. It refuses as Step Functions does
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html):
 * a malformed token answers 400 InvalidToken, so sendTaskResult's INVALID path runs locally as it
 * does in AWS (answering 200 to any string hid it); a token it was told is expired answers
 * TaskTimedOut, as once the waiting task has timed out. Only what sendTaskResult calls exists.
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

/**
 * Whether a token is shaped as Step Functions issues them: base64 (`AQB8AAAAKgAAAAMAAAAAAAAAA...`),
 * at most 2048 characters. Step Functions answers InvalidToken for a token it did not issue; the
 * stand-in issues none, so it takes any well-formed token as issued and refuses the rest.
 */
export function isWellFormedTaskToken(token: string): boolean {
  return token.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(token);
}

/** A token the stand-in takes as issued, named by `label`: for tests and a curl in the sandbox. */
export function localTaskToken(label: string): string {
  return Buffer.from(label, 'utf8').toString('base64');
}

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
        // The API's length constraint on taskToken, checked before the token is read.
        answer(res, 400, {
          __type: 'ValidationException',
          message: `1 validation error detected: Value at 'taskToken' failed to satisfy constraint: Member must have length between 1 and 2048`,
        });
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
      const verdict = !isWellFormedTaskToken(token)
        ? 'InvalidToken'
        : expired.has(token)
          ? 'TaskTimedOut'
          : 'ok';
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
      else {
        const message = verdict === 'InvalidToken' ? 'Invalid Token' : 'Task Timed Out';
        answer(res, 400, { __type: verdict, message });
      }
    });
  });
  const port = await listenLocal(server, opts.port);
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
