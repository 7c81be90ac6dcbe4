import { defineConfig } from 'vitest/config';

/**
 * Two tiers (docs/testing.md). `unit`: nothing started beforehand, seconds; activities against in-process
 * stand-ins, workflow branches on a time-skipping test server that each file starts for itself.
 * `e2e`: one real Temporal dev server for the run, workers and processes, the fault suite, replay.
 */
export default defineConfig({
  test: {
    // Threads crash when several files load swc-bundled workflows: use processes.
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          globalSetup: ['test/support/unit-global-setup.ts'],
          // A workflow test file starts a JVM, which the SDK gives 5 s to listen: two at a time on two cores.
          maxWorkers: 2,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          // Most of a test's time is spent waiting on Temporal timers, not on CPU.
          maxWorkers: 4,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
