import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_DIR } from '../../src/local/paths.ts';
import { startHangingServer, type HangingServer } from '../support/hanging-server.ts';

/*
 * The async-jobs CLI against an API that accepts and never answers, and against an upload URL
 * that does: the command exits with an error that names the request timeout, while the server
 * still hangs. The bound is shrunk with ASYNC_JOBS_REQUEST_TIMEOUT_MS, which the CLI reads as it
 * would in production; vitest's timeout is the only clock.
 */

let silent: HangingServer;
let api: Server;
let apiUrl: string;
let dir: string;
beforeAll(async () => {
  silent = await startHangingServer({ mode: 'silent' });
  // An API whose upload URLs point at the silent server.
  api = createServer((req, res) => {
    req.resume();
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        uploadUrl: `${silent.url}/upload`,
        headers: {},
        inputLocation: 's3://async-jobs-local-input/uploads/x',
      }),
    );
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'async-jobs-cli-timeouts-'));
});
afterAll(async () => {
  api?.closeAllConnections();
  await Promise.all([
    silent?.close(),
    new Promise<void>((r) => (api ? api.close(() => r()) : r())),
    dir ? rm(dir, { recursive: true, force: true }) : undefined,
  ]);
});

function cli(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [join(PROJECT_DIR, 'bin', 'async-jobs.mjs'), ...args],
      { cwd: PROJECT_DIR, env: { ...process.env, ASYNC_JOBS_REQUEST_TIMEOUT_MS: '500', ...env } },
      (err, _stdout, stderr) =>
        resolve({ code: (err as { code?: number } | null)?.code ?? 0, stderr }),
    );
  });
}

describe.concurrent('the CLI against an API that hangs', () => {
  it('status: exits 3 with a message naming the timeout', async () => {
    const { code, stderr } = await cli(['status', 'job-1', '--api', silent.url]);
    expect(code).toBe(3);
    expect(stderr).toContain(
      `the API at ${silent.url} did not answer within 0.5 s (request timeout)`,
    );
    expect(silent.requests).toBeGreaterThan(0);
    expect(silent.finished).toBe(0);
  });

  it('submit of a large file: an upload URL that never answers ends the command', async () => {
    const file = join(dir, 'big.csv');
    await writeFile(file, '1,2,3\n'.repeat(100));
    const { code, stderr } = await cli(['submit', file, '--api', apiUrl], {
      ASYNC_JOBS_UPLOAD_THRESHOLD: '10',
    });
    expect(code).toBe(3);
    expect(stderr).toContain('the upload failed: no progress within 0.5 s (request timeout)');
    expect(silent.finished).toBe(0);
  });
});
