import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsyncJobsClient, AsyncJobsError } from '../../../src/client/index.ts';
import { startHangingServer, type HangingServer } from '../../support/hanging-server.ts';

/*
 * The typed client against an API (and a result download) that accepts and never answers, or
 * answers its headers and stalls mid-body: the call ends with an AsyncJobsError that names the
 * request timeout, while the server still hangs. The bound is the client's own option, small here;
 * vitest's timeout is the only clock.
 */

let silent: HangingServer;
let stalled: HangingServer;
let redirect: Server;
let redirectUrl: string;
beforeAll(async () => {
  [silent, stalled] = await Promise.all([
    startHangingServer({ mode: 'silent' }),
    startHangingServer({
      mode: 'mid-body',
      contentType: 'application/json',
      head: '{"inferenceId":',
    }),
  ]);
  // The API's answer for a large result: 302 to a presigned S3 URL, here one that stalls.
  redirect = createServer((_req, res) =>
    res.writeHead(302, { location: `${stalled.url}/out` }).end(),
  );
  await new Promise<void>((r) => redirect.listen(0, '127.0.0.1', () => r()));
  redirectUrl = `http://127.0.0.1:${(redirect.address() as AddressInfo).port}`;
});
afterAll(async () => {
  redirect?.closeAllConnections();
  await Promise.all([
    silent?.close(),
    stalled?.close(),
    new Promise<void>((r) => (redirect ? redirect.close(() => r()) : r())),
  ]);
});

const timeout = { requestTimeoutMs: 300 };

async function failure(call: Promise<unknown>): Promise<AsyncJobsError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AsyncJobsError);
  return err as AsyncJobsError;
}

describe('AsyncJobsClient against an API that hangs', () => {
  it('accepts and never answers: the request ends naming the timeout', async () => {
    const err = await failure(new AsyncJobsClient(silent.url, timeout).get('job-1'));
    expect(err).toMatchObject({ code: 'unreachable', status: 0 });
    expect(err.message).toBe(
      `the API at ${silent.url} did not answer within 0.3 s (request timeout)`,
    );
    expect(silent.finished).toBe(0);
  });

  it('answers its headers and stalls mid-body: the request ends too', async () => {
    const err = await failure(new AsyncJobsClient(stalled.url, timeout).submit('1,2,3'));
    expect(err.message).toMatch(/did not answer within 0\.3 s \(request timeout\)/);
    expect(stalled.finished).toBe(0);
  });

  it('a result download that stalls mid-body ends naming the timeout', async () => {
    const err = await failure(new AsyncJobsClient(redirectUrl, timeout).result('job-1'));
    expect(err.message).toBe('the result download did not answer within 0.3 s (request timeout)');
    expect(stalled.finished).toBe(0);
  });

  it('waits 35 s by default: longer than API Gateway’s 30 s, so only a hung API is cut', async () => {
    const { REQUEST_TIMEOUT_MS } = await import('../../../src/client/index.ts');
    expect(REQUEST_TIMEOUT_MS).toBeGreaterThan(30_000);
  });
});
