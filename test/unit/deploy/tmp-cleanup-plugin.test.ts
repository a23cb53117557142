import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const { removePackingFolders } = require('../../../deploy/tmp-cleanup-plugin.cjs') as {
  removePackingFolders: (functions: string[], dir?: string, pid?: number) => string[];
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'async-jobs-tmp-cleanup-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('deploy/tmp-cleanup-plugin.cjs', () => {
  it("removes this process's packing folders of the service's functions, and nothing else", async () => {
    const ours = [
      `onSuccess-${process.pid}-1795680358608-ad4422c9`,
      `getJob-${process.pid}-1-0123abcd`,
    ];
    const theirs = [
      `onSuccess-${process.pid + 1}-1795680358608-ad4422c9`, // another packaging run
      `otherFunction-${process.pid}-1795680358608-ad4422c9`, // not a function of the service
      `onSuccess-${process.pid}-1795680358608-ad4422c9.zip`, // a file, not a folder
      'tsx-0',
    ];
    for (const name of [...ours, ...theirs.filter((n) => !n.endsWith('.zip'))]) {
      await mkdir(join(dir, name, 'src', 'handlers'), { recursive: true });
      await writeFile(join(dir, name, 'src', 'handlers', 'onSuccess.mjs'), 'export {}');
    }
    await writeFile(join(dir, theirs[2]!), 'zip');
    expect(removePackingFolders(['onSuccess', 'getJob'], dir).sort()).toEqual([...ours].sort());
    expect((await readdir(dir)).sort()).toEqual([...theirs].sort());
  });
});
