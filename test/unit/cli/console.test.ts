import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../../src/console/serve.ts';
import { PROJECT_DIR } from '../../../src/local/paths.ts';
import { waitFor } from '../../support/lambda.ts';

/*
 * `async-jobs console` as a user runs it: it prints the page's loopback URL and serves the page
 * until stopped; a bad --port is a usage error. What it forwards and how it signs is
 * test/unit/console/proxy.test.ts's.
 */

const BIN = join(PROJECT_DIR, 'bin', 'async-jobs.mjs');
let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
});

function start(args: string[]) {
  const c = spawn(process.execPath, [BIN, ...args], {
    cwd: PROJECT_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = c;
  const out = { stdout: '', stderr: '' };
  c.stdout!.setEncoding('utf8').on('data', (s: string) => (out.stdout += s));
  c.stderr!.setEncoding('utf8').on('data', (s: string) => (out.stderr += s));
  const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
  return { out, exited };
}

describe('async-jobs console', () => {
  it('prints the page’s URL on 127.0.0.1 and serves it with the CSP', async () => {
    const { out } = start(['console', '--api', 'https://abc.execute-api.eu-west-1.amazonaws.com']);
    const url = await waitFor(
      () => /^(http:\/\/127\.0\.0\.1:\d+\/console)\n/.exec(out.stdout)?.[1],
      {
        timeoutMs: 60_000,
        intervalMs: 50,
        what: `the console's URL (stderr: ${out.stderr})`,
      },
    );
    expect(out.stderr).toContain('signed with your AWS credentials (SigV4)');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(await res.text()).toContain('<script type="module" src="/console/app.js">');
  }, 90_000);

  it('refuses a --port that is not a port number (exit 2)', async () => {
    const { out, exited } = start(['console', '--port', 'eighty']);
    expect(await exited).toBe(2);
    expect(out.stderr).toContain('--port "eighty" is not a port number');
  }, 60_000);
});
