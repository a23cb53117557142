import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * The plugin works around serverless-esbuild's packing (its `zip`, dist/utils.js), which copies
 * each function's files into a folder of the temp dir and removes it with a non-recursive remove
 * that fails on a full folder. It matches that folder by name, so the version is pinned exactly
 * and these tests run the installed `zip` itself: a version that names the folder otherwise, or
 * removes it at last (then the plugin can go), fails here.
 */

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

describe('the installed serverless-esbuild, as deploy/tmp-cleanup-plugin.cjs expects it', () => {
  it('is pinned to one exact version in package.json', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    const installed = require('serverless-esbuild/package.json') as { version: string };
    expect(pkg.devDependencies['serverless-esbuild']).toBe(installed.version);
  });

  type Zip = (zipPath: string, files: { localPath: string; rootPath: string }[]) => Promise<void>;
  let zip: Zip;
  // Its dependencies take seconds to load on a loaded machine: a hook's time, not a test's.
  beforeAll(() => {
    ({ zip } = require('serverless-esbuild/dist/utils') as { zip: Zip });
  });

  it('leaves one folder per zip in the temp dir, named as the plugin matches it', async () => {
    const work = join(dir, 'zip');
    const tmp = join(dir, 'zip-tmp');
    await mkdir(work, { recursive: true });
    await mkdir(tmp, { recursive: true });
    await writeFile(join(work, 'getJob.mjs'), 'export const handler = () => {};');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp; // os.tmpdir(), which zip uses, reads it on every call
    try {
      await zip(join(work, 'getJob.zip'), [
        { localPath: 'src/handlers/getJob.mjs', rootPath: join(work, 'getJob.mjs') },
      ]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    const left = await readdir(tmp);
    expect(left).toHaveLength(1);
    expect(removePackingFolders(['getJob'], tmp)).toEqual(left);
    expect(await readdir(tmp)).toEqual([]);
  });
});
