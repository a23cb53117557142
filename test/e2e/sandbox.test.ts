import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, QueueDoesNotExist, SQSClient } from '@aws-sdk/client-sqs';
import { triggerInferenceId } from '../../src/lib/domain/trigger.ts';
import { EMULATOR_CREDENTIALS } from '../../src/local/emulators.ts';
import { runModel } from '../../src/local/model.ts';
import { LOCAL } from '../../src/local/names.ts';
import { PROJECT_DIR, serverlessBin } from '../../src/local/paths.ts';
import { localTaskToken } from '../../src/local/sfn.ts';
import type { Sandbox } from '../../src/local/sandbox.ts';
import { waitFor } from '../support/lambda.ts';
import { sharedSandbox } from '../support/shared-sandbox.ts';

/*
 * The sandbox as a user runs it (`npm start`), on free ports, driven over real HTTP: the real
 * handlers in the sandbox's Lambda runtime, the local SageMaker runtime, local SNS delivery, the
 * emulators. The suite's shared sandbox (test/global/shared-sandbox.ts): other files may run jobs on
 * it too.
 */

let sandbox: Sandbox | undefined;
const lines: string[] = [];

beforeAll(async () => {
  // Automatic retries on, for failures no other test here makes (a JSON input that does not
  // parse), after 2 s: the retry test swaps the input in the meantime.
  sandbox = await sharedSandbox(lines, {
    autoRetry: { maxAttempts: 2, on: 'not valid JSON', baseDelaySeconds: 2 },
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
  it("acknowledges SageMaker's test notification on both topics at start; nothing dead-lettered", async () => {
    const ignored = () => lines.filter((l) => l.includes('"message":"test notification ignored"'));
    await waitFor(() => ignored().length >= 2 || undefined, {
      timeoutMs: 30_000,
      what: 'both handlers to log the test notification as ignored',
    });
    expect(lines.some((l) => l.startsWith('[sagemaker] test notification published'))).toBe(true);
    // Every start and every handler would print the SDK's Node 20 notice: the sandbox quiets it.
    expect(lines.filter((l) => l.includes('NodeVersionSupportWarning'))).toEqual([]);
    const topics = ignored().map((l) => /"topicArn":"([^"]+)"/.exec(l)?.[1]);
    expect(topics.sort()).toEqual([LOCAL.errorTopicArn, LOCAL.successTopicArn]);
    await sandbox!.sns.idle();
    expect(sandbox!.sns.deadLetters).toEqual([]);
    expect(sandbox!.sqs.messages).toEqual([]);
  });

  it('sends a notification that can never succeed to the refused queue once, with its reason', async () => {
    await sandbox!.sns.publish(LOCAL.successTopicArn, 'this is not a SageMaker message');
    const letter = await waitFor(() => sandbox!.sqs.messages[0], {
      timeoutMs: 30_000,
      what: 'the refused notification in the local SQS',
    });
    expect(letter).toMatchObject({
      queueName: LOCAL.refusedQueue,
      body: 'this is not a SageMaker message',
      attributes: { refusedReason: 'message is not JSON', sourceTopicArn: LOCAL.successTopicArn },
    });
    await sandbox!.sns.idle();
    // Acknowledged, not retried: the SNS delivery's dead-letter list (failed invocations) is empty.
    expect(sandbox!.sns.deadLetters).toEqual([]);
    expect(sandbox!.sqs.messages).toHaveLength(1);
    expect(lines.some((l) => l.startsWith('[sqs] refused notification dead-lettered'))).toBe(true);
  });

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

  it('starts a job from a file dropped under drop/ in the input bucket', async () => {
    const s3 = new S3Client({
      region: LOCAL.region,
      credentials: EMULATOR_CREDENTIALS,
      endpoint: sandbox!.s3Url,
      forcePathStyle: true,
    });
    onTestFinished(() => s3.destroy());
    const key = `${LOCAL.triggerPrefix}scores ${process.pid}.csv`;
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: LOCAL.inputBucket,
        Key: key,
        Body: Buffer.from('5,6\n'),
        ContentType: 'text/csv',
      }),
    );
    const id = triggerInferenceId({ bucket: LOCAL.inputBucket, key, etag: put.ETag });
    const done = await waitFor(
      async () => {
        const { status, body } = await job(id);
        return status === 200 && body.status !== 'IN_PROGRESS' ? body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `the job of ${key}` },
    );
    expect(done).toMatchObject({
      status: 'COMPLETED',
      inputLocation: `s3://${LOCAL.inputBucket}/${key}`,
      inputContentType: 'text/csv',
      result: expected('5,6\n', 'text/csv'),
    });
    expect(lines.some((l) => l.includes('[trigger] object delivered to onInputObject'))).toBe(true);
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

  it('answers as the deployed API: 415 for a malformed Content-Type, the default type, {"message"} 404s, /openapi.yaml', async () => {
    // serverless-offline, the sandbox's earlier runtime, answered these itself: its 400 "Invalid
    // content-type header", a missing type stored as application/json, its own not-found body
    // (src/local/api-gateway.ts).
    for (const contentType of ['text/ csv', 'banana']) {
      const refused = await submit('1', contentType);
      expect(refused.status, contentType).toBe(415);
      expect(refused.job).toEqual({
        message: 'Content-Type must be a valid media type, such as text/csv',
      });
    }
    const untyped = await fetch(`${api()}/jobs?inferenceId=e2e-untyped`, {
      method: 'POST',
      body: new Uint8Array([1, 2, 3]),
    });
    expect(untyped.status).toBe(202);
    expect((await job('e2e-untyped')).body.inputContentType).toBe('application/octet-stream');
    for (const [method, path] of [
      ['GET', '/nowhere'],
      ['DELETE', '/jobs/e2e-untyped'],
    ]) {
      const res = await fetch(`${api()}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toEqual({ message: 'Not Found' });
    }
    const doc = await fetch(`${api()}/openapi.yaml`);
    expect(doc.status).toBe(200);
    expect(doc.headers.get('content-type')).toBe('application/yaml');
    expect(await doc.text()).toBe(await readFile(join(PROJECT_DIR, 'openapi.yaml'), 'utf8'));
  });

  it('a job held by delay_ms is IN_PROGRESS until the model finishes', async () => {
    await submit('3,4\n', 'text/csv', {
      inferenceId: 'e2e-slow',
      customAttributes: 'delay_ms=1500',
    });
    expect((await job('e2e-slow')).body.status).toBe('IN_PROGRESS');
    expect((await finished('e2e-slow')).status).toBe('COMPLETED');
  });

  // This test's own timeout is its clock: a wait=20 held to its end would run past it. How long
  // a wait holds is the unit tests' (test/unit/lib/app/wait.test.ts, on a clock they move).
  it('?wait= answers after N with the running job, and the moment the job completes', async () => {
    await submit('6,7\n', 'text/csv', {
      inferenceId: 'e2e-wait',
      customAttributes: 'delay_ms=2500',
    });
    const ask = async (query: string) => {
      const res = await fetch(`${api()}/jobs/e2e-wait?${query}`);
      return { status: res.status, body: (await res.json()) as JobBody };
    };
    const held = await ask('wait=1');
    expect(held.body.status).toBe('IN_PROGRESS');
    // The model finishes about 1.5 s into this call: answered then, well before the 20 s.
    const done = await ask('wait=20');
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'COMPLETED', result: expected('6,7\n', 'text/csv') });
    expect((await ask('wait=21')).status).toBe(400);
  }, 15_000);

  it('takes a large input through POST /uploads and serves the result and the listing', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => `${i % 10},${i % 3},${i % 7}`).join('\n');
    const upload = (await (
      await fetch(
        `${api()}/uploads?contentType=text/csv&contentLength=${Buffer.byteLength(rows)}`,
        {
          method: 'POST',
        },
      )
    ).json()) as { uploadUrl: string; inputLocation: string; headers: Record<string, string> };
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

  it('announces the outcome on the local bus and POSTs a signed webhook, retried', async () => {
    const { createServer } = await import('node:http');
    const { createHmac } = await import('node:crypto');
    const got: { status: number; body: string; headers: Record<string, unknown> }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        // The receiver is down for the first two attempts.
        const status = got.length < 2 ? 503 : 200;
        got.push({ status, body, headers: req.headers });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    onTestFinished(() => new Promise<void>((r) => receiver.close(() => r())));
    const port = (receiver.address() as { port: number }).port;
    const hook = `http://127.0.0.1:${port}/hook`;
    await submit('5,5\n', 'text/csv', { inferenceId: 'e2e-hook', callbackUrl: hook });
    expect((await finished('e2e-hook')).status).toBe('COMPLETED');
    const delivered = await waitFor(() => got.find((g) => g.status === 200), {
      timeoutMs: 20_000,
      what: 'the webhook',
    });
    expect(got.length).toBe(3);
    // Signed with this receiver's key: derived from the sandbox master and the hook's origin.
    const key = createHmac('sha256', 'local-webhook-secret')
      .update(`async-jobs-webhook-v1:http://127.0.0.1:${port}`)
      .digest('hex');
    const ts = String(delivered.headers['x-async-jobs-timestamp']);
    const mac = createHmac('sha256', key).update(`${ts}.${delivered.body}`).digest('hex');
    expect(delivered.headers['x-async-jobs-signature']).toBe(`v1=${mac}`);
    // One delivery id for the three attempts of the one event.
    const ids = new Set(got.map((g) => g.headers['x-async-jobs-delivery-id']));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[A-Za-z0-9-]+$/);
    expect(JSON.parse(delivered.body)).toMatchObject({
      type: 'JobCompleted',
      job: { inferenceId: 'e2e-hook', status: 'COMPLETED', callbackUrl: hook },
    });
    const captured = sandbox!.eventBridge.events.filter((e) => e.detail.inferenceId === 'e2e-hook');
    expect(captured.map((e) => e.detailType)).toEqual(['JobCompleted']);
  });

  it('serverless invoke local reaches the sandbox from a plain shell; the result shows through GET', async () => {
    const workFolder = `.sandbox/esbuild-invoke-${sandbox!.ports.http}`;
    onTestFinished(() => rm(join(PROJECT_DIR, workFolder), { recursive: true, force: true }));
    const invoked = await promisify(execFile)(
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
        // As a user runs it, in a plain shell: no AWS variables, only the sandbox's port numbers
        // (the test's sandbox is on free ports; a user's is on the defaults and needs none).
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          ...Object.fromEntries(
            Object.entries(sandbox!.env).filter(([k]) => k === 'PORT' || k.startsWith('SANDBOX_')),
          ),
          SLS_ESBUILD_WORK_FOLDER: workFolder,
          SLS_TELEMETRY_DISABLED: '1',
        },
        timeout: 120_000,
      },
    );
    const { status, body } = await job('sample-success-1');
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'COMPLETED', result: '{"scores":[0.62,0.91]}' });
    // The SDK's Node 20 notice stays out of a local invoke (Lambda itself runs Node 22).
    expect(invoked.stderr + invoked.stdout).not.toContain('NodeVersionSupportWarning');
  }, 150_000);
});

