import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One vitest configuration for every workspace package: tests resolve workspace packages from
// source through the `source` export condition (no build needed), and use real servers, so the
// timeouts leave room for a loaded 2-core CI machine. The matrix reporter prints the counts per
// framework and version (see tools/testing/src/matrix-reporter.ts).
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: ['default', fileURLToPath(new URL('./tools/testing/src/matrix-reporter.ts', import.meta.url))],
  },
});
