import { defineConfig } from 'vitest/config';

// The tests run the built demo (dist/main.js, which spawns dist/services/*.js) as child processes;
// the `test` script builds first. One short run takes ~10-15 s on a 2-core machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 90_000,
    fileParallelism: false,
  },
});
