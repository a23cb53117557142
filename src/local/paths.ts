import { rmdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/** The project's root folder, where serverless.yml lives. */
export const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The Serverless Framework CLI (osls) installed with the project. */
export function serverlessBin(): string {
  return require.resolve('serverless/bin/serverless.js');
}

/**
 * The node arguments that run a TypeScript file as `npm start` does: tsx without its cache in the
 * system temp dir (bin/run-ts.mjs). For scripts that start another TypeScript process.
 */
export function runTs(script: string): string[] {
  return ['--import', pathToFileURL(resolve(PROJECT_DIR, 'bin', 'run-ts.mjs')).href, script];
}

/** The project's ignored work folder: sandbox builds and state, test and bench scratch. */
export const SANDBOX_DIR = join(PROJECT_DIR, '.sandbox');

/**
 * Removes `.sandbox/` when nothing is left in it (a run that made it leaves no empty folder
 * behind); kept when it holds anything, such as the sandbox's state.
 */
export async function removeSandboxDirIfEmpty(dir = SANDBOX_DIR): Promise<void> {
  await rmdir(dir).catch(() => undefined);
}
