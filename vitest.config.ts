import { defineConfig } from 'vitest/config';

// Unit tests of every workspace in one run (`npx vitest run`); integration tests have their own config in tests/.
export default defineConfig({
  test: {
    projects: ['shared', 'collector', 'processor', 'reporter', 'admin'].map((name) => ({
      test: { name, root: `./${name}`, include: ['src/**/*.test.ts'] },
    })),
  },
});
