import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AsyncJobsClient,
  AsyncJobsError,
  isRetryable,
  type JobRecord,
} from '../../../src/client/index.ts';
import type { PublicJob } from '../../../src/lib/domain/jobs.ts';

/* AsyncJobsClient against a tiny HTTP server on loopback that answers as the job API does. */

// The client's record type is the server's public record, field for field (compile-time check).
const sameFields: Required<JobRecord> extends Required<Omit<PublicJob, never>> ? true : false =
  true;
void sameFields;

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}
type Route = (req: Seen, res: ServerResponse) => void | Promise<void>;

let server: Server;
let base: string;
let route: Route;
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      seen.push(s);
      void route(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));
beforeEach(() => {
  seen.length = 0;
});

const send = (res: ServerResponse, status: number, body: unknown, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
/** A clock for the client that moves only when the test or the client's pauses move it. */
function fakeClock() {
  const clock = {
    t: 0,
    sleeps: [] as number[],
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
  return clock;
}
const job = (status: JobRecord['status'], extra: Partial<JobRecord> = {}): JobRecord => ({
  inferenceId: 'j1',
  status,
  ...extra,
});

describe('AsyncJobsClient', () => {
  it('submits the body with its content type and query; 202 is created, 200 is known', async () => {
    route = (req, res) =>
      send(res, req.url!.includes('again') ? 200 : 202, job('IN_PROGRESS'), {
        location: '/jobs/j1',
      });
    const client = new AsyncJobsClient(base);
    const out = await client.submit('1,2\n', {
      contentType: 'text/csv',
      inferenceId: 'j1',
      requestTtlSeconds: 60,
    });
    expect(out).toEqual({ job: job('IN_PROGRESS'), created: true });
    expect(seen[0]!.method).toBe('POST');
    expect(seen[0]!.headers['content-type']).toBe('text/csv');
    expect(seen[0]!.body.toString()).toBe('1,2\n');
    expect(new URL(seen[0]!.url, base).searchParams.get('requestTtlSeconds')).toBe('60');
    expect((await client.submit({ inputLocation: 's3://b/again' })).created).toBe(false);
    expect(seen[1]!.body).toHaveLength(0);
    expect(new URL(seen[1]!.url, base).searchParams.get('inputLocation')).toBe('s3://b/again');
  });

  it('with a bearer token (apiAuth=jwt) sends it as Authorization, not a SigV4 signature', async () => {
    route = (_req, res) => send(res, 200, job('COMPLETED'));
    // 127.0.0.2 is loopback, but not a name the client treats as the sandbox: it would sign.
    const remote = base.replace('127.0.0.1', '127.0.0.2');
    await new AsyncJobsClient(base, { bearerToken: 'tok-1' }).get('j1');
    expect(seen[0]!.headers.authorization).toBe('Bearer tok-1');
    expect(seen[0]!.headers['x-amz-date']).toBeUndefined();
    const err = await new AsyncJobsClient(remote, { bearerToken: 'tok-1' })
      .get('j1')
      .catch((e: unknown) => e);
    // The server listens on 127.0.0.1 only: the point is that no credentials were looked for.
    expect(err).toMatchObject({ code: 'unreachable' });
  });

  it('throws AsyncJobsError with the status and the API message', async () => {
    route = (_req, res) => send(res, 404, { message: 'no job nope' });
    const err = await new AsyncJobsClient(base).get('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AsyncJobsError);
    expect(err).toMatchObject({ status: 404, code: 'http', message: 'no job nope' });
    const down = await new AsyncJobsClient('http://127.0.0.1:1').get('x').catch((e: unknown) => e);
    expect(down).toMatchObject({ status: 0, code: 'unreachable' });
  });

  it('wait long-polls with ?wait= until the job is terminal, asking no more than needed', async () => {
    const clock = fakeClock();
    let n = 0;
    route = (req, res) => {
      const wait = new URL(req.url, base).searchParams.get('wait');
      // A plain read first (the state at once), then long-polls: the server holds the first (as
      // getJob does), the second finds the job done.
      if (++n === 1) {
        expect(wait).toBeNull();
        return send(res, 200, job('IN_PROGRESS'));
      }
      expect(wait).toBe('20');
      if (n === 2) {
        clock.t += 20_000;
        send(res, 200, job('IN_PROGRESS'));
      } else send(res, 200, job('COMPLETED', { result: 'ok' }));
    };
    const client = new AsyncJobsClient(base, clock);
    const polls: number[] = [];
    const done = await client.wait('j1', { onPoll: (_j, ms) => polls.push(ms) });
    expect(done).toMatchObject({ status: 'COMPLETED', result: 'ok' });
    expect(seen).toHaveLength(3);
    // No pause after a long-poll that was held (the fallback would sleep 250 ms first).
    expect(clock.sleeps).toEqual([]);
    expect(polls).toHaveLength(2);
  });

  it('wait shortens the last long-poll to the timeout, then throws timeout with the record', async () => {
    route = (_req, res) => send(res, 200, job('IN_PROGRESS'));
    // Each answer is immediate, so the clock moves only by the client's own pauses.
    const clock = fakeClock();
    const client = new AsyncJobsClient(base, clock);
    const err = (await client
      .wait('j1', { timeoutMs: 2500 })
      .catch((e: unknown) => e)) as AsyncJobsError;
    expect(err).toMatchObject({ code: 'timeout', job: job('IN_PROGRESS') });
    const waits = seen.map((s) => new URL(s.url, base).searchParams.get('wait'));
    expect(waits.slice(0, 2)).toEqual([null, '2']);
    expect(waits.at(-1)).toBe('0');
    // The last pause is cut to what is left: the pauses end exactly at the timeout.
    expect(clock.t).toBe(2500);
  });

  it('wait falls back to backed-off polling when the API answers ?wait= at once', async () => {
    let n = 0;
    route = (_req, res) => send(res, 200, job(++n < 4 ? 'IN_PROGRESS' : 'FAILED'));
    const clock = fakeClock();
    const done = await new AsyncJobsClient(base, clock).wait('j1');
    expect(done.status).toBe('FAILED');
    expect(seen).toHaveLength(4);
    // After each long-poll answered at once: 250 ms, then 375 ms (the CLI's former schedule).
    expect(clock.sleeps).toEqual([250, 375]);
  });

  it('result follows the redirect to the presigned URL, unsigned, and returns the bytes', async () => {
    route = (req, res) => {
      if (req.url === '/jobs/j1/result') {
        res.writeHead(302, { location: `${base}/presigned?X-Amz-Signature=abc` });
        res.end();
      } else if (req.url.startsWith('/presigned')) {
        res.writeHead(200, { 'content-type': 'text/csv' });
        res.end('0.1\n0.2\n');
      } else send(res, 404, { message: 'no' });
    };
    const r = await new AsyncJobsClient(base).result('j1');
    expect(r.text()).toBe('0.1\n0.2\n');
    expect(r.contentType).toBe('text/csv');
    expect(seen.map((s) => s.url)).toEqual(['/jobs/j1/result', '/presigned?X-Amz-Signature=abc']);
  });

  it('result of a small output is the body itself; a job without one is an error', async () => {
    route = (req, res) => {
      if (req.url === '/jobs/j1/result') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.from([0, 1, 2]));
      } else send(res, 409, { message: 'job j2 is IN_PROGRESS' });
    };
    const client = new AsyncJobsClient(base);
    expect([...(await client.result('j1')).bytes]).toEqual([0, 1, 2]);
    await expect(client.result('j2')).rejects.toMatchObject({ status: 409 });
  });

  it('submitAndWait submits then waits on the id the API gave', async () => {
    route = (req, res) =>
      req.method === 'POST'
        ? send(res, 202, job('IN_PROGRESS', { inferenceId: 'given' }))
        : send(res, 200, job('COMPLETED', { inferenceId: 'given' }));
    const done = await new AsyncJobsClient(base).submitAndWait('x', { contentType: 'text/plain' });
    expect(done).toEqual(job('COMPLETED', { inferenceId: 'given' }));
    expect(seen[1]!.url).toBe('/jobs/given');
  });

  it('lists a status page and asks for upload URLs', async () => {
    route = (req, res) =>
      req.url.startsWith('/uploads')
        ? send(res, 201, { uploadUrl: 'u', inputLocation: 's3://b/k', headers: {} })
        : send(res, 200, { jobs: [job('FAILED')], next: 't' });
    const client = new AsyncJobsClient(base);
    expect(await client.list({ status: 'FAILED', limit: 5 })).toEqual({
      jobs: [job('FAILED')],
      next: 't',
    });
    expect(seen[0]!.url).toBe('/jobs?status=FAILED&limit=5');
    const up = await client.createUpload({ contentType: 'text/csv', contentLength: 10 });
    expect(up.inputLocation).toBe('s3://b/k');
  });

  it('says which statuses POST /jobs/{id}/retry takes (the console offers Retry on them)', () => {
    expect(
      (['IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED', 'EXPIRED'] as const).filter(isRetryable),
    ).toEqual(['FAILED', 'CANCELLED', 'EXPIRED']);
  });

  it('retries a failed job: the new attempt, or the 409 of one that did not fail', async () => {
    route = (req, res) =>
      req.url === '/jobs/j1/retry'
        ? send(res, 202, job('IN_PROGRESS', { inferenceId: 'j1.2', retryOf: 'j1', attempt: 2 }))
        : send(res, 409, { message: 'job j2 has not failed' });
    const client = new AsyncJobsClient(base);
    expect(await client.retry('j1')).toMatchObject({ inferenceId: 'j1.2', attempt: 2 });
    expect(seen[0]!.method).toBe('POST');
    await expect(client.retry('j2')).rejects.toMatchObject({
      status: 409,
      message: 'job j2 has not failed',
    });
  });
});
