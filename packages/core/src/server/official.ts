import type { Context, Span } from '@opentelemetry/api';

/**
 * The context key under which `@opentelemetry/core`'s `setRPCMetadata` stores the RPC metadata of
 * the request being served. `createContextKey` in `@opentelemetry/api` is `Symbol.for(description)`,
 * so the key is reachable through the API alone, without depending on `@opentelemetry/core`.
 * `@opentelemetry/instrumentation-http` sets `{ type: 'http', span }` around the `request` listener;
 * framework instrumentations (Express, Koa, `@fastify/otel`) write `route` into that same object,
 * and instrumentation-http reads it back when the response closes (span `http.route`, span name
 * `METHOD route`, and the `http.route` of its `http.server.request.duration`).
 */
export const RPC_METADATA_KEY: symbol = Symbol.for('OpenTelemetry SDK Context Key RPC_METADATA');

/** The shape `@opentelemetry/core` gives the HTTP RPC metadata (`RPCType.HTTP` is `'http'`). */
export interface HttpRpcMetadata {
  type: 'http';
  span: Span;
  route?: string;
}

/**
 * The HTTP RPC metadata another instrumentation left in `ctx` for the request being served, if it
 * is well formed (an object of type `'http'` with a span). Never throws.
 */
export function getHttpRpcMetadata(ctx: Context): HttpRpcMetadata | undefined {
  try {
    const value: unknown = ctx.getValue(RPC_METADATA_KEY);
    if (value === undefined || value === null || typeof value !== 'object') return undefined;
    const meta = value as { type?: unknown; span?: unknown };
    if (meta.type !== 'http') return undefined;
    const span = meta.span as { spanContext?: unknown } | null | undefined;
    if (span === null || typeof span !== 'object' || typeof span.spanContext !== 'function') return undefined;
    return value as HttpRpcMetadata;
  } catch {
    return undefined;
  }
}
