import type { ServerRequest } from '@tracewire/core';
import { getServerRequest } from '@tracewire/core';

/**
 * The key under which `otelKoa` puts the request's {@link ServerRequest} on `ctx.state`. The
 * property is non-enumerable, so spreading or serializing `ctx.state` (template locals, JSON
 * logging) does not pick up the span.
 */
export const OTEL_STATE_KEY = 'otel';

/**
 * What `otelKoa` adds to `ctx.state`, for typed applications: `new Koa<OtelKoaState>()` or
 * `Router<OtelKoaState>`. Absent for ignored requests.
 */
export interface OtelKoaState {
  /** The request's server span, its context, `setRoute` and `recordException`. */
  otel?: ServerRequest;
}

/**
 * The tracewire server request (span, context, `setRoute`, `recordException`) of a Koa context,
 * or `undefined` when the request is not instrumented (ignored, or `otelKoa` not mounted).
 * Equivalent to `ctx.state.otel`, but also works when an upstream middleware replaced `ctx.state`.
 *
 * @example
 * router.get('/orders/:id', (ctx) => {
 *   getKoaServerRequest(ctx)?.span.setAttribute('app.order_id', ctx.params.id);
 * });
 */
export function getKoaServerRequest(ctx: { req?: object } | null | undefined): ServerRequest | undefined {
  const req = ctx?.req;
  return typeof req === 'object' && req !== null ? getServerRequest(req) : undefined;
}
