import { defineConfig } from 'vitest/config';

// One real stack (PostgreSQL, Temporal, the warehouse) for the whole run, started by the global set-up on
// free ports; suites that need their own processes (the launcher, the warehouse server) start them.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/quiet-temporal.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
