import { defineConfig } from 'vitest/config';

// One vitest configuration for every workspace package: tests resolve workspace packages from
// source through the `source` export condition (no build needed), and use real servers, so the
// timeouts leave room for a loaded 2-core CI machine.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
