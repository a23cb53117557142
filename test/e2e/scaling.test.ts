import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_DIR } from '../../src/local/paths.ts';
import type { Sandbox } from '../../src/local/sandbox.ts';
import { waitFor } from '../support/lambda.ts';
import { startTestSandbox } from '../support/sandbox.ts';

/*
 * Issue 15: the sandbox with an endpoint that scales to zero (min 0, max 2, short start and idle
 * times), driven over HTTP and through the CLI: a job from zero waits while an instance starts and
 * says so, completes, and the endpoint drops back to zero; a burst scales out to the maximum and
 * back. Every scaling step publishes SageMaker's test notification, which the handlers ignore.
 */

const START_MS = 1_000;
const IDLE_MS = 400;
let sandbox: Sandbox | undefined;
let dir: string;
const lines: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'async-jobs-scaling-'));
  sandbox = await startTestSandbox(lines, {
    concurrency: 1,
    capacity: {
      minInstances: 0,
      maxInstances: 2,
      instanceStartMs: START_MS,
      scaleInIdleMs: IDLE_MS,
      backlogPerInstance: 2,
    },
  });
}, 180_000);

afterAll(async () => {
  await sandbox?.close();
  await rm(dir, { recursive: true, force: true });
});

const api = () => sandbox!.apiUrl;
const capacity = () => sandbox!.sageMaker.stats().capacity;
const steps = (event: string) => lines.filter((l) => l.startsWith(`[sagemaker] ${event} `));
const fields = (line: string) =>
  JSON.parse(line.slice(line.indexOf('{'))) as Record<string, number>;

interface JobBody {
  inferenceId: string;
  status: string;
  waitingForCapacity?: boolean;
}

async function job(id: string): Promise<JobBody> {
  return (await (await fetch(`${api()}/jobs/${encodeURIComponent(id)}`)).json()) as JobBody;
}

function cli(args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [join(PROJECT_DIR, 'bin', 'async-jobs.mjs'), ...args],
      { env: { ...process.env, ASYNC_JOBS_API: api() }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const backAtZero = (scaleIns: number) =>
  waitFor(() => steps('scaling in').length >= scaleIns && capacity().inService === 0, {
    timeoutMs: 15_000,
    what: 'the endpoint to scale back in to zero',
  });

describe('an endpoint that scales to zero', () => {
  it('from zero: the job waits for capacity and says so, completes, back to zero', async () => {
    expect(capacity()).toEqual({ inService: 0, starting: 0, backlog: 0 });
    const res = await fetch(`${api()}/jobs?inferenceId=cold-1`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: '1,2\n',
    });
    expect(res.status).toBe(202);
    // Asked at once, while the instance starts (START_MS).
    expect(await job('cold-1')).toMatchObject({ status: 'IN_PROGRESS', waitingForCapacity: true });
    // One structured line per step, in order.
    const order = [
      'backlog without capacity',
      'scaling out',
      'instance starting',
      'instance in service',
    ].map((e) =>
      waitFor(() => lines.findIndex((l) => l.startsWith(`[sagemaker] ${e} `)) + 1 || undefined),
    );
    const at = await Promise.all(order);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    const done = await waitFor(
      async () => {
        const body = await job('cold-1');
        return body.status === 'IN_PROGRESS' ? undefined : body;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'the job to complete' },
    );
    expect(done.status).toBe('COMPLETED');
    expect(done).not.toHaveProperty('waitingForCapacity');
    await backAtZero(1);
    expect(fields(steps('scaling in')[0]!)).toMatchObject({ from: 1, to: 0, idleMs: IDLE_MS });
  });

  it("the CLI's --wait says the job is queued waiting for capacity", async () => {
    const file = join(dir, 'rows.csv');
    await writeFile(file, '1,2\n');
    const run = await cli(['submit', file, '--id', 'cold-cli', '--wait']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('cold-cli: queued, waiting for capacity');
    expect(run.stderr).toMatch(/cold-cli: COMPLETED after/);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'COMPLETED' });
    await backAtZero(2);
  });

  it('a burst scales out to the maximum, and back to zero', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `burst-${i}`);
    for (const id of ids) {
      const res = await fetch(`${api()}/jobs?inferenceId=${id}&customAttributes=delay_ms%3D150`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: '1\n',
      });
      expect(res.status).toBe(202);
    }
    await waitFor(() => capacity().inService === 2, {
      timeoutMs: 15_000,
      what: 'two instances in service',
    });
    const outs = steps('scaling out').map(fields);
    expect(outs.some((f) => f.to === 2)).toBe(true);
    expect(Math.max(...outs.map((f) => f.to ?? 0))).toBe(2);
    // Waited for in the runtime, not by polling six jobs at once (each poll a Lambda invocation).
    await waitFor(() => sandbox!.sageMaker.stats().completed >= 2 + ids.length, {
      timeoutMs: 20_000,
      what: 'the burst to complete',
    });
    await backAtZero(3);
    await sandbox!.sns.idle();
    for (const id of ids) expect((await job(id)).status).toBe('COMPLETED');
    expect(fields(steps('scaling in')[2]!)).toMatchObject({ from: 2, to: 0 });
  });

  it('every scaling step published the test notification to both topics; all ignored', async () => {
    // CreateEndpoint at start, then one UpdateEndpointWeightsAndCapacities per scaling step.
    const scalingSteps = steps('scaling out').length + steps('scaling in').length;
    expect(scalingSteps).toBeGreaterThanOrEqual(6);
    const ignored = () => lines.filter((l) => l.includes('"message":"test notification ignored"'));
    await waitFor(() => ignored().length >= 2 * (1 + scalingSteps) || undefined, {
      timeoutMs: 15_000,
      what: 'the handlers to ignore every test notification',
    });
    await sandbox!.sns.idle();
    expect(sandbox!.sns.deadLetters).toEqual([]);
    expect(sandbox!.sqs.messages).toEqual([]);
  });
});
