import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STARTING_MESSAGE } from '../../src/local/api-gateway.ts';
import { PROJECT_DIR, runTs } from '../../src/local/paths.ts';
import { stateHolder } from '../../src/local/state-lock.ts';
import { waitFor } from '../support/lambda.ts';
import { freePorts } from '../support/ports.ts';

/*
 * `npm start` as a user runs it, in a plain process: what its HTTP port answers while it starts,
 * a second sandbox on the same state folder, a model that is not up, closing the terminal
 * (SIGHUP) and Ctrl-C with jobs running. Each sandbox has its own ports, state folder and system
 * temp dir (which must stay empty).
 */

let root: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'async-jobs-lifecycle-'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

const NAMES = [
  'PORT',
  'SANDBOX_LAMBDA_PORT',
  'SANDBOX_S3_PORT',
  'SANDBOX_DYNAMODB_PORT',
  'SANDBOX_SAGEMAKER_PORT',
  'SANDBOX_EVENTBRIDGE_PORT',
  'SANDBOX_SQS_PORT',
  'SANDBOX_SFN_PORT',
];

interface Started {
  child: ChildProcess;
  ports: number[];
  api: string;
  out: () => string;
  exited: Promise<number | null>;
}

/** `npm start [args]` on the given ports, state folder and temp dir. */
function start(ports: number[], state: string, tmp: string, args: string[] = []): Started {
  const env: NodeJS.ProcessEnv = { ...process.env, SANDBOX_STATE_DIR: state, TMPDIR: tmp };
  NAMES.forEach((n, i) => (env[n] = String(ports[i])));
  const child = spawn(process.execPath, [...runTs('src/local/start.ts'), ...args], {
    cwd: PROJECT_DIR,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  return {
    child,
    ports,
    api: `http://127.0.0.1:${ports[0]}`,
    out: () => out,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
}

const banner = (s: Started) =>
  waitFor(() => /sandbox (ready|up) in/.test(s.out()) || s.child.exitCode !== null || undefined, {
    timeoutMs: 150_000,
    intervalMs: 100,
    what: 'the start banner',
  });

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

const buildFolders = async (pid: number) =>
  (await readdir(join(PROJECT_DIR, '.sandbox')).catch(() => [] as string[])).filter((n) =>
    n.startsWith(`lambda-${pid}-`),
  );

describe('npm start, from outside', () => {
  it('answers 503 while it starts; a model not up is said so; a second sandbox on the state is refused; SIGHUP frees everything', async () => {
    const ports = await freePorts(17);
    const model = ports[16]!; // nothing listens there
    const tmp = join(root, 'tmp-a');
    const state = join(root, 'state-a');
    await mkdir(tmp);
    const a = start(ports.slice(0, 8), state, tmp, ['--model-url', `http://127.0.0.1:${model}`]);

    // Until the banner, every answer of the port is the starting 503 (never the 500 of a front
    // without its functions); the banner comes after the last one.
    const answers: { status: number; retryAfter: string | null; body: string }[] = [];
    while (!/sandbox (ready|up) in/.test(a.out()) && a.child.exitCode === null) {
      try {
        const res = await fetch(`${a.api}/jobs/x`);
        answers.push({
          status: res.status,
          retryAfter: res.headers.get('retry-after'),
          body: await res.text(),
        });
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await banner(a);
    const whileStarting = answers.filter((x) => x.status !== 404);
    expect(whileStarting.length).toBeGreaterThan(0);
    for (const x of whileStarting) {
      expect(x).toEqual({
        status: 503,
        retryAfter: '1',
        body: JSON.stringify({ message: STARTING_MESSAGE }),
      });
    }

    expect(a.out()).toContain(
      `NOT READY: the model (http://127.0.0.1:${model}) has not answered GET /ping with 200 yet`,
    );
    const refused = await fetch(`${a.api}/jobs?inferenceId=early-1`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: '1,2\n',
    });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { message: string }).message).toContain(
      'has not answered /ping',
    );

    // Every port changed, the same state folder: stopped at once, saying why.
    const b = start(ports.slice(8, 16), state, tmp);
    expect(await b.exited).toBe(1);
    expect(b.out()).toContain(`is in use by another sandbox (pid ${a.child.pid}`);
    expect(b.out()).toContain('SANDBOX_STATE_DIR=<folder>');
    expect(b.out()).not.toContain('LEVEL_DATABASE_NOT_OPEN');

    // The terminal closes: the sandbox stops, and everything it held is free.
    a.child.kill('SIGHUP');
    expect(await a.exited).toBe(0);
    for (const port of a.ports)
      expect({ port, free: await portFree(port) }).toEqual({ port, free: true });
    expect(await buildFolders(a.child.pid!)).toEqual([]);
    expect(await stateHolder(state)).toBeUndefined();
    expect(await readdir(tmp)).toEqual([]);
  }, 300_000);

  it('Ctrl-C with jobs running stops quietly: no failed deliveries, no dead letters', async () => {
    const ports = await freePorts(8);
    const tmp = join(root, 'tmp-c');
    await mkdir(tmp);
    const c = start(ports, join(root, 'state-c'), tmp);
    await banner(c);
    expect(c.out()).toContain('sandbox ready in');
    // Jobs finishing one after another (the demo model runs two at a time) when the stop comes.
    const posts = Array.from({ length: 30 }, (_, i) =>
      fetch(
        `${c.api}/jobs?inferenceId=busy-${i}&customAttributes=delay_ms%3D${100 + (i % 5) * 100}`,
        {
          method: 'POST',
          headers: { 'content-type': 'text/csv' },
          body: `${i},1\n`,
        },
      ).then((r) => r.status),
    );
    expect(await Promise.all(posts)).toEqual(Array(30).fill(202));
    await waitFor(() => c.out().includes('[sagemaker] job completed') || undefined, {
      timeoutMs: 60_000,
    });
    c.child.kill('SIGINT');
    expect(await c.exited).toBe(0);
    const after = c.out().slice(c.out().indexOf('SIGINT: stopping the sandbox'));
    expect(after).toContain('stopped.');
    expect(after).not.toMatch(/dead-letter|fetch failed|failed|winston|RuntimeStopped/i);
    expect(await buildFolders(c.child.pid!)).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  }, 300_000);
});
