import {
  type Context,
  propagation,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type TraceState,
  trace,
} from '@opentelemetry/api';
import { parseBaggage, serializeBaggage } from './baggage.js';
import { httpHeaderGetter, httpHeaderSetter } from './carriers.js';
import { BAGGAGE_HEADER, FLAG_RANDOM, TRACEPARENT_HEADER, TRACESTATE_HEADER } from './constants.js';
import { rateLimitedDiag } from './internal/diag.js';
import { formatTraceparent, parseTraceparent } from './traceparent.js';
import { parseTraceState, type TraceStateParseMode, W3CTraceState } from './tracestate.js';

/** Options of {@link w3cPropagator}. */
export interface W3CPropagatorOptions {
  /** Propagate `traceparent` / `tracestate` (W3C Trace Context Level 2). Default true. */
  traceContext?: boolean;
  /** Propagate `baggage` (W3C Baggage). Default true. */
  baggage?: boolean;
  /**
   * An incoming `tracestate` with an invalid or duplicated member: `'strict'` discards the whole
   * header (W3C test suite, strict level 2), `'drop-invalid-members'` keeps the valid members.
   * @default 'strict'
   */
  tracestate?: TraceStateParseMode;
}

/**
 * The trace id whose incoming `traceparent` carried the random flag (0x02). W3C Trace Context Level 2
 * has the flag propagated unchanged on every outgoing `traceparent` of the trace, but SDK spans keep
 * only the sampled bit: `extract` remembers it in the context (which every span of the request
 * descends from), `inject` sets it again for that trace. A `Symbol.for` key, so every copy agrees.
 */
const RANDOM_TRACE_ID_KEY = Symbol.for('tracewire.w3c.random-trace-id');

/**
 * Whether the trace `traceId` arrived with the W3C Level 2 random flag (0x02) in `ctx` (set by
 * `extract` of the tracewire propagator). Never throws.
 */
export function hasRandomTraceFlag(ctx: Context, traceId: string): boolean {
  try {
    return ctx.getValue(RANDOM_TRACE_ID_KEY) === traceId;
  } catch {
    return false;
  }
}

/**
 * The context key of `suppressTracing()` in `@opentelemetry/core` (`createContextKey` is `Symbol.for`).
 * Like the OpenTelemetry W3C propagators, nothing is injected while tracing is suppressed.
 */
