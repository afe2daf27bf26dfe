import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpInstrumentationOptions } from '@tracewire/core';
import { describeType, isSharedHttpOption, validateHttpOptions } from '@tracewire/core';
import { SCOPE_NAME } from './version.js';

/**
 * Options of `OtelModule.forRoot()`: the shared tracewire HTTP options (see `@tracewire/core`:
 * `tracerProvider`, `meterProvider`, `propagator`, `ignore`, `spanNameFormatter`, hooks, header
 * capture, `publicEndpoint`, `traceResponseHeader`) plus the Nest-specific ones below.
 *
 * @example
 * const options: OtelModuleOptions = { problemDetails: true, ignore: ['/health'] };
 */
export interface OtelModuleOptions extends HttpInstrumentationOptions<IncomingMessage, ServerResponse> {
  /**
   * Register a global exception filter that answers `application/problem+json` (RFC 9457) with
   * the `traceId` (the status stays the exception's: `HttpException.getStatus()`, else 500). Off
   * by default: the module is transparent, Nest's own exception responses
   * (`{ statusCode, message, error }`) and your filters' answers go out unchanged; the status sent
   * is recorded either way.
   * @default false
   */
  problemDetails?: boolean;
  /** Base URI of the problem `type` member. @default 'about:blank' */
  typeBaseUri?: string;
  /**
   * platform-express: start the HTTP server span from an Express middleware registered on the
   * application as soon as the module is created, so it runs before the body parser and every
   * Nest middleware, guard, interceptor and pipe (with `Test.createTestingModule`, when Nest
   * configures the module's middleware: after the body parser). When false, the span starts in a
   * Nest middleware bound to all routes. platform-fastify always uses `@tracewire/fastify`'s hooks.
   * @default true
   */
  earlyMiddleware?: boolean;
}

/** Nest-specific option names (everything else must be a shared HTTP option). */
const NEST_KEYS = new Set(['problemDetails', 'typeBaseUri', 'earlyMiddleware']);

/**
 * Validates module options; a wrong type throws a `TypeError` naming the option, at bootstrap.
 * @internal
 */
export function validateModuleOptions(options: unknown): OtelModuleOptions {
  if (options === undefined) return {};
  validateHttpOptions(options, SCOPE_NAME);
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!NEST_KEYS.has(key) && !isSharedHttpOption(key)) {
      throw new TypeError(`${SCOPE_NAME}: unknown option "${key}"`);
    }
  }
  for (const key of ['problemDetails', 'earlyMiddleware']) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') {
      throw new TypeError(`${SCOPE_NAME}: options.${key} must be a boolean, got ${describeType(o[key])}`);
    }
  }
  if (o.typeBaseUri !== undefined && typeof o.typeBaseUri !== 'string') {
    throw new TypeError(
      `${SCOPE_NAME}: options.typeBaseUri must be a string, got ${describeType(o.typeBaseUri)}`,
    );
  }
  return { ...(o as OtelModuleOptions) };
}
