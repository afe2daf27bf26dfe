import { defineConfig } from 'vitest/config';

// The tests run the built demo (dist/main.js) as a child process; the `test` script builds first.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
