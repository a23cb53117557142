import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildFolderName,
  esbuildOptionsOf,
  PACKAGING_PLUGINS,
  removeStaleBuilds,
} from '../../../src/local/lambda-build.ts';

/*
 * The sandbox's build: the esbuild options serverless-esbuild would pass on (its own keys out, its
 * defaults under the project's), and the build folders of sandboxes that are gone.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'async-jobs-build-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('esbuildOptionsOf', () => {
  it("passes esbuild's options on and keeps serverless-esbuild's own", () => {
    const { options, extension } = esbuildOptionsOf({
      minify: true,
      format: 'esm',
      outputFileExtension: '.mjs',
      outputWorkFolder: '.esbuild',
      keepOutputDirectory: false,
      exclude: ['left-out'],
      packager: 'npm',
    });
    expect(extension).toBe('.mjs');
    expect(options).toEqual({
      bundle: true,
      platform: 'node',
      minify: true,
      format: 'esm',
      external: ['left-out'],
      outExtension: { '.js': '.mjs' },
    });
    // serverless-esbuild's default exclude, and `*` meaning nothing is left out by name.
    expect(esbuildOptionsOf({}).options.external).toEqual(['aws-sdk']);
    expect(esbuildOptionsOf({ exclude: ['*'] }).options.external).toEqual([]);
  });

  it("leaves out the project's packaging-only plugins file, and refuses any other", () => {
    expect(esbuildOptionsOf({ plugins: PACKAGING_PLUGINS }).options).not.toHaveProperty('plugins');
    expect(() => esbuildOptionsOf({ plugins: './esbuild-plugins.cjs' })).toThrow(
      /does not load esbuild plugins/,
    );
  });
});

describe('removeStaleBuilds', () => {
  it("removes the folders of sandboxes and bench runs whose process is gone and serverless-offline's, nothing else", async () => {
    const dead = Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout,
    );
    const names = [
      buildFolderName(dead, 'a1b2c3d4'),
      buildFolderName(process.pid, 'e5f6a7b8'),
      'esbuild-3000',
      'state',
      `bench-${dead}`,
      `bench-${process.pid}`,
    ];
    for (const n of names) await mkdir(join(dir, n));
    const removed = await removeStaleBuilds(dir);
    expect(removed.sort()).toEqual(
      [buildFolderName(dead, 'a1b2c3d4'), 'esbuild-3000', `bench-${dead}`].sort(),
    );
    expect((await readdir(dir)).sort()).toEqual(
      [buildFolderName(process.pid, 'e5f6a7b8'), `bench-${process.pid}`, 'state'].sort(),
    );
  });
});
