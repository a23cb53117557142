import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { PROJECT_DIR } from '../../src/local/paths.ts';
import type { Sandbox } from '../../src/local/sandbox.ts';
import { waitFor } from '../support/lambda.ts';
import { startModelServer, status, type ModelServer } from '../support/model-server.ts';
import { startTestSandbox } from '../support/sandbox.ts';

/*
 * `npm start -- --model-url ...`: the sandbox with a SageMaker inference container (a stand-in on a
 * free port) behind the local endpoint, driven through the HTTP API and the real handlers.
 */

let sandbox: Sandbox | undefined;
let model: ModelServer;
const lines: string[] = [];

beforeAll(async () => {
  model = await startModelServer();
  sandbox = await startTestSandbox(lines, { modelUrl: model.url });
}, 180_000);

afterAll(async () => {
  await sandbox?.close();
  await model?.close();
});

interface JobBody {
  status: string;
  result?: string;
  failureReason?: string;
  outputContentType?: string;
}

async function runJob(id: string, body: string, contentType: string): Promise<JobBody> {
  const res = await fetch(`${sandbox!.apiUrl}/jobs?inferenceId=${id}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  expect(res.status).toBe(202);
  return waitFor(
    async () => {
      const job = (await (await fetch(`${sandbox!.apiUrl}/jobs/${id}`)).json()) as JobBody;
      return job.status === 'IN_PROGRESS' ? undefined : job;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `job ${id} to finish` },
  );
}

describe('the sandbox with --model-url', () => {
  it('published the TestNotification at start and pinged the container before taking work', () => {
    expect(lines.some((l) => l.startsWith('[sagemaker] test notification published'))).toBe(true);
    expect(lines.some((l) => l.startsWith('[sagemaker] model passed /ping'))).toBe(true);
    expect(model.pings).toBeGreaterThan(0);
  });

  it('runs a job on the container: its answer becomes the result', async () => {
    const done = await runJob('url-echo', 'bonjour', 'text/plain');
    expect(done).toMatchObject({ status: 'COMPLETED', result: 'bonjour' });
    expect(model.invocations.at(-1)!.headers).toMatchObject({
      'content-type': 'text/plain',
      'x-amzn-sagemaker-inference-id': 'url-echo',
    });
  });

  it('the CLI passes --custom-attributes through to the container', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'async-jobs-cli-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'input.txt');
    await writeFile(file, 'hello');
    await promisify(execFile)(
      process.execPath,
      [
        join(PROJECT_DIR, 'bin', 'async-jobs.mjs'),
        'submit',
        file,
        '--id',
        'url-attrs',
        '--custom-attributes',
        'tenant=acme;trace=1',
        '--wait',
        '--api',
        sandbox!.apiUrl,
      ],
      { cwd: PROJECT_DIR, timeout: 60_000 },
    );
    const seen = model.invocations.find(
      (i) => i.headers['x-amzn-sagemaker-inference-id'] === 'url-attrs',
    );
    expect(seen?.headers['x-amzn-sagemaker-custom-attributes']).toBe('tenant=acme;trace=1');
  });

  it("fails a job the container answers with a 500, with SageMaker's reason", async () => {
    model.behave(status(500, '{"error":"boom"}'));
    const done = await runJob('url-500', '{}', 'application/json');
    expect(done.status).toBe('FAILED');
    expect(done.failureReason).toMatch(
      /^ClientError: Received server error \(500\) from primary with message "\{"error":"boom"\}"/,
    );
  });

  it('the CLI says so when a listing has no jobs', async () => {
    // Every job above has finished: none is IN_PROGRESS.
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        join(PROJECT_DIR, 'bin', 'async-jobs.mjs'),
        'list',
        '--status',
        'in_progress',
        '--api',
        sandbox!.apiUrl,
      ],
      { cwd: PROJECT_DIR, timeout: 30_000 },
    );
    expect(stdout).toBe('');
    expect(stderr).toContain('no IN_PROGRESS jobs');
  });
});
