import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AsyncJobsClient } from '../../../src/client/index.ts';

/* Queue control from the typed client, against a loopback server that answers as the API does. */

interface Seen {
  method: string;
  url: string;
}
let server: Server;
let base: string;
let answer: (req: Seen, res: ServerResponse) => void;
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const s = { method: req.method!, url: req.url! };
      seen.push(s);
      answer(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));
beforeEach(() => {
  seen.length = 0;
});

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('AsyncJobsClient: queue control', () => {
  it('submits priority, maxQueueSeconds and tenant as query parameters', async () => {
    answer = (_req, res) => send(res, 202, { inferenceId: 'j1', status: 'IN_PROGRESS' });
    await new AsyncJobsClient(base).submit('x', {
      priority: 'high',
      maxQueueSeconds: 30,
      tenant: 'team-a',
    });
    const q = new URL(seen[0]!.url, base).searchParams;
    expect([q.get('priority'), q.get('maxQueueSeconds'), q.get('tenant')]).toEqual([
      'high',
      '30',
      'team-a',
    ]);
    // None of them when not given: the API's defaults apply.
    await new AsyncJobsClient(base).submit('x');
    const plain = new URL(seen[1]!.url, base).searchParams;
    expect(['priority', 'maxQueueSeconds', 'tenant'].filter((k) => plain.has(k))).toEqual([]);
  });

  it('cancels a job: 200 is cancelled, 202 is requested, 409 and 404 are errors', async () => {
    answer = (req, res) => {
      if (req.url === '/jobs/waiting/cancel')
        send(res, 200, { inferenceId: 'waiting', status: 'CANCELLED' });
      else if (req.url === '/jobs/sent%201/cancel')
        send(res, 202, { inferenceId: 'sent 1', status: 'IN_PROGRESS', cancelRequested: true });
      else if (req.url === '/jobs/done/cancel')
        send(res, 409, { message: 'job done is COMPLETED' });
      else send(res, 404, { message: 'no job' });
    };
    const client = new AsyncJobsClient(base);
    expect(await client.cancelJob('waiting')).toEqual({
      job: { inferenceId: 'waiting', status: 'CANCELLED' },
      cancelled: true,
    });
    expect(await client.cancelJob('sent 1')).toMatchObject({
      job: { cancelRequested: true },
      cancelled: false,
    });
    await expect(client.cancelJob('done')).rejects.toMatchObject({
      status: 409,
      message: 'job done is COMPLETED',
    });
    await expect(client.cancelJob('nope')).rejects.toMatchObject({ status: 404 });
    expect(seen.map((s) => s.method)).toEqual(['POST', 'POST', 'POST', 'POST']);
  });

  it('cancels a batch and reads the queue', async () => {
    const view = {
      admission: 'on',
      endpoints: [
        {
          endpointName: 'e',
          computedAt: '2026-12-02T00:00:00.000Z',
          lanes: {
            high: { depth: 1, exact: true, oldestAgeSeconds: 3 },
            normal: { depth: 0, exact: true },
            low: { depth: 0, exact: true },
          },
          inFlight: 2,
          inFlightByTenant: { a: 2 },
          window: 3,
          capacity: {
            instances: 1,
            perInstanceConcurrency: 2,
            headroom: 1,
            observedAt: '2026-12-02T00:00:00.000Z',
          },
        },
      ],
    };
    answer = (req, res) =>
      req.url === '/queue'
        ? send(res, 200, view)
        : send(res, 202, { batchId: 'b 1', state: 'IN_PROGRESS', counts: {}, createdAt: 'x' });
    const client = new AsyncJobsClient(base);
    expect(await client.cancelBatch('b 1')).toMatchObject({ batchId: 'b 1' });
    expect(await client.getQueue()).toEqual(view);
    expect(seen).toEqual([
      { method: 'POST', url: '/batches/b%201/cancel' },
      { method: 'GET', url: '/queue' },
    ]);
  });
});