describe('the async-jobs CLI against the sandbox', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'async-jobs-cli-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Runs the CLI; resolves with its exit code and output, whatever the code. */
  function cli(args: string[], env: Record<string, string> = {}, timeout = 60_000) {
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(PROJECT_DIR, 'bin', 'async-jobs.mjs'), ...args],
        { env: { ...process.env, ASYNC_JOBS_API: api(), ...env }, timeout },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  it('submit --wait prints the finished job and exits 0; result -o writes the output', async () => {
    const file = join(dir, 'rows.csv');
    await writeFile(file, '1,2\n3,4\n');
    const run = await cli(['submit', file, '--id', 'cli-ok', '--wait']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ inferenceId: 'cli-ok', status: 'COMPLETED' });
    expect(run.stderr).toMatch(/cli-ok: COMPLETED after [\d.]+ s/);
    const out = join(dir, 'out.csv');
    expect((await cli(['result', 'cli-ok', '-o', out])).code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(expected('1,2\n3,4\n', 'text/csv'));
  });

  it('submits a folder of 50 files as one batch; --wait --out writes 50 results named after them', async () => {
    const folder = join(dir, 'many');
    await mkdir(join(folder, 'sub'), { recursive: true });
    // Small files ride in the manifest; the last, above 48 KiB, goes through POST /uploads.
    const inputs = Array.from({ length: 50 }, (_, i) => ({
      file: join(folder, i % 2 ? 'sub' : '', `rows-${i}.csv`),
      body: i === 49 ? `${i},1\n`.repeat(12_000) : `${i},${i % 7}\n`,
    }));
    for (const { file, body } of inputs) await writeFile(file, body);
    const out = join(dir, 'many-out');
    // 50 jobs through the local runtime (two at a time), then 50 downloads: longer than the rest.
    const run = await cli(['submit', folder, '--wait', '--out', out], {}, 110_000);
    expect(run.stderr).toMatch(/batch b-[0-9a-f]{24}: 50 files submitted/);
    expect(run.stderr).toContain('uploaded 1 of 1 files');
    expect(run.stderr).toMatch(/async-jobs batch status b-/);
    expect(run.stderr).toMatch(/50 done, 0 failed, 0 in progress of 50/);
    expect(run.code).toBe(0);
    const batchId = run.stdout.trim();
    for (const { file, body } of inputs) {
      const name = `${file
        .slice(folder.length + 1)
        .split('/')
        .join('__')}.out`;
      expect(await readFile(join(out, name), 'utf8')).toBe(expected(body, 'text/csv'));
    }
    const status = await cli(['batch', 'status', batchId]);
    expect(JSON.parse(status.stdout)).toMatchObject({ batchId, state: 'COMPLETED' });
  }, 120_000);

  it('exits 1 when the job fails, with the reason', async () => {
    const file = join(dir, 'fail.txt');
    await writeFile(file, 'FAIL');
    const run = await cli(['submit', file, '--wait']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/FAILED after .*ClientError/);
  });

  it('sends a large input through a presigned upload, with a progress bar', async () => {
    const file = join(dir, 'big.csv');
    await writeFile(file, Array.from({ length: 30_000 }, (_, i) => `${i % 5},${i % 3}`).join('\n'));
    const run = await cli(['submit', file, '--id', 'cli-big', '--wait'], {
      ASYNC_JOBS_UPLOAD_THRESHOLD: '1024',
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('upload [##############################] 100%');
    const job = JSON.parse(run.stdout) as { inputLocation: string };
    expect(job.inputLocation).toContain('/inputs/uploads/');
    const out = join(dir, 'big.out');
    expect((await cli(['result', 'cli-big', '-o', out])).code).toBe(0);
    expect((await readFile(out, 'utf8')).split('\n').filter(Boolean)).toHaveLength(30_000);
    const list = await cli(['list', '--status', 'completed', '--limit', '100']);
    expect(list.stdout).toContain('cli-big\tCOMPLETED');
  });

  it('says clearly what is wrong: unknown id, wrong URL, no credentials', async () => {
    const unknown = await cli(['status', 'cli-nobody']);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('no job cli-nobody');
    const wrong = await cli(['status', 'x', '--api', 'http://127.0.0.1:1']);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('cannot reach the API at http://127.0.0.1:1');
    const unsigned = await cli(
      ['status', 'x', '--api', 'https://abc123.execute-api.us-east-1.amazonaws.com'],
      {
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_PROFILE: '',
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
        AWS_CONFIG_FILE: join(dir, 'none'),
        // Never reach for the instance metadata service from a test.
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
        AWS_WEB_IDENTITY_TOKEN_FILE: '',
      },
    );
    expect(unsigned.code).toBe(3);
    expect(unsigned.stderr).toContain('no AWS credentials');
    expect((await cli(['frobnicate'])).code).toBe(2);
  });
});

describe('retrying failed jobs through the sandbox', () => {
  async function retry(
    id: string,
  ): Promise<{ status: number; location: string | null; body: JobBody }> {
    const res = await fetch(`${api()}/jobs/${encodeURIComponent(id)}/retry`, { method: 'POST' });
    return {
      status: res.status,
      location: res.headers.get('location'),
      body: (await res.json()) as JobBody,
    };
  }

  /** Replaces a job's stored input: the model then answers the next attempt differently. */
  async function replaceInput(id: string, body: string, contentType: string): Promise<void> {
    const s3 = new S3Client({
      region: LOCAL.region,
      endpoint: sandbox!.s3Url,
      forcePathStyle: true,
      credentials: EMULATOR_CREDENTIALS,
    });
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: LOCAL.inputBucket,
          Key: `inputs/${id}`,
          Body: body,
          ContentType: contentType,
        }),
      );
    } finally {
      s3.destroy();
    }
  }

  it('POST /jobs/{id}/retry makes <id>.2 from the same input; 409 once nothing has failed', async () => {
    await submit('FAIL', 'text/plain', { inferenceId: 'e2e-retry' });
    expect((await finished('e2e-retry')).status).toBe('FAILED');
    await replaceInput('e2e-retry', 'fixed', 'text/plain');
    const res = await retry('e2e-retry');
    expect(res.status).toBe(202);
    expect(res.location).toBe('/jobs/e2e-retry.2');
    expect(res.body).toMatchObject({
      inferenceId: 'e2e-retry.2',
      status: 'IN_PROGRESS',
      retryOf: 'e2e-retry',
      attempt: 2,
      inputContentType: 'text/plain',
    });
    const done = await finished('e2e-retry.2');
    expect(done.status).toBe('COMPLETED');
    expect(done.result).toBe(expected('fixed', 'text/plain'));
    const original = await job('e2e-retry');
    expect(original.body).toMatchObject({
      status: 'FAILED',
      attempts: 2,
      retriedBy: 'e2e-retry.2',
    });
    for (const id of ['e2e-retry.2', 'e2e-retry']) {
      const again = await retry(id);
      expect(again.status).toBe(409);
      expect(Object.keys(again.body)).toEqual(['message']);
    }
    expect((await retry('e2e-nobody')).status).toBe(404);
  });

  it('retries automatically after the backoff, and the events say it took 2 attempts', async () => {
    await submit('{"not json', 'application/json', { inferenceId: 'e2e-auto' });
    const scheduled = await waitFor(
      () =>
        sandbox!.sqs.messages.find(
          (m) => m.queueName === LOCAL.retryQueue && m.body.includes('"e2e-auto"'),
        ),
      { timeoutMs: 30_000, intervalMs: 10, what: 'the automatic retry of e2e-auto to be queued' },
    );
    expect(scheduled.delaySeconds).toBe(2);
    expect(JSON.parse(scheduled.body)).toEqual({ inferenceId: 'e2e-auto', attempt: 1 });
    // Within the 2 s the retry waits: the next attempt reads a good input.
    await replaceInput('e2e-auto', '{"a":1}', 'application/json');
    const done = await finished('e2e-auto.2');
    expect(done).toMatchObject({ status: 'COMPLETED', retryOf: 'e2e-auto', attempt: 2 });
    expect((await job('e2e-auto')).body).toMatchObject({
      status: 'FAILED',
      retriedBy: 'e2e-auto.2',
    });
    const outcomes = await waitFor(
      () => {
        const found = sandbox!.eventBridge.events.filter((e) =>
          String(e.detail.inferenceId).startsWith('e2e-auto'),
        );
        return found.length >= 2 ? found : undefined;
      },
      { timeoutMs: 30_000, what: 'both outcome events of e2e-auto' },
    );
    expect(
      outcomes.map((e) => [
        e.detailType,
        e.detail.inferenceId,
        e.detail.attempt,
        e.detail.finalAttempt,
      ]),
    ).toEqual([
      ['JobFailed', 'e2e-auto', 1, false],
      ['JobCompleted', 'e2e-auto.2', 2, true],
    ]);
    // Exactly one retry was queued for the one failure.
    expect(sandbox!.sqs.messages.filter((m) => m.queueName === LOCAL.retryQueue)).toHaveLength(1);
  });
});

