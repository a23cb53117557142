import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { SandboxOptions } from '../../src/local/sandbox.ts';
import { PROJECT_DIR, runTs } from '../../src/local/paths.ts';
import { freePorts } from '../support/ports.ts';

/*
 * One sandbox for every e2e file that can share it (test/support/shared-sandbox.ts), instead of
 * one per file: each start builds every handler and keeps warm workers of every function running,
 * and two or three of those beside the other files are load the files' own sandboxes then answer
 * under. The server process starts here, at once; the sandbox itself on
 * the first file that asks for it, so a run without e2e files never starts one.
 */

/**
 * What the shared sandbox runs with: the automatic retries test/e2e/sandbox.test.ts tries, for a
 * failure no other test makes (a JSON input that does not parse), after 2 s.
 */
const SHARED_SANDBOX_OPTIONS: Omit<SandboxOptions, 'ports' | 'log'> = {
  autoRetry: { maxAttempts: 2, on: 'not valid JSON', baseDelaySeconds: 2 },
};

/**
 * How long the server may take to stop the sandbox before it is killed: a sandbox still starting
 * (its file gave up on it) is stopped once it started or failed, within startSandbox's own 120 s.
 * Killed, it would leave its build folder behind.
 */
const STOP_MS = 180_000;

export default async function setup(project: TestProject) {
  const [port] = await freePorts(1);
  const start = () =>
    spawn(
      process.execPath,
      [
        ...runTs(join(PROJECT_DIR, 'test', 'global', 'shared-sandbox-process.ts')),
        String(port),
        JSON.stringify(SHARED_SANDBOX_OPTIONS),
      ],
      // Its stdin is how it learns the run ended: the teardown ends it, and so does vitest's death.
      { cwd: PROJECT_DIR, stdio: ['pipe', 'inherit', 'inherit'] },
    );
  const stop = async (server: ChildProcess) => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.stdin?.end();
    const force = setTimeout(() => server.kill('SIGKILL'), STOP_MS);
    await exited;
    clearTimeout(force);
  };
  let server = start();
  project.provide('sharedSandbox', `http://127.0.0.1:${port}`);
  // Watch mode: the files assume a sandbox of their run (ids unused, captures from the start), so
  // each rerun gets a new one, on the same control port.
  project.onTestsRerun(async () => {
    await stop(server);
    server = start();
  });
  return () => stop(server);
}
