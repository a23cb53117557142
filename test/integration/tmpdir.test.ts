import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_DIR, runTs } from '../../src/local/paths.ts';

/*
 * tsx keeps a transform cache in <system temp dir>/tsx-<uid>, and its CLI a folder for its IPC pipe:
 * every `npm start`, CLI call, bench run and test would leave it behind. The project runs
 * TypeScript through bin/run-ts.mjs (tsx as a loader, TSX_DISABLE_CACHE) instead.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'async-jobs-tmpdir-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs node with TMPDIR at the empty dir; resolves whatever the exit code. */
function node(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: PROJECT_DIR, env: { ...process.env, TMPDIR: dir }, timeout: 60_000 },
      (_err, stdout, stderr) => resolve(stdout + stderr),
    );
  });
}

describe('running TypeScript leaves nothing in the system temp dir', () => {
  it('the CLI (bin/async-jobs.mjs) and a script through runTs', async () => {
    const [cli, script] = await Promise.all([
      node([join(PROJECT_DIR, 'bin', 'async-jobs.mjs'), '--help']),
      node(runTs(join(PROJECT_DIR, 'src', 'ops', 'redrive-cli.ts'))),
    ]);
    expect(cli).toContain('async-jobs submit');
    expect(script).toContain('usage:');
    expect(await readdir(dir)).toEqual([]);
  });

  it('every package.json script that runs TypeScript goes through bin/run-ts.mjs', async () => {
    const { scripts } = JSON.parse(await readFile(join(PROJECT_DIR, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const ts = Object.entries(scripts).filter(([, cmd]) => /\.ts\b/.test(cmd));
    expect(ts.map(([name]) => name)).toContain('start');
    for (const [name, cmd] of ts) {
      expect({ name, cmd }).toEqual({
        name,
        cmd: expect.stringMatching(/^node --import \.\/bin\/run-ts\.mjs /),
      });
    }
  });
});
