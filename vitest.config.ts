import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Threads crash when several files load swc-bundled workflows: use processes.
    pool: 'forks',
    // Most of a test's time is spent waiting on Temporal timers, not on CPU.
    maxWorkers: 4,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
