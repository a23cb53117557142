import { build } from 'esbuild';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * deploy/chunks-plugin.cjs as serverless-esbuild runs it (its `plugins` option, bundle.ts): one
 * esbuild build per handler, concurrently, each into `<build>/<entry's folder>`, all chunks side by
 * side. Each function's package patterns must keep its own chunks and no other handler's.
 */

type Fn = { handler: string; package?: { patterns?: string[] } };
type Plugins = (sls: unknown) => import('esbuild').Plugin[];
const require = createRequire(import.meta.url);
const chunksPlugin = require('../../../deploy/chunks-plugin.cjs') as Plugins;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'async-jobs-chunks-'));
  const files: Record<string, string> = {
    'src/handlers/a.ts': "export const handler = async () => (await import('../lib/x.ts')).x;",
    'src/handlers/b.ts': "export const handler = async () => (await import('../lib/y.ts')).y;",
    'src/lib/x.ts': "export const x = 'x';",
    'src/lib/y.ts': "export const y = 'y';",
  };
  for (const [file, body] of Object.entries(files)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), body);
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('deploy/chunks-plugin.cjs', () => {
  it("writes each function's patterns: its own chunks only, no metafile", async () => {
    const functions: Record<string, Fn> = {
      a: { handler: 'src/handlers/a.handler', package: { patterns: ['extra.txt'] } },
      b: { handler: 'src/handlers/b.handler' },
    };
    const service = {
      getAllFunctions: () => Object.keys(functions),
      getFunction: (name: string) => functions[name]!,
    };
    const plugins = chunksPlugin({ service });
    const buildDir = join(dir, '.esbuild', '.build');
    const bundle = (entry: string) =>
      build({
        absWorkingDir: dir,
        entryPoints: [entry],
        outdir: join(buildDir, dirname(entry)),
        bundle: true,
        format: 'esm',
        platform: 'node',
        splitting: true,
        chunkNames: 'chunks/[name]-[hash]',
        metafile: true,
        logLevel: 'silent',
        plugins,
      });
    await Promise.all(['src/handlers/a.ts', 'src/handlers/b.ts'].map(bundle));

    const chunks = (await readdir(join(buildDir, 'src', 'handlers', 'chunks'))).sort();
    expect(chunks).toHaveLength(2);
    const kept = (fn: string) =>
      (functions[fn]!.package?.patterns ?? []).filter((p) => p.startsWith('src/handlers/chunks/'));
    expect([...kept('a'), ...kept('b')].map((p) => p.split('/').pop()).sort()).toEqual(chunks);
    expect(kept('a')).toHaveLength(1);
    expect(kept('a')[0]).toMatch(/^src\/handlers\/chunks\/x-/);
    expect(functions.a!.package!.patterns).toEqual([
      'extra.txt',
      '!**/*-meta.json',
      '!src/handlers/chunks/**',
      ...kept('a'),
    ]);
    expect(functions.b!.package!.patterns).toEqual([
      '!**/*-meta.json',
      '!src/handlers/chunks/**',
      ...kept('b'),
    ]);

    // A rebuild (deploy function, watch) writes the list anew rather than appending to it.
    const before = structuredClone(functions);
    await bundle('src/handlers/a.ts');
    expect(functions).toEqual(before);
  });

  it('needs the metafile', () => {
    const [plugin] = chunksPlugin({ service: {} });
    expect(() =>
      plugin!.setup({
        initialOptions: {},
        onEnd: () => {},
      } as unknown as import('esbuild').PluginBuild),
    ).toThrow(/metafile/);
  });
});
