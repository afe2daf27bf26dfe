import { context, isValidSpanId, isValidTraceId, trace } from '@opentelemetry/api';

/** A valid (non-zero, lower-case hex) trace id / span id pair. */
export interface SpanIds {
  readonly traceId: string;
  readonly spanId: string;
}

/**
 * The ids of the span in the active context, or `undefined` when there is none or it is invalid
 * (e.g. the all-zero `INVALID_SPAN_CONTEXT` a non-recording tracer hands out). Never throws: a
 * broken context manager must not turn error handling into a second error.
 */
export function activeSpanIds(): SpanIds | undefined {
  try {
    const spanContext = trace.getSpanContext(context.active());
    if (spanContext === undefined) return undefined;
    return validSpanIds(spanContext.traceId, spanContext.spanId);
  } catch {
    return undefined;
  }
}

/** Both ids when both are valid W3C Trace Context ids (32 / 16 hex digits, not all zero). */
export function validSpanIds(traceId: unknown, spanId: unknown): SpanIds | undefined {
  if (typeof traceId !== 'string' || typeof spanId !== 'string') return undefined;
  if (!isValidTraceId(traceId) || !isValidSpanId(spanId)) return undefined;
  // W3C Trace Context §3.2.2.3 uses lower-case hex; normalise so the ids are safe everywhere
  // (headers, gRPC metadata) and compare equal across producers.
  return { traceId: traceId.toLowerCase(), spanId: spanId.toLowerCase() };
}

/** A valid trace id (lower-cased), or `undefined`. */
export function validTraceId(traceId: unknown): string | undefined {
  return typeof traceId === 'string' && isValidTraceId(traceId) ? traceId.toLowerCase() : undefined;
}
