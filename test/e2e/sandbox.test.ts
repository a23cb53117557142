import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { runModel } from '../../src/local/model.ts';
import { PROJECT_DIR, serverlessBin } from '../../src/local/paths.ts';
import { startSandbox, type Sandbox } from '../../src/local/sandbox.ts';
import { waitFor } from '../support/lambda.ts';
import { freePorts } from '../support/ports.ts';

/*
 * The sandbox as a user runs it (`npm start`), on free ports, driven over real HTTP: the real
 * handlers in serverless-offline, the local SageMaker runtime, local SNS delivery, the emulators.
 */

let sandbox: Sandbox | undefined;
const lines: string[] = [];

beforeAll(async () => {
  const [http, lambda, s3, dynamodb, sageMaker] = await freePorts(5);
  sandbox = await startSandbox({
    ports: { http: http!, lambda: lambda!, s3: s3!, dynamodb: dynamodb!, sageMaker: sageMaker! },
    log: (line) => lines.push(line),
  }).catch((err: unknown) => {
    console.error(lines.slice(-40).join('\n'));
    throw err;
  });
}, 180_000);

afterAll(async () => {
  await sandbox?.close();
});

const api = () => sandbox!.apiUrl;

interface JobBody {
  inferenceId: string;
  status: string;
  result?: string;
  resultEncoding?: string;
  failureReason?: string;
  [k: string]: unknown;
}

async function submit(
  body: string | Buffer,
  contentType: string,
  query: Record<string, string> = {},
): Promise<{ status: number; location: string | null; job: JobBody }> {
  const res = await fetch(`${api()}/jobs?${new URLSearchParams(query)}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  return {
    status: res.status,
    location: res.headers.get('location'),
    job: (await res.json()) as JobBody,
  };
}

async function job(id: string): Promise<{ status: number; body: JobBody }> {
  const res = await fetch(`${api()}/jobs/${encodeURIComponent(id)}`);
  return { status: res.status, body: (await res.json()) as JobBody };
}

async function finished(id: string): Promise<JobBody> {
  return waitFor(
    async () => {
      const { body } = await job(id);
      return body.status === 'COMPLETED' || body.status === 'FAILED' ? body : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `job ${id} to finish` },
  );
}

function expected(input: Buffer | string, contentType: string): string {
  return runModel(Buffer.from(input), contentType, undefined).body.toString('utf8');
}

describe('the sandbox over HTTP', () => {
  it('completes a CSV job with one score per row', async () => {
    const input = '1,2,3\n4,5,6\n-1,-2,-3\n';
    const res = await submit(input, 'text/csv', { inferenceId: 'e2e-csv' });
    expect(res.status).toBe(202);
    expect(res.location).toBe('/jobs/e2e-csv');
    expect(res.job.status).toBe('IN_PROGRESS');
    const done = await finished('e2e-csv');
    expect(done.status).toBe('COMPLETED');
    expect(done.result).toBe(expected(input, 'text/csv'));
  });

  it('completes a JSON job', async () => {
    const input = JSON.stringify({ text: 'hello', values: [1, 2, 3] });
    await submit(input, 'application/json', { inferenceId: 'e2e-json' });
    const done = await finished('e2e-json');
    expect(done.status).toBe('COMPLETED');
    expect(JSON.parse(done.result!)).toEqual(JSON.parse(expected(input, 'application/json')));
  });

  it('completes a binary job, the input passed through byte-exact', async () => {
    const input = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 7) % 256));
    await submit(input, 'application/octet-stream', { inferenceId: 'e2e-bin' });
    const done = await finished('e2e-bin');
    expect(done.status).toBe('COMPLETED');
    expect(done.result).toBe(expected(input, 'application/octet-stream'));
  });

  it('fails a FAIL input with the reason', async () => {
    await submit('FAIL', 'text/plain', { inferenceId: 'e2e-fail' });
    const done = await finished('e2e-fail');
    expect(done.status).toBe('FAILED');
    expect(done.failureReason).toMatch(/\S/);
  });

  it('answers a resubmitted id with 200 and the same job', async () => {
    const first = await submit('1,1\n', 'text/csv', { inferenceId: 'e2e-again' });
    const second = await submit('2,2\n', 'text/csv', { inferenceId: 'e2e-again' });
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.job.inferenceId).toBe('e2e-again');
    expect((await finished('e2e-again')).result).toBe(expected('1,1\n', 'text/csv'));
  });

  it('answers 404 for an unknown id and 400 for a bad one', async () => {
    const missing = await job('nobody-knows');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ message: 'no job nobody-knows' });
    const bad = await submit('1', 'text/csv', { inferenceId: '-bad id-' });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.job)).toEqual(['message']);
  });

  it('a job held by delay_ms is IN_PROGRESS until the model finishes', async () => {
    await submit('3,4\n', 'text/csv', {
      inferenceId: 'e2e-slow',
      customAttributes: 'delay_ms=1500',
    });
    expect((await job('e2e-slow')).body.status).toBe('IN_PROGRESS');
    expect((await finished('e2e-slow')).status).toBe('COMPLETED');
  });

  it('takes a large input through POST /uploads and serves the result and the listing', async () => {
    const upload = (await (
      await fetch(`${api()}/uploads?contentType=text/csv`, { method: 'POST' })
    ).json()) as { uploadUrl: string; inputLocation: string; headers: Record<string, string> };
    const rows = Array.from({ length: 20_000 }, (_, i) => `${i % 10},${i % 3},${i % 7}`).join('\n');
    expect(
      (await fetch(upload.uploadUrl, { method: 'PUT', headers: upload.headers, body: rows }))
        .status,
    ).toBe(200);
    const res = await fetch(
      `${api()}/jobs?inferenceId=e2e-upload&inputLocation=${encodeURIComponent(upload.inputLocation)}`,
      { method: 'POST', headers: { 'content-type': 'text/csv' } },
    );
    expect(res.status).toBe(202);
    expect((await finished('e2e-upload')).status).toBe('COMPLETED');
    const result = await fetch(`${api()}/jobs/e2e-upload/result`, { redirect: 'manual' });
    // 20,000 scores are above the inline limit: a redirect to a presigned URL on the local S3.
    expect(result.status).toBe(302);
    const download = await fetch(result.headers.get('location')!);
    expect((await download.text()).split('\n').filter(Boolean)).toHaveLength(20_000);
    const listing = (await (await fetch(`${api()}/jobs?status=COMPLETED&limit=100`)).json()) as {
      jobs: { inferenceId: string }[];
    };
    expect(listing.jobs.map((j) => j.inferenceId)).toContain('e2e-upload');
  });

  it('serverless invoke local reaches the sandbox; the result shows through GET', async () => {
    const workFolder = `.sandbox/esbuild-invoke-${sandbox!.ports.http}`;
    onTestFinished(() => rm(join(PROJECT_DIR, workFolder), { recursive: true, force: true }));
    await promisify(execFile)(
      process.execPath,
      [
        serverlessBin(),
        'invoke',
        'local',
        '-f',
        'onSuccess',
        '-p',
        'events/success.json',
        '--stage',
        'local',
      ],
      {
        cwd: PROJECT_DIR,
        env: {
          ...process.env,
          ...sandbox!.env,
          SLS_ESBUILD_WORK_FOLDER: workFolder,
          SLS_TELEMETRY_DISABLED: '1',
        },
        timeout: 120_000,
      },
    );
    const { status, body } = await job('sample-success-1');
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'COMPLETED', result: '{"scores":[0.62,0.91]}' });
  }, 150_000);
});
