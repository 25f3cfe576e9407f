import { defineConfig } from 'vitest/config';

// The warehouse suites start their own warehouse processes and need none of the shared stack, so they can
// also run alone, quickly: npx vitest run --config test/warehouse/vitest.config.ts
export default defineConfig({
  root: new URL('../..', import.meta.url).pathname,
  test: {
    include: ['test/warehouse/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
