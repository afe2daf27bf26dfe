import { noteClientSpan } from '@tracewire/core';

/**
 * Beside `@opentelemetry/instrumentation-pg`: that instrumentation patches `Client.prototype.query`
 * of `pg` (through shimmer, which marks the functions it wraps with `__wrapped: true`) and makes a
 * CLIENT span for every query. `tracePg` on top of it would give each query two CLIENT spans (its own,
 * and the official one under it). So when the query would reach a patched `query`, tracewire leaves
 * the query to the official instrumentation: no tracewire span and no tracewire
 * `db.client.operation.duration` for it. The pool metrics (`db.client.connection.*`) stay
 * tracewire's. Removing instrumentation-pg (`OTEL_NODE_DISABLED_INSTRUMENTATIONS=pg`) gives the
 * queries tracewire's spans again, with sanitized SQL and the pg error mapping.
 */

function isShimmerWrapped(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as { __wrapped?: unknown }).__wrapped === true;
}

function protoQuery(ctor: unknown): unknown {
  if (typeof ctor !== 'function') return undefined;
  return (ctor as { prototype?: { query?: unknown } }).prototype?.query;
}

/**
 * Whether a query through `target` (a pg `Client` or pg-pool `Pool`), whose original `query` is
 * `original`, reaches a `query` patched by the official instrumentation. Never throws.
 */
export function officialPgInstrumentationActive(target: unknown, original: unknown): boolean {
  try {
    if (isShimmerWrapped(original)) return true;
    if (typeof target !== 'object' || target === null) return false;
    // A pool: the Client class its clients are made from (pg-pool keeps it as `Client`).
    if (isShimmerWrapped(protoQuery((target as { Client?: unknown }).Client))) return true;
    // A client: its class's query.
    return isShimmerWrapped((Object.getPrototypeOf(target) as { query?: unknown } | null)?.query);
  } catch {
    return false;
  }
}

/** Records, for `tracewire doctor`, that a query was left to the official instrumentation. */
export function noteOfficialPgQuery(): void {
  noteClientSpan(true, undefined, 'pg', '@tracewire/pg');
}
