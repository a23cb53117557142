import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The few long files first, the longest first: on a fresh clone (CI) vitest has no timings yet and
 * orders by file size, which started the bench smoke test (the longest by far, a small file) last
 * and left one core idle at the end. The rest keep vitest's own order. Two workers take them (two
 * cores): most of the long ones wait on a sandbox, a child process or a timer. `npm test` runs the
 * bench smoke test on its own afterwards: it loads both cores, and a sandbox beside it then sees
 * serverless-offline time its Lambdas out.
 */
const LONG_FIRST = [
  'test/e2e/sandbox.test.ts',
  'test/integration/package.test.ts',
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

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    setupFiles: ['test/setup.ts'],
    sequence: { sequencer: LongFirst },
  },
});
