import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { PROJECT_DIR, serverlessBin } from '../../src/local/paths.ts';

/*
 * `serverless package`, once per variant per run: it builds every handler with esbuild and zips
 * them (15-40 s on two loaded cores), and several files need the same output (the package tests
 * read the template, the bench smoke test measures the bundles). The first file to ask for a
 * variant builds it, under a lock, in the run's folder (test/global/packages.ts, removed at the
 * end); the others wait for it and read the same files. A variant is named by a hash of what the
 * build reads (serverless.yml, deploy/, src/, package-lock.json) and of its stage and params, so
 * a watch-mode run that changed any of them builds again.
 *
 * Params and the stage change only the template, never the bundles (serverless.yml's esbuild
 * options read no param but bundleExtension): so only the first variant (SCALING_PARAMS) is built;
 * every other `dev` variant gets a copy of its zips and packages them with serverless-esbuild's
 * skipBuild (SLS_ESBUILD_SKIP_BUILD), which writes the variant's template around the same
 * artifacts without building them. Its bundles are the first variant's (`buildDir`).
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** The folder of this run's packaged variants (test/global/packages.ts). */
    packageCache: string;
  }
}

export interface Packaged {
  /** Where it was built: `package/` and `sls/` below, as `npm run bench` lays out its own. */
  dir: string;
  /** `serverless package --package`: the template and one zip per function. */
  packageDir: string;
  /**
   * The bundles serverless-esbuild built and kept: `<buildDir>/src/handlers/<fn>.mjs` (the first
   * variant's, for a variant that reuses its zips).
   */
  buildDir: string;
  /** The CloudFormation template, parsed afresh for each caller. */
  template: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** What the build left in the temp dir it was given (deploy/tmp-cleanup-plugin.cjs empties it). */
  tmpLeftovers: string[];
}

/**
 * The package tests' first variant: scaling attached to an endpoint deployed elsewhere, kept above
 * zero (deploy/scaling.yml). Params and the stage change only the template, never the bundles, so
 * the bench smoke test measures this variant's bundles rather than building its own.
 */
export const SCALING_PARAMS = [
  'endpointName=my-endpoint',
  'scalingEndpointName=existing-endpoint',
  'scalingVariantName=blue',
  'minInstances=1',
  'maxInstances=3',
  'backlogPerInstance=2.5',
];

/** The inputs of a build: what serverless.yml packages and how. */
const INPUTS = ['serverless.yml', 'package-lock.json', 'deploy', 'src'];
/** How long a caller waits for another file's build of the same variant. */
const WAIT_MS = 360_000;

async function inputsHash(): Promise<string> {
  const hash = createHash('sha256');
  const files: string[] = [];
  for (const input of INPUTS) {
    const entries = await readdir(join(PROJECT_DIR, input), { recursive: true }).catch(() => null);
    if (entries === null) files.push(input);
    else for (const e of entries) files.push(join(input, e));
  }
  for (const file of files.sort()) {
    const body = await readFile(join(PROJECT_DIR, file)).catch(() => null);
    if (body) hash.update(`${file}\0${body.length}\0`).update(body);
  }
  return hash.digest('hex');
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Whether a variant's bundles are the first variant's: a `dev` variant that leaves them alone. */
const reusesBundles = (stage: string, params: string[]) =>
  stage === 'dev' &&
  !params.some((p) => p.startsWith('bundleExtension=')) &&
  JSON.stringify(params) !== JSON.stringify(SCALING_PARAMS);

async function build(
  dir: string,
  stage: string,
  params: string[],
  zipsFrom?: Packaged,
): Promise<string[]> {
  // serverless-esbuild's packing leaves a folder per function in the system temp directory (its
  // scoped temp paths are never removed): point it at the variant's own folder.
  const tmp = join(dir, 'tmp');
  await mkdir(tmp, { recursive: true });
  if (zipsFrom) {
    // skipBuild takes each function's zip from the --package folder.
    await mkdir(join(dir, 'package'), { recursive: true });
    for (const zip of (await readdir(zipsFrom.packageDir)).filter((f) => f.endsWith('.zip'))) {
      await copyFile(join(zipsFrom.packageDir, zip), join(dir, 'package', zip));
    }
  }
  await promisify(execFile)(
    process.execPath,
    [
      serverlessBin(),
      'package',
      '--stage',
      stage,
      '--package',
      join(dir, 'package'),
      ...params.flatMap((p) => ['--param', p]),
    ],
    {
      cwd: PROJECT_DIR,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'dummy',
        AWS_SECRET_ACCESS_KEY: 'dummy',
        SLS_ESBUILD_WORK_FOLDER: relative(PROJECT_DIR, join(dir, 'sls')),
        SLS_ESBUILD_KEEP_OUTPUT: 'true',
        ...(zipsFrom ? { SLS_ESBUILD_SKIP_BUILD: 'true' } : {}),
        SLS_TELEMETRY_DISABLED: '1',
        TMPDIR: tmp,
      },
      timeout: 300_000,
    },
  );
  return readdir(tmp);
}

/** `serverless package --stage <stage>` with these `--param`s, built once per run. */
export async function packaged(params: string[], stage = 'dev'): Promise<Packaged> {
  const root = inject('packageCache');
  if (!root)
    throw new Error('no package cache: vitest.config.ts must list test/global/packages.ts');
  // Built (or waited for) before this variant's lock is taken: its zips are this one's.
  const zipsFrom = reusesBundles(stage, params) ? await packaged(SCALING_PARAMS) : undefined;
  const key = createHash('sha256')
    .update(JSON.stringify({ inputs: await inputsHash(), stage, params }))
    .digest('hex')
    .slice(0, 16);
  const dir = join(root, key);
  const done = join(dir, 'done.json');
  const lock = `${dir}.lock`;
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const finished = await readFile(done, 'utf8').catch(() => undefined);
    if (finished) {
      return {
        dir,
        packageDir: join(dir, 'package'),
        buildDir: zipsFrom ? zipsFrom.buildDir : join(dir, 'sls', '.build'),
        template: JSON.parse(
          await readFile(join(dir, 'package', 'cloudformation-template-update-stack.json'), 'utf8'),
        ),
        tmpLeftovers: (JSON.parse(finished) as { tmpLeftovers: string[] }).tmpLeftovers,
      };
    }
    try {
      await mkdir(lock);
    } catch {
      // Another file builds it; unless that process died with the lock held.
      const holder = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => '0'));
      if (holder && !alive(holder)) await rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited ${WAIT_MS} ms for the build of ${dir}`);
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      await writeFile(join(lock, 'pid'), String(process.pid));
      await rm(dir, { recursive: true, force: true });
      const tmpLeftovers = await build(dir, stage, params, zipsFrom);
      await writeFile(done, JSON.stringify({ stage, params, tmpLeftovers }));
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}
