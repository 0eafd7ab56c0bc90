import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous, because CI machines are shared: these bound a hung test, they do not measure speed.
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
