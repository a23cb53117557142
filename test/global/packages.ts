import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { SANDBOX_DIR, removeSandboxDirIfEmpty } from '../../src/local/paths.ts';

/*
 * The run's folder of packaged variants (test/support/packaged.ts): in the project's ignored
 * .sandbox/ (serverless-esbuild's work folder must lie inside the project), one per vitest
 * process so two runs never share a half-built variant, removed when the run ends.
 */
export default async function setup(project: TestProject) {
  const root = join(SANDBOX_DIR, `packages-${process.pid}`);
  await mkdir(root, { recursive: true });
  project.provide('packageCache', root);
  return async () => {
    await rm(root, { recursive: true, force: true });
    await removeSandboxDirIfEmpty();
  };
}