describe('Step Functions callbacks through the sandbox', () => {
  const callsOf = (token: string) =>
    waitFor(
      () => {
        const calls = sandbox!.stepFunctions.calls.filter((c) => c.taskToken === token);
        return calls.length > 0 ? calls : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: `a callback for ${token}` },
    );
  const settled = (id: string) =>
    waitFor(
      async () => {
        const { body } = await job(id);
        const cb = body.taskCallback as { status: string; detail?: string } | undefined;
        return cb && cb.status !== 'PENDING' ? { body, cb } : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: `the callback of ${id} to settle` },
    );

  it('POST /jobs?taskToken= reports a completed job with SendTaskSuccess and its record', async () => {
    // Well-formed (base64, as Step Functions issues them), with the characters a query must encode.
    const token = 'ZTJlLXRva2VuLW9r+/8=';
    const sent = await submit('1,2\n', 'text/csv', { inferenceId: 'e2e-sfn-ok', taskToken: token });
    expect(sent.status).toBe(202);
    expect(JSON.stringify(sent.job)).not.toContain(token);
    expect(sent.job.taskCallback).toMatchObject({ status: 'PENDING' });
    const [call] = await callsOf(token);
    expect(call).toMatchObject({
      operation: 'SendTaskSuccess',
      answer: 'ok',
      output: {
        inferenceId: 'e2e-sfn-ok',
        status: 'COMPLETED',
        result: expected('1,2\n', 'text/csv'),
      },
    });
    const { body, cb } = await settled('e2e-sfn-ok');
    expect(cb).toMatchObject({ status: 'SENT', detail: 'SendTaskSuccess' });
    expect(JSON.stringify(body)).not.toContain(token);
    const event = sandbox!.eventBridge.events.find((e) => e.detail.inferenceId === 'e2e-sfn-ok');
    expect(event?.detail.hasTaskToken).toBe(true);
    expect(JSON.stringify(event)).not.toContain(token);
  });

  it('reports a failed job with SendTaskFailure, and records an expired token once, unretried', async () => {
    const failing = localTaskToken('e2e-token-fail');
    const late = localTaskToken('e2e-token-late');
    sandbox!.stepFunctions.expire(late);
    await submit('FAIL', 'text/plain', { inferenceId: 'e2e-sfn-fail', taskToken: failing });
    await submit('3,4\n', 'text/csv', { inferenceId: 'e2e-sfn-late', taskToken: late });
    const [failure] = await callsOf(failing);
    expect(failure).toMatchObject({
      operation: 'SendTaskFailure',
      error: 'AsyncJobs.JobFailed',
      answer: 'ok',
    });
    expect(failure!.cause).toBe((await finished('e2e-sfn-fail')).failureReason);
    const { cb } = await settled('e2e-sfn-late');
    expect(cb).toMatchObject({ status: 'EXPIRED', detail: 'TaskTimedOut' });
    await sandbox!.eventBridge.idle();
    expect(sandbox!.stepFunctions.calls.filter((c) => c.taskToken === late)).toHaveLength(1);
  });

  it('records a malformed token as INVALID: the stand-in answers InvalidToken, as Step Functions does', async () => {
    const token = 'e2e-not-a-step-functions-token';
    await submit('7,8\n', 'text/csv', { inferenceId: 'e2e-sfn-invalid', taskToken: token });
    const [call] = await callsOf(token);
    expect(call).toMatchObject({ operation: 'SendTaskSuccess', answer: 'InvalidToken' });
    const { cb } = await settled('e2e-sfn-invalid');
    expect(cb).toMatchObject({ status: 'INVALID', detail: 'InvalidToken' });
    await sandbox!.eventBridge.idle();
    expect(sandbox!.stepFunctions.calls.filter((c) => c.taskToken === token)).toHaveLength(1);
  });

  it('startJob takes a direct invocation (no HTTP), as a waitForTaskToken task makes it', async () => {
    const token = localTaskToken('e2e-token-direct');
    const res = await fetch(
      `${sandbox!.lambdaUrl}/2015-03-31/functions/async-jobs-local-startJob/invocations`,
      {
        method: 'POST',
        body: JSON.stringify({
          taskToken: token,
          inferenceId: 'e2e-sfn-direct',
          body: '5,6\n',
          contentType: 'text/csv',
        }),
      },
    );
    expect(res.headers.get('x-amz-function-error')).toBeNull();
    const record = (await res.json()) as JobBody;
    expect(record.inferenceId).toBe('e2e-sfn-direct');
    expect(record.taskCallback).toBeDefined();
    expect(JSON.stringify(record)).not.toContain(token);
    const [call] = await callsOf(token);
    expect(call).toMatchObject({
      operation: 'SendTaskSuccess',
      output: { inferenceId: 'e2e-sfn-direct', result: expected('5,6\n', 'text/csv') },
    });
  });
});

