import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at a time: most of the long ones wait on a sandbox, a child process or a timer,
    // so two workers keep both cores of a CI runner busy (vitest's default leaves one idle there).
    maxWorkers: 2,
    setupFiles: ['test/setup.ts'],
  },
});
