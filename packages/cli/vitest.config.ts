import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

export default mergeConfig(
  shared,
  defineConfig({ test: { globalSetup: ['test/global-setup.ts'], testTimeout: 60_000 } }),
);