describe('batches through the sandbox', () => {
  it('POST /batches runs 5 lines through the local batch queue: exact counts, manifest, jobs, BatchCompleted', async () => {
    const manifest = [1, 2, 3, 4, 5]
      .map((n) => JSON.stringify({ body: `${n},${n + 1}\n`, contentType: 'text/csv' }))
      .join('\n');
    const res = await fetch(`${api()}/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: manifest,
    });
    expect(res.status).toBe(202);
    const { batchId } = (await res.json()) as { batchId: string };
    const view = await waitFor(
      async () => {
        const b = (await (await fetch(`${api()}/batches/${batchId}`)).json()) as {
          state: string;
          counts: Record<string, number>;
          manifestUrl?: string;
        };
        return b.state === 'COMPLETED' ? b : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `batch ${batchId} to complete` },
    );
    expect(view.counts).toEqual({
      expected: 5,
      submitted: 5,
      inProgress: 0,
      completed: 5,
      failed: 0,
      refused: 0,
      cancelled: 0,
      expired: 0,
      pending: 0,
    });
    const outputs = (await (await fetch(view.manifestUrl!)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; status: string; outputLocation?: string });
    expect(outputs.map((o) => [o.line, o.status])).toEqual(
      [1, 2, 3, 4, 5].map((n) => [n, 'COMPLETED']),
    );
    expect(outputs.every((o) => o.outputLocation?.startsWith(`s3://${LOCAL.outputBucket}/`))).toBe(
      true,
    );
    const listed = (await (await fetch(`${api()}/jobs?batchId=${batchId}`)).json()) as {
      jobs: { inferenceId: string; batchLine: number }[];
    };
    expect(listed.jobs.map((j) => j.batchLine)).toEqual([1, 2, 3, 4, 5]);
    const done = await waitFor(
      () =>
        sandbox!.eventBridge.events.find(
          (e) => e.detailType === 'BatchCompleted' && e.detail.batchId === batchId,
        ),
      { what: 'BatchCompleted on the local bus' },
    );
    expect(done.detail).toMatchObject({ batchId, state: 'COMPLETED' });
    expect(sandbox!.sqs.deadLetters).toEqual([]);
  });
});

