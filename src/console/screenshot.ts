import { mkdir } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AsyncJobsClient } from '../client/index.ts';
import { startSandbox } from '../local/sandbox.ts';
import { launchChromium } from './chromium.ts';

/*
 * `npm run console:screenshot`: the README's picture of the console, made from a sandbox of its
 * own (free ports, in memory) with a few jobs of each kind: docs/console.png, at 1280x800.
 * `-- <folder>` writes every view there instead (jobs, job, failed job, batch, submit, queue,
 * phone width).
 */

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const folder = process.argv[2] ? resolve(process.argv[2]) : undefined;
const names = ['http', 'lambda', 's3', 'dynamodb', 'sageMaker', 'eventBridge', 'sqs', 'sfn'];
const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()])));
process.stdout.write('starting a sandbox for the screenshot ...\n');
const sandbox = await startSandbox({ ports, log: () => undefined });
const browser = await launchChromium().catch(async (err: unknown) => {
  await sandbox.close();
  throw err;
});
try {
  const api = new AsyncJobsClient(sandbox.apiUrl);
  const run = Date.now().toString(36);
  const csv = await api.submit('0.5,1.5,2.5\n-3,-2,-1\n10,20,30\n', {
    contentType: 'text/csv',
    inferenceId: `scores-${run}`,
  });
  await api.submit('{"text":"a cat on a mat","n":3}', {
    contentType: 'application/json',
    inferenceId: `caption-${run}`,
  });
  const failed = await api.submit('FAIL', {
    contentType: 'text/plain',
    inferenceId: `crash-${run}`,
  });
  const batch = await api.submitBatch(
    Array.from({ length: 6 }, (_, i) => ({ body: `${i},${i + 1}\n`, contentType: 'text/csv' })),
  );
  await api.submit('1,2\n', {
    contentType: 'text/csv',
    inferenceId: `slow-${run}`,
    customAttributes: 'delay_ms=60000',
  });
  for (const id of [csv.job.inferenceId, failed.job.inferenceId])
    await api.wait(id, { timeoutMs: 60_000 });
  for (
    let b = await api.batch(batch.batchId);
    b.state !== 'COMPLETED';
    b = await api.batch(batch.batchId)
  ) {
    await new Promise((r) => setTimeout(r, 250));
  }

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const shot = async (name: string) => {
    if (folder) await page.screenshot({ path: join(folder, `${name}.png`), fullPage: true });
  };
  if (folder) await mkdir(folder, { recursive: true });
  await page.goto(`${sandbox.apiUrl}/console`);
  await page.getByRole('link', { name: `crash-${run}` }).waitFor();
  await page.getByText(`slow-${run}`).waitFor();
  const readme = join(PROJECT_DIR, 'docs', 'console.png');
  if (!folder) await page.screenshot({ path: readme });
  await shot('jobs');
  await page.goto(`${sandbox.apiUrl}/console#/jobs/${csv.job.inferenceId}`);
  await page.locator('.preview table').waitFor();
  await shot('job');
  await page.goto(`${sandbox.apiUrl}/console#/jobs/${failed.job.inferenceId}`);
  await page.locator('.failure-body').waitFor();
  await shot('failed');
  await page.goto(`${sandbox.apiUrl}/console#/batches/${batch.batchId}`);
  await page.getByText('Download the results manifest').waitFor();
  await shot('batch');
  await page.goto(`${sandbox.apiUrl}/console#/submit`);
  await page.locator('.dropzone').waitFor();
  await shot('submit');
  // This sandbox runs with admission off (the default): the queue view says so.
  await page.goto(`${sandbox.apiUrl}/console#/queue`);
  await page.getByTestId('admission-off').waitFor();
  await shot('queue');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${sandbox.apiUrl}/console#/jobs`);
  await page.getByRole('link', { name: `crash-${run}` }).waitFor();
  await shot('jobs-phone');
  await page.goto(`${sandbox.apiUrl}/console#/jobs/${failed.job.inferenceId}`);
  await page.locator('.failure-body').waitFor();
  await shot('failed-phone');
  process.stdout.write(`${folder ? `screenshots in ${folder}` : `wrote ${readme}`}\n`);
} finally {
  await browser.close();
  await sandbox.close();
}
