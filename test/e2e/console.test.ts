import axe from 'axe-core';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsyncJobsClient } from '../../src/client/index.ts';
import { launchChromium } from '../../src/console/chromium.ts';
import { startConsoleProxy, type ConsoleProxy } from '../../src/console/proxy.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/console/serve.ts';
import { PROJECT_DIR } from '../../src/local/paths.ts';
import type { Sandbox } from '../../src/local/sandbox.ts';
import { sharedSandbox } from '../support/shared-sandbox.ts';

/*
 * The jobs console in headless Chromium (Debian's, through playwright-core) against the shared
 * sandbox, which serves it at /console: a dropped file's job runs to COMPLETED and its result is
 * previewed, a failed job shows why and is retried from its page, a batch is followed to its end,
 * the list filters and updates without a reload, the activity charts draw the run's endings,
 * and the same page works through
 * `async-jobs console` (its proxy, in process). Each page is checked with axe-core (no serious or
 * critical violation) and saved as a screenshot under test-output/console/ (git ignores it; each
 * run starts it anew). One browser for the file; every wait is for a condition.
 */

const OUT = join(PROJECT_DIR, 'test-output', 'console');
const WAIT = { timeout: 60_000 };

let sandbox: Sandbox;
let api: AsyncJobsClient;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const lines: string[] = [];
/**
 * What the browser reported as errors: a CSP refusal or an uncaught exception. An answer with an
 * error status (a 503 of a loaded sandbox, which the page shows and reads again) is logged by
 * Chromium as "Failed to load resource" and is not one.
 */
const pageErrors: string[] = [];
const collect = (text: string) => {
  if (!text.startsWith('Failed to load resource')) pageErrors.push(text);
};
const run = `console-${Date.now().toString(36)}`;
const cancelId = `${run}-cancel`;
/** The batch cancelled from its page (its end is checked at a phone's width). */
let cancelledBatch = '';

beforeAll(async () => {
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  sandbox = await sharedSandbox(lines);
  api = new AsyncJobsClient(sandbox.apiUrl);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') collect(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
});
afterAll(async () => {
  await browser?.close();
  await sandbox?.close();
});

const consoleUrl = (hash = '') => `${sandbox.apiUrl}/console${hash}`;

/** axe-core on the page as it is: no serious or critical violation (the rest are listed, not failed). */
async function accessible(p: Page, name: string): Promise<void> {
  await p.evaluate(axe.source);
  const result = (await p.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as {
    violations: { id: string; impact?: string; help: string; nodes: { target: string[] }[] }[];
  };
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    );
  expect(bad, `axe on ${name}`).toEqual([]);
}

async function shot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

/** A PNG of `width` x `height` pixels of one colour (chunks as the PNG spec lays them out). */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const row = Buffer.concat([Buffer.from([0]), Buffer.from('0a58ca'.repeat(width), 'hex')]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(Array.from({ length: height }, () => row)))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Nothing wider than the window: no sideways scrolling at this width. */
async function fitsWidth(p: Page): Promise<void> {
  const [scroll, inner] = (await p.evaluate(
    '[document.documentElement.scrollWidth, window.innerWidth]',
  )) as [number, number];
  expect(scroll).toBeLessThanOrEqual(inner);
}

