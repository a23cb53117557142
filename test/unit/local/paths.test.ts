import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeSandboxDirIfEmpty } from '../../../src/local/paths.ts';

/* A run that made `.sandbox/` leaves no empty folder behind, and never removes what is in it. */

let scratch: string | undefined;
afterEach(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
  scratch = undefined;
});

describe('removeSandboxDirIfEmpty', () => {
  it('removes the folder when empty, keeps it (and its content) otherwise, and minds no absence', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'sandbox-dir-'));
    const dir = join(scratch, '.sandbox');
    await mkdir(dir);
    await removeSandboxDirIfEmpty(dir);
    expect(existsSync(dir)).toBe(false);
    await removeSandboxDirIfEmpty(dir);

    await mkdir(join(dir, 'state'), { recursive: true });
    await writeFile(join(dir, 'state', 'jobs.json'), '{}');
    await removeSandboxDirIfEmpty(dir);
    expect(existsSync(join(dir, 'state', 'jobs.json'))).toBe(true);
  });
});