const SUPPRESS_TRACING_KEY = Symbol.for('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

function freezeFields(fields: string[]): string[] {
  return Object.freeze(fields) as string[];
}

const FIELDS_ALL = freezeFields([TRACEPARENT_HEADER, TRACESTATE_HEADER, BAGGAGE_HEADER]);
const FIELDS_TRACE = freezeFields([TRACEPARENT_HEADER, TRACESTATE_HEADER]);
const FIELDS_BAGGAGE = freezeFields([BAGGAGE_HEADER]);
const FIELDS_NONE = freezeFields([]);

class W3CPropagator implements TextMapPropagator {
  readonly #traceContext: boolean;
  readonly #baggage: boolean;
  readonly #tracestate: TraceStateParseMode;
  readonly #fields: string[];

  constructor(traceContext: boolean, baggage: boolean, tracestate: TraceStateParseMode) {
    this.#traceContext = traceContext;
    this.#baggage = baggage;
    this.#tracestate = tracestate;
    this.#fields = traceContext
      ? baggage
        ? FIELDS_ALL
        : FIELDS_TRACE
      : baggage
        ? FIELDS_BAGGAGE
        : FIELDS_NONE;
  }

  inject(context: Context, carrier: unknown, setter?: TextMapSetter): void {
    const set = setter ?? httpHeaderSetter;
    let suppressed = false;
    try {
      suppressed = context.getValue(SUPPRESS_TRACING_KEY) === true;
    } catch {
      return;
    }
    if (suppressed) return;
    if (this.#traceContext) injectTraceContext(context, carrier, set);
    if (this.#baggage) injectBaggage(context, carrier, set);
  }

  extract(context: Context, carrier: unknown, getter?: TextMapGetter): Context {
    const get = getter ?? httpHeaderGetter;
    let result = context;
    if (this.#traceContext) result = extractTraceContext(result, carrier, get, this.#tracestate);
    if (this.#baggage) result = extractBaggage(result, carrier, get);
    return result;
  }

  fields(): string[] {
    return this.#fields;
  }
}

function injectTraceContext(context: Context, carrier: unknown, setter: TextMapSetter): void {
  try {
    let spanContext = trace.getSpanContext(context);
    if (spanContext === undefined) return;
    if ((spanContext.traceFlags & FLAG_RANDOM) === 0 && hasRandomTraceFlag(context, spanContext.traceId)) {
      spanContext = { ...spanContext, traceFlags: spanContext.traceFlags | FLAG_RANDOM };
    }
    const traceparent = formatTraceparent(spanContext);
    if (traceparent === undefined) return;
    setter.set(carrier, TRACEPARENT_HEADER, traceparent);
    const tracestate = serializeTraceState(spanContext.traceState);
    if (tracestate !== '') setter.set(carrier, TRACESTATE_HEADER, tracestate);
  } catch {
    rateLimitedDiag('warn', 'propagator-failed', 'injecting trace context threw; headers may be incomplete');
  }
}

/**
 * Our own `W3CTraceState` serializes valid members within the limits. Any other implementation is
 * re-parsed through the incoming-header parser, so only valid members within the limits go out.
 */
function serializeTraceState(traceState: TraceState | undefined): string {
  if (traceState === undefined || traceState === null) return '';
  if (traceState instanceof W3CTraceState) return traceState.serialize();
  const raw: unknown = traceState.serialize();
  if (typeof raw !== 'string' || raw === '') return '';
  return parseTraceState(raw, 'drop-invalid-members').traceState?.serialize() ?? '';
}

function injectBaggage(context: Context, carrier: unknown, setter: TextMapSetter): void {
  try {
    const baggage = propagation.getBaggage(context);
    if (baggage === undefined) return;
    const { value, skipped } = serializeBaggage(baggage);
    if (skipped > 0) {
      rateLimitedDiag(
        'debug',
        'baggage-inject-skipped',
        'baggage entries not propagated (invalid key or value, or over the 180-member / 8192-byte limits)',
      );
    }
    if (value !== '') setter.set(carrier, BAGGAGE_HEADER, value);
  } catch {
    rateLimitedDiag('warn', 'propagator-failed', 'injecting baggage threw; header skipped');
  }
}

function extractTraceContext(
  context: Context,
  carrier: unknown,
  getter: TextMapGetter,
  mode: TraceStateParseMode,
): Context {
  try {
    const header: unknown = getter.get(carrier, TRACEPARENT_HEADER);
    if (header === undefined) return context;
    const parsed = parseTraceparent(header);
    if (parsed === undefined) {
      rateLimitedDiag('debug', 'traceparent-invalid', 'invalid traceparent ignored; the trace restarts');
      return context;
    }
    const tracestate = parseTraceState(getter.get(carrier, TRACESTATE_HEADER), mode);
    if (tracestate.discarded) {
      rateLimitedDiag(
        'debug',
        'tracestate-dropped',
        'tracestate discarded: more than 32 list-members, or an invalid or duplicated member (strict)',
      );
    } else if (tracestate.dropped > 0) {
      rateLimitedDiag('debug', 'tracestate-dropped', 'invalid or duplicate tracestate members dropped');
    }
    if (tracestate.truncated) {
      rateLimitedDiag('debug', 'tracestate-truncated', 'tracestate longer than 8192 bytes truncated');
    }
    const base =
      (parsed.traceFlags & FLAG_RANDOM) !== 0
        ? context.setValue(RANDOM_TRACE_ID_KEY, parsed.traceId)
        : context;
    return trace.setSpanContext(base, {
      traceId: parsed.traceId,
      spanId: parsed.spanId,
      traceFlags: parsed.traceFlags,
      isRemote: true,
      ...(tracestate.traceState === undefined ? {} : { traceState: tracestate.traceState }),
    });
  } catch {
    rateLimitedDiag('warn', 'carrier-failed', 'extracting trace context threw; context left unchanged');
    return context;
  }
}

function extractBaggage(context: Context, carrier: unknown, getter: TextMapGetter): Context {
  try {
    const header: unknown = getter.get(carrier, BAGGAGE_HEADER);
    if (header === undefined) return context;
    const { entries, count, dropped, truncated } = parseBaggage(header);
    if (dropped > 0)
      rateLimitedDiag('debug', 'baggage-dropped', 'invalid or oversized baggage members dropped');
    if (truncated) {
      rateLimitedDiag('debug', 'baggage-truncated', 'baggage over 180 members or 8192 bytes truncated');
    }
    if (count === 0) return context;
    return propagation.setBaggage(context, propagation.createBaggage(entries));
  } catch {
    rateLimitedDiag('warn', 'carrier-failed', 'extracting baggage threw; context left unchanged');
    return context;
  }
}

/**
 * A strict W3C Trace Context Level 2 + W3C Baggage propagator. `fields()` is
 * `['traceparent', 'tracestate', 'baggage']` (the subset selected by the options), a cached frozen array.
 * `inject` and `extract` never throw; on bad input `extract` returns the context it was given. When
 * `getter`/`setter` are omitted the HTTP header getter/setter are used.
 *
 * Strict Level 2 by default: an incoming `tracestate` with any invalid or duplicated member is
 * discarded whole (`options.tracestate: 'drop-invalid-members'` keeps the valid ones), and the random
 * flag (0x02) of an incoming `traceparent` is set again on every outgoing `traceparent` of that trace,
 * although the SDK's spans only carry the sampled bit.
 */
export function w3cPropagator(options?: W3CPropagatorOptions): TextMapPropagator {
  const tracestate = options?.tracestate ?? 'strict';
  if (tracestate !== 'strict' && tracestate !== 'drop-invalid-members') {
    throw new TypeError(
      `w3cPropagator: options.tracestate must be 'strict' or 'drop-invalid-members', got ${String(tracestate)}`,
    );
  }
  return new W3CPropagator(options?.traceContext !== false, options?.baggage !== false, tracestate);
}
