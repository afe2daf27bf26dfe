import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TracerProvider } from '@opentelemetry/api';
import { context } from '@opentelemetry/api';
import type { HttpServerInstrumentation } from '@tracewire/core';
import { TRACER_PROVIDER_KEY } from './tracer.js';

type Next = (error?: unknown) => void;

/** The (req, res, next) function both the early Express middleware and the Nest middleware run. */
export type NestHttpHandler = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

/**
 * Starts the request's SERVER span through the core lifecycle (which skips a request that already
 * has one: `otelExpress()` mounted too, or the early and the Nest middleware both running) and
 * runs the rest of the request in its context, which also carries the module's tracer provider
 * for `@Span` and `TraceService`.
 */
export function createHttpHandler(
  instrumentation: HttpServerInstrumentation,
  tracerProvider: TracerProvider | undefined,
): NestHttpHandler {
  return function otelNestMiddleware(req: IncomingMessage, res: ServerResponse, next: Next): void {
    const request = instrumentation.start(req, res);
    if (request === undefined && tracerProvider === undefined) {
      next();
      return;
    }
    let ctx = request?.context ?? context.active();
    if (tracerProvider !== undefined) ctx = ctx.setValue(TRACER_PROVIDER_KEY, tracerProvider);
    context.with(ctx, next);
  };
}
