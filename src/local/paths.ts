import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** The project's root folder, where serverless.yml lives. */
export const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The Serverless Framework CLI (osls) installed with the project. */
export function serverlessBin(): string {
  return require.resolve('serverless/bin/serverless.js');
}
