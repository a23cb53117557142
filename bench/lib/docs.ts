import { readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { PROJECT_DIR } from '../../src/local/paths.ts';

/** The page whose performance table `--update-readme` (alias `--update-docs`) rewrites. */
export const PERFORMANCE_DOC = join(PROJECT_DIR, 'docs', 'performance.md');
export const START = '<!-- bench:start -->';
export const END = '<!-- bench:end -->';

/** The markers a generated block lies between; a page other than performance.md has its own. */
export interface Markers {
  start: string;
  end: string;
}
const BENCH: Markers = { start: START, end: END };

/**
 * The page's text and where its markers are; throws, naming the file and the markers, when the
 * file or its markers are missing (this never creates them).
 */
export async function readBenchBlock(
  file = PERFORMANCE_DOC,
  { start, end }: Markers = BENCH,
): Promise<{ page: string; i: number; j: number }> {
  const name = relative(PROJECT_DIR, file);
  const missing = `put the lines ${start} and ${end} in ${name} where the table goes`;
  let page: string;
  try {
    page = await readFile(file, 'utf8');
  } catch {
    throw new Error(`${name} does not exist: create it and ${missing}`);
  }
  const i = page.indexOf(start);
  const j = page.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${name} has no bench markers: ${missing}`);
  return { page, i, j };
}

/**
 * Replaces what lies between the bench markers of `file` with `body` (the markers stay), formatted
 * as `npm run check` expects so the rewritten page passes the format check.
 */
export async function writeBenchBlock(
  body: string,
  file = PERFORMANCE_DOC,
  markers: Markers = BENCH,
): Promise<void> {
  const { page, i, j } = await readBenchBlock(file, markers);
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(file)) ?? {};
  const text = await prettier.format(
    `${page.slice(0, i)}${markers.start}\n${body}${page.slice(j)}`,
    {
      ...options,
      filepath: file,
    },
  );
  await writeFile(file, text);
  console.log(`${relative(PROJECT_DIR, file)}: table updated`);
}
