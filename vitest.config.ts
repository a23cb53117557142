import { availableParallelism } from 'node:os';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The long files first, the longest first, so the run ends on short ones: on a fresh clone (CI)
 * vitest has no timings yet and orders by file size, which starts a long file that is small
 * last. The package tests lead: the bench smoke test measures the bundles they build
 * (test/support/packaged.ts), so they are ready by the time it starts. The rest keep vitest's
 * own order (by the last run's durations when it has them).
 */
const LONG_FIRST = [
  'test/integration/package.test.ts',
  'test/e2e/sandbox.test.ts',
  'test/e2e/console.test.ts',
  'test/e2e/queue.test.ts',
  'test/bench/smoke.test.ts',
  'test/e2e/model-url.test.ts',
  'test/e2e/scaling.test.ts',
  'test/integration/chaos.test.ts',
  'test/integration/batches.test.ts',
];

class LongFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = LONG_FIRST.findIndex((path) => f.moduleId.endsWith(path));
      return i < 0 ? LONG_FIRST.length : i;
    };
    return sorted
      .map((file, order) => ({ file, order }))
      .sort((a, b) => rank(a.file) - rank(b.file) || a.order - b.order)
      .map(({ file }) => file);
  }
}

/**
 * Files at once: one per core, at most four. Most long files wait on a child process (a
 * `serverless package`, the CLI, the bench) or on a sandbox, so two cores keep two files busy;
 * beyond four the run cannot end sooner than its longest file (about a minute) anyway, and each
 * more file at once is more load on the sandboxes the e2e files drive. Not vitest's default of
 * CPUs - 1: on a large machine that runs dozens at once.
 */
const MAX_WORKERS = Math.min(4, Math.max(1, availableParallelism()));

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: MAX_WORKERS,
    setupFiles: ['test/setup.ts'],
    // One sandbox for the e2e files that can share it; one `serverless package` per variant.
    globalSetup: ['test/global/shared-sandbox.ts', 'test/global/packages.ts'],
    sequence: { sequencer: LongFirst },
  },
});
