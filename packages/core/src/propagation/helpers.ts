import {
  type Context,
  context as contextApi,
  propagation,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { httpHeaderGetter, httpHeaderSetter } from './carriers.js';
import { rateLimitedDiag } from './internal/diag.js';
import { w3cPropagator } from './w3c-propagator.js';

/** The built-in propagator used when neither an explicit nor a global one is configured. */
const BUILT_IN: TextMapPropagator = w3cPropagator();

/**
 * Chooses the propagator for a request:
 * 1. `explicit`, if given;
 * 2. else the globally registered propagator, if it is not the no-op one (detected by a non-empty
 *    `propagation.fields()`). The `propagation` API object is returned: it delegates every call to the
 *    registered global, so a later `setGlobalPropagator` / `disable` is honoured;
 * 3. else a shared built-in `w3cPropagator()`.
 *
 * Cheap enough to call per request (one global lookup). Never throws.
 */
export function resolvePropagator(explicit?: TextMapPropagator): TextMapPropagator {
  if (explicit !== undefined && explicit !== null) return explicit;
  try {
    if (propagation.fields().length > 0) return propagation;
  } catch {
    // A throwing global propagator is treated as absent.
  }
  return BUILT_IN;
}

/** Options of {@link injectContext}. */
export interface InjectContextOptions {
  /** Context to inject; default `context.active()`. */
  context?: Context;
  /** Propagator; default `resolvePropagator()`. */
  propagator?: TextMapPropagator;
  /** Setter; default {@link httpHeaderSetter}. */
  setter?: TextMapSetter<any>;
}

/** Options of {@link extractContext}. */
export interface ExtractContextOptions {
  /** Context to extract into; default `context.active()`. */
  context?: Context;
  /** Propagator; default `resolvePropagator()`. */
  propagator?: TextMapPropagator;
  /** Getter; default {@link httpHeaderGetter}. */
  getter?: TextMapGetter<any>;
}

/**
 * Injects the context (default: the active one) into a plain header object, e.g. the `headers` of an
 * outgoing `http.request` or `fetch`. Never throws.
 */
export function injectContext(carrier: Record<string, unknown>, options?: InjectContextOptions): void {
  try {
    const ctx = options?.context ?? contextApi.active();
    resolvePropagator(options?.propagator).inject(ctx, carrier, options?.setter ?? httpHeaderSetter);
  } catch {
    rateLimitedDiag('warn', 'propagator-failed', 'propagator inject threw; headers not injected');
  }
}

/**
 * Extracts a context from incoming headers (default: Node `req.headers` via {@link httpHeaderGetter})
 * on top of `options.context` (default: the active context). Never throws: if the propagator throws or
 * returns something that is not a context, the base context is returned unchanged.
 */
export function extractContext(carrier: unknown, options?: ExtractContextOptions): Context {
  let base: Context;
  try {
    base = options?.context ?? contextApi.active();
  } catch {
    return contextApi.active();
  }
  try {
    const result: unknown = resolvePropagator(options?.propagator).extract(
      base,
      carrier,
      options?.getter ?? httpHeaderGetter,
    );
    return isContext(result) ? result : base;
  } catch {
    rateLimitedDiag('warn', 'propagator-failed', 'propagator extract threw; context left unchanged');
    return base;
  }
}

function isContext(value: unknown): value is Context {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Context).getValue === 'function' &&
    typeof (value as Context).setValue === 'function'
  );
}
