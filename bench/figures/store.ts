import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_DIR, runTs } from '../../src/local/paths.ts';
import type { Family } from '../lib/context.ts';
import type { StoreRow } from '../store.ts';

/**
 * The job store's figures: bench/store.ts in a process of its own, with a clean environment (it
 * sets up its own store environment); its rows join the table as they are.
 */
export const store: Family = {
  name: 'job store',
  async run({ work, rows }) {
    console.log(
      '\nthe job store: units per job lifecycle, the hottest key, reconcile (bench/store.ts)',
    );
    const out = join(work, 'store.json');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [...runTs(join(PROJECT_DIR, 'bench', 'store.ts')), '--json', out],
      {
        cwd: PROJECT_DIR,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: work },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    process.stdout.write(stdout.split('\n| figure |')[0] ?? '');
    const measured = JSON.parse(await readFile(out, 'utf8')) as StoreRow[];
    for (const r of measured) rows.push({ ...r, ratio: r.ours / r.baseline });
  },
};
