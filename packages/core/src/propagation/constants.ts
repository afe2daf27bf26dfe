/**
 * Header names and limits of the W3C propagation formats.
 *
 * Sources:
 * - W3C Trace Context Level 2 (https://www.w3.org/TR/trace-context-2/): "Traceparent Header",
 *   "Tracestate Header" (list grammar: at most 32 list-members; key and value grammar: keys and values of
 *   at most 256 characters), "Tracestate Limits" (propagate at least 512 characters; truncate by removing
 *   members over 128 characters first, then from the right) and "Traceresponse Header".
 * - W3C Baggage (https://www.w3.org/TR/baggage/), "Limits": 8192 bytes for the baggage-string (a
 *   platform MAY drop list-members beyond the limits, never a partial one). The 180 list-member and
 *   4096-byte list-member limits come from the earlier W3C Baggage drafts and are the ones the
 *   OpenTelemetry W3C baggage propagators enforce; 180 is above the 64 list-members the current draft
 *   requires platforms to propagate, so every list a platform must propagate still fits.
 */

/** `traceparent` header name (W3C Trace Context, Traceparent Header). */
export const TRACEPARENT_HEADER = 'traceparent';
/** `tracestate` header name (W3C Trace Context, Tracestate Header). */
export const TRACESTATE_HEADER = 'tracestate';
/** `traceresponse` response header name (W3C Trace Context Level 2, Traceresponse Header). */
export const TRACERESPONSE_HEADER = 'traceresponse';
/** `baggage` header name (W3C Baggage, Header Name). */
export const BAGGAGE_HEADER = 'baggage';

/** W3C Trace Context, Tracestate Header, list: "There can be a maximum of 32 list-members in a list." */
export const TRACESTATE_MAX_MEMBERS = 32;
/** W3C Trace Context, Tracestate Header, key: a simple key is `lcalpha 0*255(...)`, i.e. at most 256 characters. */
export const TRACESTATE_MAX_KEY_LENGTH = 256;
/** W3C Trace Context, Tracestate Header, value: a value is `0*255(chr) nblk-chr`, i.e. at most 256 characters. */
export const TRACESTATE_MAX_VALUE_LENGTH = 256;
/**
 * W3C Trace Context, Tracestate Limits: vendors SHOULD propagate at least 512 characters of a combined header;
 * `serialize()` truncates to this length.
 */
export const TRACESTATE_SERIALIZE_MAX_LENGTH = 512;
/** W3C Trace Context, Tracestate Limits: when truncating, members longer than 128 characters are removed first. */
export const TRACESTATE_TRUNCATE_LARGE_MEMBER = 128;
/**
 * Work bound for incoming `tracestate` (a local choice, not a spec number): only the first 8192
 * characters of the combined header are scanned; a member crossing that boundary and everything after
 * it are ignored. A 1 MB header therefore costs the same as an 8 KB one.
 */
export const TRACESTATE_MAX_SCAN_BYTES = 8192;

/** W3C Baggage, Limits: at most 8192 bytes for the whole baggage-string. */
export const BAGGAGE_MAX_BYTES = 8192;
/** Earlier W3C Baggage drafts / OpenTelemetry propagators: at most 180 list-members. */
export const BAGGAGE_MAX_MEMBERS = 180;
/** Earlier W3C Baggage drafts / OpenTelemetry propagators: at most 4096 bytes per list-member (incl. properties). */
export const BAGGAGE_MAX_PAIR_BYTES = 4096;

/** traceparent `trace-flags` bit: sampled (W3C Trace Context, trace-flags, Sampled flag). */
export const FLAG_SAMPLED = 0x01;
/** traceparent `trace-flags` bit: random trace-id (W3C Trace Context Level 2, Random Trace ID flag). */
export const FLAG_RANDOM = 0x02;
/** The flag bits this implementation knows and therefore emits; all others are zeroed on inject. */
export const KNOWN_FLAGS_MASK: number = FLAG_SAMPLED | FLAG_RANDOM;
