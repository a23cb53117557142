import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/local/sandbox.ts';
import { waitFor } from '../support/lambda.ts';
import { startTestSandbox } from '../support/sandbox.ts';

/*
 * Queue control end to end (docs/queue.md): a sandbox of its own with admission on, one instance
 * running one job at a time (window: 1 x 1 + head room 1), driven over HTTP. Whether the model
 * was handed a job is read from the local runtime's own log line for each request it accepted.
 */

let sandbox: Sandbox | undefined;
const lines: string[] = [];

beforeAll(async () => {
  sandbox = await startTestSandbox(lines, { admission: 'on', concurrency: 1 });
}, 180_000);

afterAll(async () => {
  await sandbox?.close();
});

interface JobBody {
  inferenceId: string;
  status: string;
  result?: string;
  cancelRequested?: boolean;
  queue?: { lane: string; position: number; ahead: number; exact: boolean };
  [k: string]: unknown;
}

const api = () => sandbox!.apiUrl;

async function submit(id: string, query: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${api()}/jobs?${new URLSearchParams({ inferenceId: id, ...query })}`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv' },
    body: '1,2\n',
  });
  await res.arrayBuffer();
  return res.status;
}

async function job(id: string): Promise<JobBody> {
  return (await (await fetch(`${api()}/jobs/${id}`)).json()) as JobBody;
}

async function cancel(id: string): Promise<{ status: number; body: JobBody }> {
  const res = await fetch(`${api()}/jobs/${id}/cancel`, { method: 'POST' });
  return { status: res.status, body: (await res.json()) as JobBody };
}

async function ended(id: string, timeoutMs = 90_000): Promise<JobBody> {
  return waitFor(
    async () => {
      const body = await job(id);
      return body.status !== 'IN_PROGRESS' ? body : undefined;
    },
    { timeoutMs, intervalMs: 200, what: `job ${id} to end` },
  );
}

/** Whether the local runtime ever accepted a request for this job (its `request queued` line). */
const invoked = (id: string) =>
  lines.some((l) => l.includes('request queued') && l.includes(`"${id}"`));

describe('queue control with admission on (one instance, one job at a time)', () => {
  it('holds jobs in lanes, cancels and expires waiting ones without the model, and runs the rest', async () => {
    // Two long jobs fill the window (2): everything after them waits in the stack's lanes.
    expect(await submit('q-hold-1', { customAttributes: 'delay_ms=20000' })).toBe(202);
    expect(await submit('q-hold-2', { customAttributes: 'delay_ms=3000' })).toBe(202);
    await waitFor(async () => (invoked('q-hold-1') && invoked('q-hold-2') ? true : undefined), {
      timeoutMs: 60_000,
      what: 'both holding jobs handed to the local endpoint',
    });
    // In flight (SageMaker has it): 202, CANCELLED once the model's answer comes, no result.
    const inFlight = await cancel('q-hold-1');
    expect(inFlight.status).toBe(202);
    expect(inFlight.body).toMatchObject({ status: 'IN_PROGRESS', cancelRequested: true });

    const waiting = [
      ['q-low', 'low'],
      ['q-normal', 'normal'],
      ['q-high', 'high'],
      ['q-normal-2', 'normal'],
    ] as const;
    for (const [id, priority] of waiting) expect(await submit(id, { priority })).toBe(202);
    expect(await submit('q-cancel-wait', { priority: 'low' })).toBe(202);
    expect(await submit('q-expire', { priority: 'low', maxQueueSeconds: '10' })).toBe(202);

    // A waiting job's place: the second of the normal lane, behind the high one.
    const place = await job('q-normal-2');
    expect(place.status).toBe('IN_PROGRESS');
    expect(place.queue).toMatchObject({ lane: 'normal', position: 2, ahead: 2, exact: true });

    // Waiting: CANCELLED at once.
    const waitingCancel = await cancel('q-cancel-wait');
    expect(waitingCancel.status).toBe(200);
    expect(waitingCancel.body.status).toBe('CANCELLED');

    // GET /queue: the window and the lanes the dispatcher saw.
    const view = await waitFor(
      async () => {
        const body = (await (await fetch(`${api()}/queue`)).json()) as {
          admission: string;
          endpoints: { window: number; lanes: Record<string, unknown>; inFlight: number }[];
        };
        return body.endpoints.length > 0 ? body : undefined;
      },
      { timeoutMs: 30_000, what: 'a queue snapshot' },
    );
    expect(view.admission).toBe('on');
    expect(view.endpoints[0]!.window).toBe(2);
    expect(Object.keys(view.endpoints[0]!.lanes).sort()).toEqual(['high', 'low', 'normal']);

    // Held behind q-hold-1 past its 10 s: EXPIRED, never handed to the model.
    const expired = await ended('q-expire');
    expect(expired.status).toBe('EXPIRED');

    const cancelled = await ended('q-hold-1');
    expect(cancelled.status).toBe('CANCELLED');
    expect(cancelled.result).toBeUndefined();

    for (const id of ['q-hold-2', ...waiting.map(([id]) => id)]) {
      expect((await ended(id)).status, id).toBe('COMPLETED');
    }
    expect(invoked('q-cancel-wait')).toBe(false);
    expect(invoked('q-expire')).toBe(false);
    expect(invoked('q-high')).toBe(true);

    // The bus got the cancels (the sandbox's capture of what reached it).
    const announced = await waitFor(
      async () => {
        const found = sandbox!.eventBridge.events.filter((e) => e.detailType === 'JobCancelled');
        return found.length >= 2 ? found : undefined;
      },
      { timeoutMs: 30_000, what: 'JobCancelled events' },
    );
    expect(announced.map((e) => e.detail.inferenceId).sort()).toEqual([
      'q-cancel-wait',
      'q-hold-1',
    ]);
  }, 240_000);
});
