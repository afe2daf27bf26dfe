import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// The whole suite runs once per tested @grpc/grpc-js line. In a user's application the peer
// resolves to their copy; here the 1.10 line is the devDependency `grpc-js-1.10`
// (npm:@grpc/grpc-js@1.10.12), aliased for the test files AND for the package's own sources
// (src is transformed by vite through the `source` export condition, so the alias applies to its
// imports too; test/version.test.ts proves which copy both sides loaded). The project names carry
// the version, so the matrix reporter counts the tests per version.
export default mergeConfig(
  shared,
  defineConfig({
    test: {
      projects: [
        {
          extends: true,
          test: { name: 'grpc-js 1.14', provide: { grpcJsLine: '1.14' } },
        },
        {
          extends: true,
          resolve: { alias: [{ find: /^@grpc\/grpc-js(?=\/|$)/, replacement: 'grpc-js-1.10' }] },
          test: { name: 'grpc-js 1.10', provide: { grpcJsLine: '1.10' } },
        },
      ],
    },
  }),
);
