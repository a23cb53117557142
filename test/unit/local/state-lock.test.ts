import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateInUse, lockState, stateHolder } from '../../../src/local/state-lock.ts';

/*
 * One sandbox per state folder: a second one is told at once who holds it and what to do, instead
 * of dying in dynalite with LEVEL_DATABASE_NOT_OPEN; a lock left by a sandbox that was killed is
 * taken over.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'async-jobs-lock-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('the state folder lock', () => {
  it('refuses a second sandbox, naming the first and the way out; free again once released', async () => {
    const release = await lockState(dir, 'http://127.0.0.1:3000');
    const err = await lockState(dir, 'http://127.0.0.1:3100').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateInUse);
    expect((err as Error).message).toContain(
      `is in use by another sandbox (pid ${process.pid}, http://127.0.0.1:3000)`,
    );
    expect((err as Error).message).toContain('SANDBOX_STATE_DIR=<folder>');
    expect(await stateHolder(dir)).toEqual({ pid: process.pid, api: 'http://127.0.0.1:3000' });
    await release();
    expect(await stateHolder(dir)).toBeUndefined();
    const again = await lockState(dir, 'http://127.0.0.1:3100');
    await again();
    // Nothing of the lock's own left behind.
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes over the lock of a sandbox that died without releasing it', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const pid = Number(dead.stdout.toString());
    await writeFile(join(dir, '.sandbox.lock'), JSON.stringify({ pid, api: 'x' }));
    expect(await stateHolder(dir)).toBeUndefined();
    const release = await lockState(dir, 'http://127.0.0.1:3000');
    expect((await stateHolder(dir))?.pid).toBe(process.pid);
    await release();
  });
});
