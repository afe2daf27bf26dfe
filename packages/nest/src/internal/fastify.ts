import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpInstrumentationOptions } from '@tracewire/core';
import { getServerRequest, isSharedHttpOption } from '@tracewire/core';
import { type FastifyInstanceLike, instrumentFastify } from '@tracewire/fastify';
import type { OtelModuleOptions } from '../options.js';
import type { NestRouteTable } from './route-table.js';

type Options = HttpInstrumentationOptions<IncomingMessage, ServerResponse>;

/**
 * Instruments the Fastify instance of a Nest application on `@nestjs/platform-fastify` with
 * `@tracewire/fastify` (its `onRequest` hook starts the span once Fastify matched the route, so
 * the route template is the one Nest registered, global prefix and URI version included). The
 * controller and handler names are added when the response ends, before the user's
 * `responseHook`.
 */
export function instrumentNestFastify(
  instance: unknown,
  options: OtelModuleOptions,
  table: NestRouteTable,
): void {
  const shared: Options = {};
  for (const [key, value] of Object.entries(options)) {
    if (isSharedHttpOption(key)) (shared as Record<string, unknown>)[key] = value;
  }
  const userHook = options.responseHook;
  shared.responseHook = function nestResponseHook(span, response) {
    const request = (response as { req?: IncomingMessage }).req;
    if (request !== undefined) {
      const names = table.lookup(request.method, getServerRequest(request)?.route);
      if (names !== undefined) span.setAttributes(names);
    }
    // The instrumentation contains a throw of either part.
    userHook?.(span, response);
  };
  instrumentFastify(instance as FastifyInstanceLike, shared);
}
