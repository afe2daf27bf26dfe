import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../vitest.shared.ts';

// The NestJS matrix workspaces (tests/nest10, tests/nest11) share this vitest configuration. Their
// tests are packages/nest's shared suites (packages/nest/test/suites) run against this
// workspace's own Nest (10 or 11). Those files and @tracewire/nest's sources (resolved through the
// `source` condition) live under packages/nest, whose imports would otherwise resolve to the root's
// Nest 12: `dedupe` resolves these packages from this workspace instead, whoever imports them
// (test/resolution.test.ts proves it). Decorators as in packages/nest/vitest.config.ts: legacy, with
// the design:paramtypes metadata Nest and ValidationPipe read.
const OWN_COPIES = [
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/platform-express',
  '@nestjs/platform-fastify',
  '@nestjs/microservices',
  '@nestjs/testing',
  'express',
  'fastify',
];

export default mergeConfig(
  shared,
  defineConfig({
    oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
    resolve: { dedupe: OWN_COPIES },
  }),
);
