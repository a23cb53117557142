import axe from 'axe-core';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../src/console/chromium.ts';
import { PROJECT_DIR } from '../../src/local/paths.ts';
import type { Sandbox } from '../../src/local/sandbox.ts';
import { waitFor } from '../support/lambda.ts';
import { startTestSandbox } from '../support/sandbox.ts';

/*
 * Queue control end to end (docs/queue.md): a sandbox of its own with admission on, one instance
 * running one job at a time (window: 1 x 1 + head room 1), driven over HTTP. Whether the model
 * was handed a job is read from the local runtime's own log line for each request it accepted.
 * The console's queue view and a waiting job's page are driven in Chromium against this sandbox
 * (the shared one runs with admission off), one browser for the file.
 */

let sandbox: Sandbox | undefined;
let browser: Browser | undefined;
const lines: string[] = [];
/** Screenshots beside console.test.ts's (test-output/ is ignored by git). */
const OUT = join(PROJECT_DIR, 'test-output', 'console');

beforeAll(async () => {
  sandbox = await startTestSandbox(lines, { admission: 'on', concurrency: 1 });
}, 180_000);

afterAll(async () => {
  await browser?.close();
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

/**
 * GET /jobs/{id}; a loaded sandbox's 503 (Retry-After) is asked again, so what a test then
 * asserts is the record, and any other answer fails here with its status.
 */
async function job(id: string): Promise<JobBody> {
  const res = await waitFor(
    async () => {
      const r = await fetch(`${api()}/jobs/${id}`);
      if (r.status === 503) {
        await r.arrayBuffer();
        return undefined;
      }
      return r;
    },
    { timeoutMs: 30_000, intervalMs: 250, what: `GET /jobs/${id} answered other than 503` },
  );
  expect(res.status, `GET /jobs/${id}`).toBe(200);
  return (await res.json()) as JobBody;
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

    // An expired job retried is a new attempt with a wait of its own: it reaches the model.
    const retry = await fetch(`${api()}/jobs/q-expire/retry`, { method: 'POST' });
    expect(retry.status).toBe(202);
    expect(await retry.json()).toMatchObject({
      inferenceId: 'q-expire.2',
      retryOf: 'q-expire',
      attempt: 2,
      priority: 'low',
    });
    expect((await ended('q-expire.2')).status).toBe('COMPLETED');
    expect(invoked('q-expire.2')).toBe(true);
    expect(await job('q-expire')).toMatchObject({ status: 'EXPIRED', retriedBy: 'q-expire.2' });
    // A completed job still is not retried.
    expect((await fetch(`${api()}/jobs/q-high/retry`, { method: 'POST' })).status).toBe(409);
  }, 240_000);

  it('shows the queue in the console: lanes, tenants and the window; a waiting job cancelled from its page', async () => {
    await mkdir(OUT, { recursive: true });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Two long jobs fill the window (2): the instance runs one (whichever it takes first), the
    // other waits behind it there, so the window stays full for 20 s at least; the next jobs wait
    // in the stack's lanes.
    const hold = { customAttributes: 'delay_ms=20000' };
    expect(await submit('qc-hold-1', hold)).toBe(202);
    expect(await submit('qc-hold-2', { ...hold, tenant: 'team-a' })).toBe(202);
    await waitFor(async () => (invoked('qc-hold-1') && invoked('qc-hold-2') ? true : undefined), {
      timeoutMs: 60_000,
      what: 'both holding jobs handed to the local endpoint',
    });
    expect(await submit('qc-wait', { priority: 'normal' })).toBe(202);
    expect(await submit('qc-wait-low', { priority: 'low', tenant: 'team-a' })).toBe(202);
    const wait = { timeout: 60_000 };
    // The depths are counted by the tick (a round woken by a submit keeps the last count,
    // docs/queue.md): the tick, now, as the schedule would send it (an event without Records).
    const tick = await fetch(
      `${sandbox!.lambdaUrl}/2015-03-31/functions/async-jobs-local-dispatch/invocations`,
      { method: 'POST', body: '{}' },
    );
    await tick.arrayBuffer();
    expect(tick.headers.get('x-amz-function-error')).toBeNull();

    await page.goto(`${api()}/console#/queue`);
    await page.getByRole('heading', { name: 'demo-endpoint', level: 2 }).waitFor(wait);
    // The snapshot of the tick's round after both submits, read again every 5 s.
    const depth = (lane: string) => page.locator(`tr[data-lane="${lane}"] td`).first();
    await expect.poll(() => depth('normal').textContent(), wait).toBe('1');
    await expect.poll(() => depth('low').textContent(), wait).toBe('1');
    expect(await depth('high').textContent()).toBe('0');
    await page
      .getByText(/^Window 2 = 1 instance in service x 1 per instance \+ 1 head room/)
      .waitFor();
    // When the depths shown were counted (a woken round may keep an earlier count).
    await page.getByText(/; depths counted at /).waitFor();
    const tenants = page.locator('table.tenants tbody tr');
    await expect
      .poll(() => tenants.allTextContents(), wait)
      .toEqual(expect.arrayContaining(['default1', 'team-a1']));
    await accessible(page, 'the queue');
    await page.screenshot({ path: join(OUT, 'queue-data.png'), fullPage: true });
    const phone = await context.newPage();
    try {
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.goto(`${api()}/console#/queue`);
      await phone.locator('tr[data-lane="normal"] td').first().waitFor(wait);
      const [scroll, inner] = (await phone.evaluate(
        '[document.documentElement.scrollWidth, window.innerWidth]',
      )) as [number, number];
      expect(scroll).toBeLessThanOrEqual(inner);
      await accessible(phone, 'the queue at a phone width');
      await phone.screenshot({ path: join(OUT, 'queue-data-phone.png'), fullPage: true });
    } finally {
      await phone.close();
    }

    // A waiting job's page: its place, then Cancel: CANCELLED at once, never handed over.
    await page.goto(`${api()}/console#/jobs/qc-wait`);
    await page
      .locator('.place', { hasText: /^Waiting in the normal lane: position 1, 0 jobs ahead/ })
      .waitFor(wait);
    await page.locator('.timeline li', { hasText: 'Expires unless handed over by' }).waitFor(wait);
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.locator('.summary .status', { hasText: 'Cancelled' }).waitFor(wait);
    await page
      .locator('.timeline li', { hasText: 'Cancelled before it reached SageMaker' })
      .waitFor(wait);
    await accessible(page, 'a job cancelled while waiting');
    await page.screenshot({ path: join(OUT, 'cancelled-waiting.png'), fullPage: true });
    expect((await job('qc-wait')).status).toBe('CANCELLED');

    // The first test's expired job: on its page and under its status in the list.
    await page.goto(`${api()}/console#/jobs/q-expire`);
    await page
      .locator('.timeline li', { hasText: 'Expired: not handed to SageMaker within 10 s' })
      .waitFor(wait);
    await page.goto(`${api()}/console#/jobs?status=EXPIRED`);
    await page.getByRole('link', { name: 'q-expire', exact: true }).waitFor(wait);
    expect(errors).toEqual([]);

    // The rest run on their own once a slot frees; the file does not wait for them (the sandbox's
    // close aborts the model's delay).
    expect(invoked('qc-wait')).toBe(false);
  }, 180_000);
});

/** axe-core on the page as it is: no serious or critical violation. */
async function accessible(p: Page, name: string): Promise<void> {
  await p.evaluate(axe.source);
  const result = (await p.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as {
    violations: { id: string; impact?: string; nodes: { target: string[] }[] }[];
  };
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad, `axe on ${name}`).toEqual([]);
}