describe('what a new user hit (issue 22)', () => {
  it("the README's batch example gives the scores it says", async () => {
    const readme = await readFile(join(PROJECT_DIR, 'README.md'), 'utf8');
    const printf = /printf '%s\\n' ((?:'[^']*'\s*)+)\|/.exec(readme);
    expect(printf, 'the batch example in README.md').not.toBeNull();
    const lines = [...printf![1]!.matchAll(/'([^']*)'/g)].map(
      (m) => JSON.parse(m[1]!) as { body: string; contentType?: string },
    );
    const said = /\/jobs\/\{id\}\/result: ([\d., ]+)$/m.exec(readme)?.[1]?.split(/,\s*/);
    const res = await fetch(`${api()}/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: lines.map((l) => `${JSON.stringify(l)}\n`).join(''),
    });
    expect(res.status).toBe(202);
    const { batchId } = (await res.json()) as { batchId: string };
    await waitFor(
      async () => {
        const b = (await (await fetch(`${api()}/batches/${batchId}`)).json()) as { state: string };
        return b.state === 'COMPLETED' || undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `batch ${batchId} to complete` },
    );
    const { jobs } = (await (await fetch(`${api()}/jobs?batchId=${batchId}`)).json()) as {
      jobs: { inferenceId: string; batchLine: number; status: string }[];
    };
    expect(jobs.map((j) => [j.batchLine, j.status])).toEqual(
      lines.map((_l, i) => [i + 1, 'COMPLETED']),
    );
    const results = await Promise.all(
      jobs.map(async (j) => (await fetch(`${api()}/jobs/${j.inferenceId}/result`)).text()),
    );
    // Scores, one per CSV row (not the size and SHA-256 an untyped body gets), as the README says.
    expect(results).toEqual(lines.map((l) => expected(l.body, l.contentType ?? '')));
    expect(results.map((r) => r.trim())).toEqual(said);
  });

  it('a body of 6 to 10 MB answers 413 {"message"}, the handler\'s own just under the limit', async () => {
    const post = (bytes: number) =>
      fetch(`${api()}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: Buffer.alloc(bytes, 0x61),
      });
    const before = lines.length;
    // Above submitJob's own limit, under Lambda's: the handler's 413, saying what to do.
    const handler = await post(6_250_000);
    expect(handler.status).toBe(413);
    expect(((await handler.json()) as { message: string }).message).toContain('inputLocation');
    // Above what a Lambda invoke takes (6 MiB), and above API Gateway's 10 MB quota.
    for (const bytes of [7 * 1024 * 1024, 9.5 * 1024 * 1024, 10 * 1024 * 1024 + 1]) {
      const res = await post(bytes);
      expect(res.status, `${bytes} bytes`).toBe(413);
      expect(await res.json()).toEqual({ message: 'Request Entity Too Large' });
    }
    // None of them was a failed integration (the 500 these answered before).
    const failed = lines.slice(before).filter((l) => l.includes('integration failed'));
    expect(failed.filter((l) => l.includes('"routeKey":"POST /jobs"'))).toEqual([]);
  });

  it('a query string over 10,240 bytes (or over Node\'s 16 KiB) answers 431 {"message"}', async () => {
    for (const size of [12_000, 20_000]) {
      const res = await fetch(`${api()}/jobs?status=COMPLETED&x=${'a'.repeat(size)}`);
      expect(res.status).toBe(431);
      expect(await res.json()).toEqual({ message: 'Request Header Fields Too Large' });
    }
  });

  it("the sandbox's SQS answers GetQueueUrl for its queues, QueueDoesNotExist for others", async () => {
    const client = new SQSClient({
      region: LOCAL.region,
      endpoint: sandbox!.sqs.url,
      credentials: EMULATOR_CREDENTIALS,
    });
    try {
      for (const name of [LOCAL.refusedQueue, LOCAL.retryQueue, LOCAL.batchQueue]) {
        const out = await client.send(new GetQueueUrlCommand({ QueueName: name }));
        expect(out.QueueUrl).toBe(sandbox!.sqs.queueUrl(name));
      }
      await expect(
        client.send(new GetQueueUrlCommand({ QueueName: 'no-such-queue' })),
      ).rejects.toBeInstanceOf(QueueDoesNotExist);
    } finally {
      client.destroy();
    }
  });
});