describe('the console in a browser', () => {
  it('is served with a strict CSP and opens on the live jobs list', async () => {
    const res = await page.goto(consoleUrl());
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(res?.headers()['x-content-type-options']).toBe('nosniff');
    expect(res?.headers()['referrer-policy']).toBe('no-referrer');
    // The sandbox's upload relay forwards to its own S3 and nowhere else.
    const relayed = await fetch(`${sandbox.apiUrl}/console/upload`, {
      method: 'PUT',
      headers: { 'x-upload-url': 'https://example.com/in?X-Amz-Signature=0' },
      body: 'x',
    });
    expect(relayed.status).toBe(400);
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor(WAIT);
    await page.getByText(/jobs?, newest first/).waitFor(WAIT);
    // The list reads again on its own: a job submitted now appears without a reload.
    const id = `${run}-live`;
    await api.submit('1,2\n', { contentType: 'text/csv', inferenceId: id });
    await page.getByRole('link', { name: id, exact: true }).waitFor(WAIT);
    await accessible(page, 'the jobs list');
    await shot(page, 'jobs');
  }, 120_000);

  it('makes a job of a dropped file, which reaches COMPLETED with its result as a table', async () => {
    await page.goto(consoleUrl('#/submit'));
    await page.getByRole('heading', { name: 'Submit', level: 1 }).waitFor(WAIT);
    await accessible(page, 'submit');
    await shot(page, 'submit');
    const id = `${run}-csv`;
    await page.getByLabel('Job id').fill(id);
    // The drop zone's file input, as a drop of a file on it hands the file over.
    await page.locator('#file-input').setInputFiles({
      name: 'scores.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('0.5,1.5,2.5\n-3,-2,-1\n10,20,30\n'),
    });
    await page.waitForURL(`**/console#/jobs/${id}`, WAIT);
    await page.locator('.summary .status', { hasText: 'Completed' }).waitFor(WAIT);
    const rows = page.locator('.preview table tbody tr');
    await rows.nth(2).waitFor(WAIT);
    expect(await rows.count()).toBe(3);
    expect((await api.get(id)).inputContentType).toBe('text/csv');
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    expect(await page.locator('.timeline li').allTextContents()).toEqual([
      expect.stringMatching(/^Submitted/),
      expect.stringMatching(/^Completed/),
    ]);
    await accessible(page, 'a completed job');
    await shot(page, 'job');
  }, 120_000);

  it('previews an image result inline', async () => {
    // The demo model answers an image asked back in its own type with the image (model.ts).
    const id = `${run}-image`;
    await api.submit(png(40, 30), {
      contentType: 'image/png',
      accept: 'image/png',
      inferenceId: id,
    });
    await page.goto(consoleUrl(`#/jobs/${id}`));
    const img = page.locator('.preview img.result-image');
    await img.waitFor(WAIT);
    // Decoded by the browser from the blob: URL the page made (CSP img-src blob:).
    await expect
      .poll(
        () =>
          img.evaluate((el) => {
            const image = el as unknown as { naturalWidth: number; naturalHeight: number };
            return [image.naturalWidth, image.naturalHeight];
          }),
        WAIT,
      )
      .toEqual([40, 30]);
    expect(await img.getAttribute('src')).toMatch(/^blob:/);
    await accessible(page, 'an image result');
    await shot(page, 'image');
  }, 120_000);

  it('cancels a running job and a running batch from their pages', async () => {
    // Admission is off on the shared sandbox: a job is with the model at once, so a cancel marks
    // it and it ends CANCELLED when the model answers (checked at a phone's width below). The
    // delays hold the shared endpoint's two workers for 8 s, not longer.
    await api.submit('1,2\n', {
      contentType: 'text/csv',
      inferenceId: cancelId,
      customAttributes: 'delay_ms=8000',
    });
    const batch = await api.submitBatch([
      { body: '1,1\n', contentType: 'text/csv', customAttributes: 'delay_ms=8000' },
    ]);
    cancelledBatch = batch.batchId;
    await page.goto(consoleUrl(`#/jobs/${cancelId}`));
    const cancel = page.getByRole('button', { name: 'Cancel', exact: true });
    await cancel.waitFor(WAIT);
    expect(await page.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    await cancel.click();
    await page
      .locator('.timeline li', {
        hasText: 'Cancel requested: it ends Cancelled when SageMaker answers',
      })
      .waitFor(WAIT);
    await page.getByText('Cancel requested: SageMaker has it and cannot stop it').waitFor(WAIT);
    expect(await cancel.count()).toBe(0);
    expect((await api.get(cancelId)).cancelRequested).toBe(true);
    await accessible(page, 'a cancel requested');
    await shot(page, 'cancel-requested');

    // Its line submitted (with the model) before the cancel, so it ends cancelled.
    await expect.poll(async () => (await api.batch(batch.batchId)).counts.submitted, WAIT).toBe(1);
    await page.goto(consoleUrl(`#/batches/${batch.batchId}`));
    await page.getByRole('button', { name: 'Cancel the batch' }).click();
    await page.getByRole('button', { name: 'Cancel sent' }).waitFor(WAIT);
  }, 120_000);

  it('shows a failed job’s reason and body, and retries it from the keyboard', async () => {
    // The demo model fails an input of exactly FAIL as a crashing container does (model.ts).
    const id = `${run}-fail`;
    await api.submit('FAIL', { contentType: 'text/plain', inferenceId: id });
    await api.wait(id, { timeoutMs: 60_000 });
    await page.goto(consoleUrl(`#/jobs/${id}`));
    await page.locator('.failure-reason', { hasText: 'asked to FAIL' }).waitFor(WAIT);
    await page.locator('.failure-body', { hasText: 'RuntimeError: asked to FAIL' }).waitFor(WAIT);
    await accessible(page, 'a failed job');
    await shot(page, 'failed');

    const retry = page.getByRole('button', { name: 'Retry' });
    await retry.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/console#/jobs/${id}.2`, WAIT);
    await page.getByRole('link', { name: `Retry (attempt 2) of ${id}` }).waitFor(WAIT);
    // The same input fails again: the attempt ends FAILED and may be retried in turn.
    await page.locator('.summary .status', { hasText: 'Failed' }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Retry' }).waitFor(WAIT);
    expect((await api.get(id)).retriedBy).toBe(`${id}.2`);

    await page.getByRole('link', { name: `Retry (attempt 2) of ${id}` }).click();
    await page.getByRole('link', { name: 'Retried: attempt 2 (Failed)' }).waitFor(WAIT);
    await shot(page, 'retried');
  }, 120_000);

  it('follows a batch to its end: progress, counts and the manifest link', async () => {
    const batch = await api.submitBatch([
      { body: '1,2\n', contentType: 'text/csv' },
      { body: '3,4\n', contentType: 'text/csv' },
      { body: '{"a":1}', contentType: 'application/json' },
      { body: 'FAIL', contentType: 'text/plain' },
    ]);
    await page.goto(consoleUrl(`#/batches/${batch.batchId}`));
    await page.getByRole('link', { name: 'Download the results manifest' }).waitFor(WAIT);
    expect(await page.locator('#batch-progress').getAttribute('value')).toBe('100');
    expect(await page.locator('.count-completed dd').textContent()).toBe('3');
    expect(await page.locator('.count-failed dd').textContent()).toBe('1');
    await accessible(page, 'a batch');
    await shot(page, 'batch');
    await page.getByRole('link', { name: "The batch's jobs" }).click();
    await page.getByText('4 jobs').waitFor(WAIT);
    await page.getByRole('link', { name: `${batch.batchId}-4`, exact: true }).waitFor(WAIT);
  }, 120_000);

  it('filters by status and id, and opens a job by its id from the keyboard', async () => {
    await page.goto(consoleUrl('#/jobs'));
    const search = page.getByRole('searchbox', { name: 'Job id' });
    await search.fill(`${run}-`);
    await page.getByRole('link', { name: `${run}-csv`, exact: true }).waitFor(WAIT);
    await page.getByLabel('Status').selectOption('FAILED');
    await page.getByRole('link', { name: `${run}-fail`, exact: true }).waitFor(WAIT);
    await expect
      .poll(() => page.getByRole('link', { name: `${run}-csv`, exact: true }).count(), WAIT)
      .toBe(0);
    await search.fill(`${run}-csv`);
    await search.press('Enter');
    await page.waitForURL(`**/console#/jobs/${run}-csv`, WAIT);
    await page.getByRole('heading', { name: `${run}-csv`, level: 1 }).waitFor(WAIT);
  }, 120_000);

  it('narrows the list and the activity to one endpoint with ?endpoint=', async () => {
    // The sandbox has one endpoint (demo-endpoint): the filter shows once one is chosen.
    await page.goto(consoleUrl(`#/jobs?q=${run}-csv&endpoint=other-endpoint`));
    const filter = page.getByLabel('Endpoint');
    await filter.waitFor(WAIT);
    await page.getByText('0 jobs, newest first').waitFor(WAIT);
    await filter.selectOption('demo-endpoint');
    await page.getByRole('link', { name: `${run}-csv`, exact: true }).waitFor(WAIT);
    expect(page.url()).toContain('endpoint=demo-endpoint');
    await filter.selectOption('');
    await expect.poll(() => page.url(), WAIT).not.toContain('endpoint=');
    await page.goto(consoleUrl('#/activity?endpoint=demo-endpoint'));
    await page.getByText('The last hour, minute by minute, over demo-endpoint.').waitFor(WAIT);
    expect(await page.getByLabel('Endpoint').inputValue()).toBe('demo-endpoint');
  }, 120_000);

  it('says the queue view is empty because admission is off', async () => {
    await page.goto(consoleUrl('#/jobs'));
    await page.getByRole('link', { name: 'Queue', exact: true }).click();
    await page.waitForURL('**/console#/queue', WAIT);
    await page.getByTestId('admission-off').waitFor(WAIT);
    await page.getByText('Queue control is off on this stack').waitFor();
    await accessible(page, 'the queue, admission off');
    await shot(page, 'queue-off');
  }, 120_000);

  it('reads at a phone’s width: every view, axe-clean, nothing wider than the window', async () => {
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    phone.on('pageerror', (e) => pageErrors.push(e.message));
    const views: [string, string, () => Promise<unknown>][] = [
      [
        'jobs',
        '#/jobs',
        () => phone.getByRole('link', { name: `${run}-csv`, exact: true }).waitFor(WAIT),
      ],
      ['job', `#/jobs/${run}-csv`, () => phone.locator('.preview table').waitFor(WAIT)],
      ['failed', `#/jobs/${run}-fail`, () => phone.locator('.failure-body').waitFor(WAIT)],
      ['image', `#/jobs/${run}-image`, () => phone.locator('.result-image').waitFor(WAIT)],
      [
        'cancelled',
        `#/jobs/${cancelId}`,
        () => phone.locator('.summary .status', { hasText: 'Cancelled' }).waitFor(WAIT),
      ],
      [
        'batch',
        `#/batches/${cancelledBatch}`,
        async () => {
          await phone.getByRole('link', { name: 'Download the results manifest' }).waitFor(WAIT);
          expect(await phone.locator('.count-cancelled dd').textContent()).toBe('1');
          expect(await phone.getByRole('button', { name: /^Cancel/ }).count()).toBe(0);
        },
      ],
      ['batches', '#/batches', () => phone.getByLabel('Batch id').waitFor(WAIT)],
      ['submit', '#/submit', () => phone.locator('#file-input').waitFor(WAIT)],
      ['queue', '#/queue', () => phone.getByTestId('admission-off').waitFor(WAIT)],
      [
        'activity',
        '#/activity',
        () => phone.getByTestId('times-plot').locator('canvas').waitFor(WAIT),
      ],
    ];
    try {
      for (const [name, hash, ready] of views) {
        await phone.goto(consoleUrl(hash));
        await ready();
        await fitsWidth(phone);
        await accessible(phone, `${name} at a phone width`);
        await shot(phone, `${name}-phone`);
      }
      // The charts follow the window: each canvas inside it, none left at a desktop width.
      for (const id of ['endings-plot', 'times-plot']) {
        const width = await phone
          .getByTestId(id)
          .locator('canvas')
          .evaluate((c) => c.getBoundingClientRect().width);
        expect(width, id).toBeLessThanOrEqual(390);
      }
      // The cancelled job is under its status in the list's filter.
      await phone.goto(consoleUrl(`#/jobs?status=CANCELLED&q=${cancelId}`));
      await phone.getByRole('link', { name: cancelId, exact: true }).waitFor(WAIT);
      expect(await phone.getByLabel('Status').inputValue()).toBe('CANCELLED');
      await phone.goto(consoleUrl(`#/jobs/${cancelId}`));
      await phone
        .locator('.timeline li', {
          hasText: 'Cancelled (SageMaker ran it; its result was not kept)',
        })
        .waitFor(WAIT);
    } finally {
      await phone.close();
    }
  }, 180_000);

  it('works through async-jobs console: the API forwarded, a large file through an upload URL', async () => {
    const proxy: ConsoleProxy = await startConsoleProxy({ api: sandbox.apiUrl });
    const p = await context.newPage();
    p.on('console', (m) => {
      if (m.type() === 'error') collect(m.text());
    });
    try {
      const res = await p.goto(proxy.url);
      expect(res?.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      await p.getByRole('link', { name: `${run}-csv`, exact: true }).waitFor(WAIT);
      await p.goto(`${proxy.url}#/submit`);
      const id = `${run}-large`;
      await p.getByLabel('Job id').fill(id);
      // Above the page's 4 MiB: POST /uploads, the PUT through the relay, POST /jobs?inputLocation=.
      await p.locator('#file-input').setInputFiles({
        name: 'large.bin',
        mimeType: 'application/octet-stream',
        buffer: Buffer.alloc(4 * 1024 * 1024 + 10, 7),
      });
      await p.waitForURL(`**/console#/jobs/${id}`, WAIT);
      await p.locator('.summary .status', { hasText: 'Completed' }).waitFor(WAIT);
      await p.locator('.preview pre', { hasText: '"bytes": 4194314' }).waitFor(WAIT);
      expect((await api.get(id)).inputLocation).toMatch(/^s3:\/\//);
      await shot(p, 'proxy-large');
    } finally {
      await p.close();
      await proxy.close();
    }
  }, 120_000);

  it('charts the last hour: endings per minute and submit-to-result, from the keyboard', async () => {
    const ids = [1, 2, 3].map((i) => `${run}-activity-${i}`);
    for (const id of ids)
      await api.submit(`${id}\n`, { contentType: 'text/plain', inferenceId: id });
    for (const id of ids) await api.wait(id, { timeoutMs: 60_000 });
    await page.goto(consoleUrl('#/jobs'));
    const nav = page.getByRole('link', { name: 'Activity', exact: true });
    await nav.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL('**/console#/activity', WAIT);
    await page.getByRole('heading', { name: 'Activity', level: 1 }).waitFor(WAIT);
    const endings = page.getByTestId('endings-plot');
    const times = page.getByTestId('times-plot');
    // Both charts drawn (uPlot's canvas) over figures that count this run's completed jobs.
    await endings.locator('canvas').waitFor(WAIT);
    await times.locator('canvas').waitFor(WAIT);
    await expect
      .poll(
        async () =>
          Number(
            /(\d+) completed/.exec((await endings.getAttribute('aria-label')) ?? '')?.[1] ?? 0,
          ),
        WAIT,
      )
      .toBeGreaterThanOrEqual(ids.length);
    await expect
      .poll(() => times.getAttribute('aria-label'), WAIT)
      .toMatch(/p50 \d+ ms, p99 \d+ ms/);
    // The heading has the focus after the navigation; the first chart is the next stop.
    await page.keyboard.press('Tab');
    expect(await page.evaluate("document.activeElement?.getAttribute('data-testid')")).toBe(
      'endings-plot',
    );
    await page.getByText('The figures as a table').click();
    await page.locator('.activity-table tbody tr').first().waitFor(WAIT);
    await accessible(page, 'activity');
    await fitsWidth(page);
    await shot(page, 'activity');
  }, 180_000);

  it('met no CSP refusal and no script error on any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
