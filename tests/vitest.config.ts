import { defineConfig } from 'vitest/config';

// Integration and end-to-end tests against the real engines; run by `npm test` after infra/up.
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', 'faults/full/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: 'forks',
    // Engines (testcontainers when TEST_ENGINES=testcontainers), then the fault suite's summary table.
    globalSetup: ['support/engines.global.ts', 'faults/summary.global.ts'],
  },
});
