import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INTERRUPTED_EXIT_CODE } from '../../src/cli/interrupt.ts';
import { PROJECT_DIR } from '../../src/local/paths.ts';
import { waitFor } from '../support/lambda.ts';

/*
 * Ctrl-C in `async-jobs submit` (the real CLI, spawned) against a loopback API that answers as the
 * job API does and holds the requests a test asks it to: once the batch (or the job) exists, the
 * CLI prints its id and the command that follows it, so nobody runs the submit again; while its
 * creation is still unanswered, it waits for the answer to say so.
 */

const BATCH_ID = 'b-0123456789abcdef01234567';

interface FakeApi {
  url: string;
  requests: string[];
  /** A request held unanswered: `release` answers it. */
  hold?: { match: string; release?: () => void };
  server: Server;
}

let api: FakeApi;
let dir: string;

function answer(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const batch = (state: string) => ({
  batchId: BATCH_ID,
  state,
  createdAt: '2026-12-01T00:00:00.000Z',
  counts: { submitted: 2, inProgress: 2, completed: 0, failed: 0, refused: 0, expected: 2 },
});

function route(req: IncomingMessage, res: ServerResponse) {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (req.method === 'POST' && path === '/batches') {
    answer(res, 202, batch('EXPANDING'));
  } else if (req.method === 'GET' && path === `/batches/${BATCH_ID}`) {
    answer(res, 200, batch('IN_PROGRESS'));
  } else if (req.method === 'POST' && path === '/jobs') {
    answer(res, 202, { inferenceId: 'job-1', status: 'IN_PROGRESS' });
  } else if (req.method === 'GET' && path === '/jobs/job-1') {
    // A long-poll that never ends within the test.
  } else {
    answer(res, 404, { message: 'Not Found' });
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'async-jobs-interrupt-'));
  await writeFile(join(dir, 'a.csv'), '1,2\n');
  await writeFile(join(dir, 'b.csv'), '3,4\n');
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const key = `${req.method} ${new URL(req.url ?? '/', 'http://x').pathname}`;
    req.resume();
    req.on('end', () => {
      requests.push(key);
      if (api.hold && api.hold.match === key && !api.hold.release) {
        let answered = false;
        api.hold.release = () => {
          if (!answered) route(req, res);
          answered = true;
        };
        return;
      }
      route(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  api = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
});

/** Every CLI a test started: one still running after its test (a failed one) is ended. */
const started: ReturnType<typeof spawn>[] = [];

afterEach(() => {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  api.hold?.release?.();
  api.requests.length = 0;
  api.hold = undefined;
});

afterAll(async () => {
  api.server.closeAllConnections();
  await new Promise((r) => api.server.close(r));
  await rm(dir, { recursive: true, force: true });
});

/** The CLI, running: its output so far, and how it ended. */
function run(args: string[]) {
  const child = spawn(process.execPath, [join(PROJECT_DIR, 'bin', 'async-jobs.mjs'), ...args], {
    env: { ...process.env, ASYNC_JOBS_API: api.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out.stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out.stderr += c));
  const ended = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, out, ended };
}

const seen = (what: string) =>
  waitFor(() => (api.requests.includes(what) ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 20,
    what,
  });

describe('Ctrl-C in async-jobs submit', () => {
  it('after the batch was created: prints its id and the command that follows it', async () => {
    const cli = run(['submit', join(dir, 'a.csv'), join(dir, 'b.csv'), '--wait']);
    await seen(`GET /batches/${BATCH_ID}`);
    cli.child.kill('SIGINT');
    expect(await cli.ended).toBe(INTERRUPTED_EXIT_CODE);
    expect(cli.out.stderr).toContain(`batch ${BATCH_ID} was created`);
    expect(cli.out.stderr).toContain('do not submit the files again');
    expect(cli.out.stderr).toContain(`async-jobs batch status ${BATCH_ID} --wait`);
    expect(api.requests.filter((r) => r === 'POST /batches')).toHaveLength(1);
  }, 60_000);

  it('while POST /batches is unanswered: waits for the answer, then names the batch', async () => {
    api.hold = { match: 'POST /batches' };
    const cli = run(['submit', join(dir, 'a.csv'), join(dir, 'b.csv')]);
    await seen('POST /batches');
    cli.child.kill('SIGINT');
    await waitFor(() => (cli.out.stderr.includes('waiting for the API') ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the CLI to say it waits',
    });
    expect(cli.child.exitCode).toBeNull();
    api.hold.release!();
    expect(await cli.ended).toBe(INTERRUPTED_EXIT_CODE);
    expect(cli.out.stdout.trim()).toBe(BATCH_ID);
    expect(cli.out.stderr).toContain(`async-jobs batch status ${BATCH_ID} --wait`);
  }, 60_000);

  it('a second Ctrl-C while the answer is out quits at once, saying the batch may exist', async () => {
    api.hold = { match: 'POST /batches' };
    const cli = run(['submit', join(dir, 'a.csv'), join(dir, 'b.csv')]);
    await seen('POST /batches');
    cli.child.kill('SIGINT');
    await waitFor(() => (cli.out.stderr.includes('Ctrl-C again') ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the first Ctrl-C to be taken',
    });
    cli.child.kill('SIGINT');
    expect(await cli.ended).toBe(INTERRUPTED_EXIT_CODE);
    expect(cli.out.stderr).toContain('the batch was being created: it may exist');
  }, 60_000);

  it('one file with --wait: prints the job id and the command that follows it', async () => {
    const cli = run(['submit', join(dir, 'a.csv'), '--wait']);
    await seen('GET /jobs/job-1');
    cli.child.kill('SIGINT');
    expect(await cli.ended).toBe(INTERRUPTED_EXIT_CODE);
    expect(cli.out.stderr).toContain('job job-1 was submitted');
    expect(cli.out.stderr).toContain('async-jobs status job-1');
  }, 60_000);
});
