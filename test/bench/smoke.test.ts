import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_DIR, runTs } from '../../src/local/paths.ts';
import { SCALING_PARAMS, packaged, type Packaged } from '../support/packaged.ts';

/*
 * The benchmark's smoke variant: every figure is measured (a few iterations each) and written, so
 * `npm run bench` cannot rot unnoticed. Thresholds are the full run's business, except the ones
 * that hold even on a noisy, loaded machine.
 */

let dir: string | undefined;
let built: Packaged;
// The bundles the package tests build in this run: the bench measures them, not a build of its
// own.
beforeAll(async () => {
  built = await packaged(SCALING_PARAMS);
}, 360_000);
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

interface Results {
  smoke: boolean;
  sizes: Record<string, number>;
  rows: { figure: string; ours: number; baseline: number; ratio: number; pass?: boolean }[];
  notes: { cpuPerNotificationMs: number };
}

describe('npm run bench -- --smoke', () => {
  it('measures every figure against its baseline and writes results.json', async () => {
    dir = await mkdtemp(join(tmpdir(), 'async-jobs-bench-'));
    const out = join(dir, 'results.json');
    await promisify(execFile)(
      process.execPath,
      [
        ...runTs(join(PROJECT_DIR, 'bench', 'bench.ts')),
        '--smoke',
        '--out',
        out,
        '--packaged',
        built.dir,
      ],
      // Only a guard against a hang: about a minute alone on two cores, three beside another
      // file on a busy machine (where 180 s ran out).
      { cwd: PROJECT_DIR, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
    );
    const results = JSON.parse(await readFile(out, 'utf8')) as Results;
    expect(results.smoke).toBe(true);
    const figures = results.rows.map((r) => r.figure);
    for (const f of [
      'cold start onSuccess vs floor',
      'cold start getJob vs empty',
      'peak RSS, 16 MiB output',
      'throughput with the emulators',
      'throughput with the emulators, naive handler writing our transition',
      'throughput with the emulators vs the same write',
      'model finished -> result visible',
      'model finished -> wait answered',
      'batch submission rate, local runtime',
      'POST /jobs rate through the sandbox vs its emulators',
      'write units per lifecycle, 64 KiB output',
      'hottest partition key at 10,000 jobs/s, 64 KiB (scale simulation)',
      'reconcile: index entries read per run, 100,000 pending',
      'sequential round trips on the notification path (responseBody, first delivery)',
    ]) {
      expect(figures).toContain(f);
    }
    for (const r of results.rows) {
      // A figure may be zero (no read units on the notification path); a baseline never is.
      expect(r.ours).toBeGreaterThanOrEqual(0);
      expect(r.baseline).toBeGreaterThan(0);
      expect(r.ratio).toBeCloseTo(r.ours / r.baseline, 6);
    }
    // Units and keys are computed from the real items by DynamoDB's rules, not timed: they hold
    // on any machine.
    const figure = (name: string) => results.rows.find((r) => r.figure === name)!;
    for (const size of ['30 KiB', '64 KiB']) {
      expect(figure(`write units per lifecycle, ${size} output`).pass).toBe(true);
    }
    expect(figure('hottest partition key at 10,000 jobs/s, 64 KiB (scale simulation)').pass).toBe(
      true,
    );
    // Robust even on a loaded machine: outputs above the inline limit are never held whole.
    const rss = results.rows.find((r) => r.figure.startsWith('peak RSS'))!;
    expect(rss.ratio).toBeLessThan(1.2);
    expect(results.notes.cpuPerNotificationMs).toBeLessThan(2);
    expect(results.sizes.onSuccess).toBeGreaterThan(0);
  }, 320_000);
});
