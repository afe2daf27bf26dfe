// Which Nest the shared test code and @tracewire/nest's sources see. tests/nest10 and tests/nest11
// run packages/nest/src and packages/nest/test through vite: their `@nestjs/*` imports must resolve
// to the workspace's own copies (resolve.dedupe in its vitest.config.ts), not the root's Nest 12,
// or DI tokens and `instanceof HttpException` break.
import 'reflect-metadata';
import { HttpException } from '@nestjs/common';
import corePackage from '@nestjs/core/package.json' with { type: 'json' };
import fastifyPackage from '@nestjs/platform-fastify/package.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';
import { OtelModule } from '../../src/index.js';
import { toNestTracedError } from '../../src/internal/nest-error.js';

/** What the workspace running the suite imported itself (from its own node_modules). */
export interface LocalNest {
  major: number;
  HttpException: typeof HttpException;
  HttpAdapterHost: unknown;
  ModulesContainer: unknown;
  coreVersion: string;
}

/** Registers the resolution checks of one Nest major (`label` e.g. `nest 10 (express)`). */
export function describeResolution(label: string, local: LocalNest): void {
  describe(`${label}: module resolution (the Nest copy @tracewire/nest and the shared tests see)`, () => {
    it(`the workspace itself imports Nest ${local.major}`, () => {
      expect(local.coreVersion.split('.')[0]).toBe(String(local.major));
    });

    it('the shared test code (next to the sources) resolves the same @nestjs/core and platform-fastify', () => {
      expect(corePackage.version).toBe(local.coreVersion);
      expect(fastifyPackage.version.split('.')[0]).toBe(String(local.major));
      expect(HttpException).toBe(local.HttpException);
    });

    it("OtelModule's injection tokens are the workspace's HttpAdapterHost and ModulesContainer classes", () => {
      // Explicit @Inject() tokens, stored by the sources' own @nestjs/common under self:paramtypes.
      const tokens = Reflect.getMetadata('self:paramtypes', OtelModule) as {
        index: number;
        param: unknown;
      }[];
      expect(tokens.find((t) => t.index === 2)?.param).toBe(local.HttpAdapterHost);
      expect(tokens.find((t) => t.index === 3)?.param).toBe(local.ModulesContainer);
    });

    it("@tracewire/nest's sources recognise the workspace's HttpException (instanceof works)", () => {
      const traced = toNestTracedError(new local.HttpException('short and stout', 418));
      expect(traced.httpStatus).toBe(418);
      expect(traced.message).toBe('short and stout');
    });
  });
}
