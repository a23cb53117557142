import { availableParallelism } from 'node:os';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { configDefaults, defineConfig } from 'vitest/config';

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
  'test/integration/time-bounds.test.ts',
  'test/e2e/lifecycle.test.ts',
  // Small files that take long (their suites are elsewhere): never the run's last.
  'test/contract/admission.test.ts',
  'test/contract/deadlines.test.ts',
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

/**
 * Two pools, one queue: the unit and contract files (in-process fakes and emulators, 115 of the
 * 160 files, a second or less each) each run in a worker thread, which starts in a fraction of a
 * forked process's time; the integration, e2e and bench files, which start sandboxes, child
 * processes and servers, each keep a process of their own. Both projects have the same
 * groupOrder and maxWorkers, so vitest runs them as one group: LongFirst orders every file and
 * MAX_WORKERS bounds them together.
 */
const IN_THREADS = ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    maxWorkers: MAX_WORKERS,
    setupFiles: ['test/setup.ts'],
    sequence: { sequencer: LongFirst },
    projects: [
      {
        extends: true,
        test: { name: 'threads', include: IN_THREADS, pool: 'threads' },
      },
      {
        extends: true,
        test: {
          name: 'forks',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...IN_THREADS],
          pool: 'forks',
          // One sandbox for the e2e files that can share it; one `serverless package` per variant.
          globalSetup: ['test/global/shared-sandbox.ts', 'test/global/packages.ts'],
        },
      },
    ],
  },
});
