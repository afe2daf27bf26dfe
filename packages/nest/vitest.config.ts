import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// Nest reads constructor parameter types from `design:paramtypes`: the transformer must compile
// legacy (experimental) decorators and emit their metadata, as `tsc` does with this package's
// tsconfig. test/module.test.ts checks the metadata and fails if this stops being the case.
export default mergeConfig(
  shared,
  defineConfig({
    oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  }),
);
