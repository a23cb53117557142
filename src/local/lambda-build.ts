import { build, type BuildOptions, type Message } from 'esbuild';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processAlive } from './state-lock.ts';

/*
 * The bundles the local Lambda runtime runs, built with esbuild's API from serverless.yml's
 * `custom.esbuild` (src/local/stack.ts reads it) exactly as serverless-esbuild passes them on: its
 * own keys removed, its defaults under them. Every function is built in one esbuild call: each
 * entry's code is the same as in its own build, only the chunk files are shared, and one call
 * parses the SDK once instead of seventeen times (about 15x faster here, which is most of the
 * sandbox's start).
 */

/** serverless-esbuild's own options (its bundle.ts), never given to esbuild. */
const PLUGIN_KEYS = [
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
  'config',
] as const;

/**
 * The project's esbuild plugins file (serverless.yml `custom.esbuild.plugins`). It only writes
 * each function's package patterns, which chunks its zip carries, and never what esbuild writes:
 * the sandbox, which zips nothing, leaves it out. Any other plugins file would change the bundles.
 */
export const PACKAGING_PLUGINS = './deploy/chunks-plugin.cjs';

/** serverless-esbuild's defaults that reach esbuild (its index.ts), below the project's own. */
const PLUGIN_DEFAULTS = { bundle: true, platform: 'node', exclude: ['aws-sdk'] } as const;

/** The esbuild options serverless-esbuild derives from `custom.esbuild`. */
export function esbuildOptionsOf(custom: Record<string, unknown>): {
  options: BuildOptions;
  extension: string;
} {
  const merged: Record<string, unknown> = { ...PLUGIN_DEFAULTS, ...custom };
  if (merged.plugins !== undefined && merged.plugins !== PACKAGING_PLUGINS) {
    throw new Error('custom.esbuild.plugins: the sandbox does not load esbuild plugins yet');
  }
  const exclude = ([merged.exclude].flat() as unknown[]).filter(
    (x): x is string => typeof x === 'string',
  );
  const external = ([merged.external ?? []].flat() as unknown[]).filter(
    (x): x is string => typeof x === 'string',
  );
  const extension =
    typeof merged.outputFileExtension === 'string' ? merged.outputFileExtension : '.js';
  const options: Record<string, unknown> = { ...merged };
  for (const key of PLUGIN_KEYS) delete options[key];
  delete options.plugins;
  options.external = [...external, ...(exclude.includes('*') ? [] : exclude)];
  if (extension !== '.js') options.outExtension = { '.js': extension };
  return { options: options as BuildOptions, extension };
}

export interface BuiltFunctions {
  /** Per entry (`src/handlers/getJob.ts`): the bundle to import. */
  bundles: Record<string, string>;
  /** The worker entry that loads a bundle and runs its handler (lambda-bootstrap.ts). */
  bootstrap: string;
  warnings: string[];
}

const BOOTSTRAP_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'lambda-bootstrap.ts');

const text = (m: Message) =>
  `${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text}`;

/** Builds every entry (paths relative to `rootDir`) into `outdir`, and the worker bootstrap. */
export async function buildFunctions(opts: {
  rootDir: string;
  entries: string[];
  outdir: string;
  custom: Record<string, unknown>;
}): Promise<BuiltFunctions> {
  const { options, extension } = esbuildOptionsOf(opts.custom);
  await mkdir(opts.outdir, { recursive: true });
  // Modules by the folder's package.json, as Lambda reads `.js` ("type": "module" here).
  if (options.format === 'esm' && extension === '.js') {
    await writeFile(join(opts.outdir, 'package.json'), '{"type":"module"}\n');
  }
  const entries = [...new Set(opts.entries)];
  const [functions, bootstrap] = await Promise.all([
    build({
      ...options,
      absWorkingDir: opts.rootDir,
      entryPoints: entries,
      outbase: opts.rootDir,
      outdir: opts.outdir,
      write: true,
      logLevel: 'silent',
    }),
    build({
      entryPoints: [BOOTSTRAP_SOURCE],
      outfile: join(opts.outdir, '.runtime', 'bootstrap.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'silent',
    }),
  ]);
  const bundles: Record<string, string> = {};
  for (const entry of entries) {
    const inRoot = relative(opts.rootDir, resolve(opts.rootDir, entry));
    bundles[entry] = join(opts.outdir, inRoot.replace(/\.[cm]?[jt]sx?$/, extension));
  }
  return {
    bundles,
    bootstrap: join(opts.outdir, '.runtime', 'bootstrap.mjs'),
    warnings: [...functions.warnings, ...bootstrap.warnings].map(text),
  };
}

/** `lambda-<pid>-<tag>` under `.sandbox/`: a sandbox's build folder, named by its process. */
export const buildFolderName = (pid: number, tag: string) => `lambda-${pid}-${tag}`;

/**
 * Removes the build folders of sandboxes (and bench runs, `bench-<pid>`) whose process is gone,
 * killed before they could clean up, and the `esbuild-*` folders serverless-offline's builds left
 * before this runtime.
 */
export async function removeStaleBuilds(sandboxDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(sandboxDir);
  } catch {
    return [];
  }
  const stale = names.filter((n) => {
    const m = /^(?:lambda-(\d+)-[0-9a-z]+|bench-(\d+))$/.exec(n);
    return m ? !processAlive(Number(m[1] ?? m[2])) : /^esbuild-\d+$/.test(n);
  });
  await Promise.all(stale.map((n) => rm(join(sandboxDir, n), { recursive: true, force: true })));
  return stale;
}
