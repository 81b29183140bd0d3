import { defineConfig } from 'vitest/config';

// Unit tests of this workspace alone (`cd processor && npx vitest run`).
export default defineConfig({ test: { include: ['src/**/*.test.ts'] } });
