import { INVALID_SPANID, INVALID_TRACEID, isSpanContextValid, type SpanContext } from '@opentelemetry/api';
import { KNOWN_FLAGS_MASK } from './constants.js';
import { DASH, isLowerHex, skipOwsBackward, skipOwsForward } from './internal/chars.js';

/** The fields of a valid `traceparent`. */
export interface ParsedTraceparent {
  traceId: string;
  spanId: string;
  /** All eight bits as received (the remote's flags); unknown bits are only zeroed on inject. */
  traceFlags: number;
}

/** Length of `00-<32 hex>-<16 hex>-<2 hex>`. */
const V00_LENGTH = 55;

/**
 * Parses a `traceparent` header value strictly (W3C Trace Context Level 2, "Traceparent Header" and
 * "Processing Model"). Returns undefined for anything invalid, which makes the caller restart the trace:
 *
 * - the header must be present exactly once: an array with more than one value is invalid (Node joins
 *   repeated lines into `a, b`, which then fails the length check);
 * - OWS (spaces and tabs) around the value is ignored;
 * - `version-traceid-parentid-flags` in lowercase hex only, `2HEX-32HEX-16HEX-2HEX`;
 * - version `ff` is invalid; all-zero trace-id or parent-id is invalid;
 * - version `00` must be exactly 55 characters (no trailing data);
 * - a higher version is parsed by its version-00 prefix: at least 55 characters, and when longer the
 *   55th character must be `-` (the start of the next, unknown, field).
 */
export function parseTraceparent(header: unknown): ParsedTraceparent | undefined {
  let value: unknown = header;
  if (Array.isArray(header)) {
    if (header.length !== 1) return undefined;
    value = header[0];
  }
  if (typeof value !== 'string') return undefined;
  const start = skipOwsForward(value, 0, value.length);
  const end = skipOwsBackward(value, start, value.length);
  const length = end - start;
  if (length < V00_LENGTH) return undefined;

  const v0 = value.charCodeAt(start);
  const v1 = value.charCodeAt(start + 1);
  if (!isLowerHex(v0) || !isLowerHex(v1)) return undefined;
  // 0x66 is "f": version ff is forbidden.
  if (v0 === 0x66 && v1 === 0x66) return undefined;
  const isVersion00 = v0 === 0x30 && v1 === 0x30;
  if (
    isVersion00 ? length !== V00_LENGTH : length > V00_LENGTH && value.charCodeAt(start + V00_LENGTH) !== DASH
  ) {
    return undefined;
  }
  if (
    value.charCodeAt(start + 2) !== DASH ||
    value.charCodeAt(start + 35) !== DASH ||
    value.charCodeAt(start + 52) !== DASH
  ) {
    return undefined;
  }
  if (!isNonZeroLowerHex(value, start + 3, start + 35)) return undefined;
  if (!isNonZeroLowerHex(value, start + 36, start + 52)) return undefined;
  const f0 = value.charCodeAt(start + 53);
  const f1 = value.charCodeAt(start + 54);
  if (!isLowerHex(f0) || !isLowerHex(f1)) return undefined;
  return {
    traceId: value.slice(start + 3, start + 35),
    spanId: value.slice(start + 36, start + 52),
    traceFlags: (hexValue(f0) << 4) | hexValue(f1),
  };
}

function isNonZeroLowerHex(s: string, start: number, end: number): boolean {
  let nonZero = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!isLowerHex(c)) return false;
    if (c !== 0x30) nonZero = true;
  }
  return nonZero;
}

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : c - 0x61 + 10;
}

const LOWER_HEX_32 = /^[0-9a-f]{32}$/;
const LOWER_HEX_16 = /^[0-9a-f]{16}$/;

/**
 * Formats a span context as a version-00 `traceparent` (also the `traceresponse` format), or returns
 * undefined if the span context is not valid. Only the sampled (0x01) and random (0x02) flag bits are
 * emitted; unknown bits are zeroed. Ids are emitted in lowercase, as the format requires.
 */
export function formatTraceparent(spanContext: SpanContext): string | undefined {
  if (spanContext === null || typeof spanContext !== 'object') return undefined;
  const { traceId, spanId } = spanContext;
  let t: string;
  let s: string;
  // Ids made by an SDK are lowercase hex already: one regex each instead of the API's validation
  // and two lowercasings, on a path taken by every traced request (traceresponse) and outbound call.
  if (
    typeof traceId === 'string' &&
    typeof spanId === 'string' &&
    LOWER_HEX_32.test(traceId) &&
    LOWER_HEX_16.test(spanId)
  ) {
    if (traceId === INVALID_TRACEID || spanId === INVALID_SPANID) return undefined;
    t = traceId;
    s = spanId;
  } else {
    if (!isSpanContextValid(spanContext)) return undefined;
    t = traceId.toLowerCase();
    s = spanId.toLowerCase();
  }
  const flags = typeof spanContext.traceFlags === 'number' ? spanContext.traceFlags & KNOWN_FLAGS_MASK : 0;
  return `00-${t}-${s}-0${flags}`;
}

/**
 * The W3C Trace Context Level 2 `traceresponse` value for a valid span context:
 * `00-<trace-id>-<span-id>-<flags>` with only the sampled (0x01) and random (0x02) bits kept; undefined
 * for an invalid span context. Never throws.
 */
export function traceResponseHeaderValue(spanContext: SpanContext): string | undefined {
  try {
    return formatTraceparent(spanContext);
  } catch {
    return undefined;
  }
}
