import { type Context, context, isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';

/**
 * The trace correlation fields of a log record, as the OpenTelemetry specification names them
 * for non-OTLP formats (`specification/compatibility/logging_trace_context.md`): lowercase hex
 * ids and the flags as two hex digits.
 */
export interface TraceFields {
  /** 32 lowercase hex digits. */
  trace_id: string;
  /** 16 lowercase hex digits. */
  span_id: string;
  /** Two lowercase hex digits (`01` = sampled); absent when unknown. */
  trace_flags?: string;
}

/** The top-level field names this package writes; application values with these names are moved. */
export const TRACE_FIELD_NAMES: readonly string[] = Object.freeze(['trace_id', 'span_id', 'trace_flags']);

/**
 * The trace fields of the span in `ctx` (default: the active context), or `undefined` when there
 * is no valid span: never all-zero ids. Never throws. Useful to correlate output that does not go
 * through {@link createLogger}.
 *
 * @example
 * ```ts
 * const fields = traceFields(); // { trace_id: '4bf9…', span_id: '00f0…', trace_flags: '01' } | undefined
 * ```
 */
export function traceFields(ctx?: Context): TraceFields | undefined {
  try {
    return fieldsOf(trace.getSpanContext(ctx ?? context.active()));
  } catch {
    return undefined;
  }
}

/** The fields of a span context, or `undefined` when it is missing or invalid. */
export function fieldsOf(spanContext: SpanContext | undefined): TraceFields | undefined {
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return undefined;
  // isValidTraceId accepts upper-case hex; W3C Trace Context and the logging spec want lowercase.
  return {
    trace_id: spanContext.traceId.toLowerCase(),
    span_id: spanContext.spanId.toLowerCase(),
    trace_flags: ((spanContext.traceFlags & 0xff) | 0x100).toString(16).slice(1),
  };
}
