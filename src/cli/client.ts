import { AsyncJobsError } from '../client/index.ts';
import { Transport, apiErrorOf, type RawResponse } from '../client/transport.ts';

/*
 * The CLI's side of the client (src/client): its errors as exit codes and messages that say what
 * to do. Every command talks to the API through AsyncJobsClient.
 */

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 3,
  ) {
    super(message);
  }
}

export { isLocal } from '../client/transport.ts';

const HINTS: Partial<Record<AsyncJobsError['code'], string>> = {
  unreachable: 'is the sandbox running (npm start), or is --api / ASYNC_JOBS_API right?',
  credentials: 'set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws sso login',
};

/** A client error as the CLI says it: `what: the API's message`, exit 4 for a 404, else 3. */
export function cliError(e: unknown, what: string): unknown {
  if (!(e instanceof AsyncJobsError)) return e;
  const hint = HINTS[e.code];
  if (hint) return new CliError(`${e.message}; ${hint}`);
  if (e.status === 403 && e.message.startsWith('the API refused')) return new CliError(e.message);
  return new CliError(`${what}: ${e.message}`, e.status === 404 ? 4 : 3);
}

export interface Response extends RawResponse {
  json<T>(): T;
}

/**
 * Raw requests, for a command the typed client has no method for yet (prefer AsyncJobsClient).
 */
export class ApiClient {
  private readonly transport: Transport;
  constructor(apiUrl: string) {
    this.transport = new Transport(apiUrl);
  }
  get base(): URL {
    return this.transport.base;
  }
  async request(
    method: string,
    path: string,
    opts: {
      query?: Record<string, string | undefined>;
      body?: Buffer;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Response> {
    const res = await this.transport.request(method, path, opts).catch((e: unknown) => {
      throw cliError(e, `${method} ${path}`);
    });
    return {
      ...res,
      json<T>() {
        try {
          return JSON.parse(res.body.toString('utf8')) as T;
        } catch {
          throw new CliError(
            `${method} ${path} answered ${res.status} with a body that is not JSON: is --api the job API?`,
          );
        }
      },
    };
  }
}

/** The API's error body, or the status. */
export function apiError(res: RawResponse, what: string): CliError {
  return cliError(apiErrorOf(res), what) as CliError;
}
