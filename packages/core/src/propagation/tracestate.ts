import type { TraceState } from '@opentelemetry/api';
import {
  TRACESTATE_MAX_KEY_LENGTH,
  TRACESTATE_MAX_MEMBERS,
  TRACESTATE_MAX_SCAN_BYTES,
  TRACESTATE_MAX_VALUE_LENGTH,
  TRACESTATE_SERIALIZE_MAX_LENGTH,
  TRACESTATE_TRUNCATE_LARGE_MEMBER,
} from './constants.js';
import {
  AT,
  EQUALS,
  isLcAlphaCode,
  isLcAlphaOrDigit,
  isTracestateChr,
  isTracestateKeyChar,
  isTracestateNblkChr,
  skipOwsBackward,
  skipOwsForward,
} from './internal/chars.js';
import { type ListScanOutcome, scanList } from './internal/list.js';

/** tenant-id = `(lcalpha / DIGIT) 0*240(...)`: at most 241 characters. */
const MAX_TENANT_ID_LENGTH = 241;
/** system-id = `lcalpha 0*13(...)`: at most 14 characters. */
const MAX_SYSTEM_ID_LENGTH = 14;

type Entry = readonly [key: string, value: string];

/**
 * Checks `s[start, end)` against the tracestate key grammar (W3C Trace Context, Tracestate Header):
 * `simple-key = lcalpha 0*255(lcalpha / DIGIT / "_" / "-" / "*" / "/")` or
 * `multi-tenant-key = tenant-id "@" system-id`.
 */
function isValidKeyRange(s: string, start: number, end: number): boolean {
  const length = end - start;
  if (length < 1 || length > TRACESTATE_MAX_KEY_LENGTH) return false;
  let at = -1;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === AT) {
      if (at !== -1) return false;
      at = i;
    } else if (!isTracestateKeyChar(c)) {
      return false;
    }
  }
  if (at === -1) return isLcAlphaCode(s.charCodeAt(start));
  const tenant = at - start;
  const system = end - at - 1;
  return (
    tenant >= 1 &&
    tenant <= MAX_TENANT_ID_LENGTH &&
    isLcAlphaOrDigit(s.charCodeAt(start)) &&
    system >= 1 &&
    system <= MAX_SYSTEM_ID_LENGTH &&
    isLcAlphaCode(s.charCodeAt(at + 1))
  );
}

/** `value = 0*255(chr) nblk-chr`, `chr = %x20 / nblk-chr`. */
function isValidValueRange(s: string, start: number, end: number): boolean {
  const length = end - start;
  if (length < 1 || length > TRACESTATE_MAX_VALUE_LENGTH) return false;
  for (let i = start; i < end - 1; i++) if (!isTracestateChr(s.charCodeAt(i))) return false;
  return isTracestateNblkChr(s.charCodeAt(end - 1));
}

/** True if `key` is a valid tracestate key. */
export function isValidTraceStateKey(key: unknown): key is string {
  return typeof key === 'string' && isValidKeyRange(key, 0, key.length);
}

/** True if `value` is a valid tracestate value. */
export function isValidTraceStateValue(value: unknown): value is string {
  return typeof value === 'string' && isValidValueRange(value, 0, value.length);
}

/**
 * Immutable W3C `tracestate` (implements the OpenTelemetry `TraceState` interface).
 *
 * - `set` validates key and value (invalid: returns `this` unchanged), moves the key to the front (the
 *   most recently updated vendor is leftmost) and keeps at most 32 entries, dropping from the right.
 * - `serialize` truncates to 512 characters per "Tracestate Limits": members longer than 128 characters
 *   are removed first (rightmost first), then members from the right, until the result fits.
 */
export class W3CTraceState implements TraceState {
  static readonly #EMPTY: W3CTraceState = new W3CTraceState([]);
  readonly #entries: readonly Entry[];
  #serialized: string | undefined;

  private constructor(entries: readonly Entry[]) {
    this.#entries = entries;
  }

  /** An empty trace state. */
  static empty(): W3CTraceState {
    return W3CTraceState.#EMPTY;
  }

  /** @internal Entries must already be valid, unique and at most 32. */
  static fromValidEntries(entries: readonly Entry[]): W3CTraceState {
    return entries.length === 0 ? W3CTraceState.#EMPTY : new W3CTraceState(entries);
  }

  set(key: string, value: string): TraceState {
    if (!isValidTraceStateKey(key) || !isValidTraceStateValue(value)) return this;
    const next: Entry[] = [[key, value]];
    for (const entry of this.#entries) {
      if (next.length >= TRACESTATE_MAX_MEMBERS) break;
      if (entry[0] !== key) next.push(entry);
    }
    return new W3CTraceState(next);
  }

  unset(key: string): TraceState {
    if (this.get(key) === undefined) return this;
    return W3CTraceState.fromValidEntries(this.#entries.filter((entry) => entry[0] !== key));
  }

  get(key: string): string | undefined {
    for (const entry of this.#entries) if (entry[0] === key) return entry[1];
    return undefined;
  }

  serialize(): string {
    if (this.#serialized === undefined) this.#serialized = serializeEntries(this.#entries);
    return this.#serialized;
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.length;
  }

  /** The entries, leftmost first. */
  entries(): Array<[string, string]> {
    return this.#entries.map((entry) => [entry[0], entry[1]]);
  }
}

function joinedLength(entries: readonly Entry[]): number {
  let length = entries.length > 0 ? entries.length - 1 : 0;
  for (const entry of entries) length += entry[0].length + 1 + entry[1].length;
  return length;
}

function serializeEntries(entries: readonly Entry[]): string {
  let kept = entries;
  let length = joinedLength(kept);
  if (length > TRACESTATE_SERIALIZE_MAX_LENGTH) {
    const list = [...entries];
    // First the members larger than 128 characters, rightmost first.
    for (let i = list.length - 1; i >= 0 && length > TRACESTATE_SERIALIZE_MAX_LENGTH; i--) {
      const entry = list[i]!;
      const size = entry[0].length + 1 + entry[1].length;
      if (size > TRACESTATE_TRUNCATE_LARGE_MEMBER) {
        list.splice(i, 1);
        length -= size + (list.length > 0 ? 1 : 0);
      }
    }
    // Then from the right.
    while (list.length > 0 && length > TRACESTATE_SERIALIZE_MAX_LENGTH) {
      const entry = list.pop()!;
      length -= entry[0].length + 1 + entry[1].length + (list.length > 0 ? 1 : 0);
    }
    kept = list;
  }
  let out = '';
  for (const entry of kept) out += (out === '' ? '' : ',') + entry[0] + '=' + entry[1];
  return out;
}

/**
 * How an incoming `tracestate` with an invalid or duplicated member is handled:
 * - `'strict'`: the whole header is discarded (what the W3C test suite expects at strict level 2);
 * - `'drop-invalid-members'`: only the offending members are dropped, the valid ones are kept.
 */
export type TraceStateParseMode = 'strict' | 'drop-invalid-members';

/** Result of parsing an incoming `tracestate`. */
export interface TraceStateParseResult {
  /** The parsed state, or undefined when no valid member survived (or the list was discarded). */
  traceState: W3CTraceState | undefined;
  /** Members dropped (invalid or duplicate keys). */
  dropped: number;
  /**
   * True if the whole header was discarded: more than 32 list-members, or (strict mode) an invalid
   * or duplicated member.
   */
  discarded: boolean;
  /** True if the header was longer than the scan budget and the rest was ignored. */
  truncated: boolean;
}

/**
 * Parses an incoming `tracestate` header (a string or the lines of a repeated header, combined in order
 * with `,`). Choices (W3C Trace Context, Tracestate Header, allows discarding invalid members or the
 * whole header):
 *
 * - empty and OWS-only list-members are skipped and not counted;
 * - `mode` `'strict'` (the default): an invalid member (key grammar, key or vendor-format length,
 *   value characters or length, no `=`) or a duplicated key discards the whole header, as the W3C
 *   test suite expects at strict level 2 (`test_tracestate_duplicated_keys`,
 *   `_key_illegal_characters`, `_key_illegal_vendor_format`, `_key_length_limit`,
 *   `_value_illegal_characters`);
 * - `mode` `'drop-invalid-members'`: an invalid member is dropped, the others are kept, and a
 *   duplicated key keeps its first (leftmost, most recent) occurrence;
 * - more than 32 non-empty list-members (valid or not) violates the `list` grammar: the whole header
 *   is discarded, as the W3C test harness expects;
 * - only the first 8192 characters of the combined header are scanned (`TRACESTATE_MAX_SCAN_BYTES`);
 *   the member crossing that boundary and everything after it are ignored.
 */
export function parseTraceState(
  header: unknown,
  mode: TraceStateParseMode = 'strict',
): TraceStateParseResult {
  const strict = mode === 'strict';
  const entries: Entry[] = [];
  let members = 0;
  let dropped = 0;
  let invalid = false;
  const outcome: ListScanOutcome = scanList(header, TRACESTATE_MAX_SCAN_BYTES, (line, rawStart, rawEnd) => {
    const start = skipOwsForward(line, rawStart, rawEnd);
    const end = skipOwsBackward(line, start, rawEnd);
    if (start === end) return true;
    members++;
    if (members > TRACESTATE_MAX_MEMBERS) return false;
    const eq = indexOfInRange(line, EQUALS, start, end);
    if (eq === -1 || !isValidKeyRange(line, start, eq) || !isValidValueRange(line, eq + 1, end)) {
      dropped++;
      if (strict) invalid = true;
      return !strict;
    }
    const key = line.slice(start, eq);
    for (const entry of entries) {
      if (entry[0] === key) {
        dropped++;
        if (strict) invalid = true;
        return !strict;
      }
    }
    entries.push([key, line.slice(eq + 1, end)]);
    return true;
  });
  if (members > TRACESTATE_MAX_MEMBERS || invalid) {
    return { traceState: undefined, dropped: members, discarded: true, truncated: false };
  }
  return {
    traceState: entries.length > 0 ? W3CTraceState.fromValidEntries(entries) : undefined,
    dropped,
    discarded: false,
    truncated: outcome === 'budget',
  };
}

function indexOfInRange(s: string, code: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (s.charCodeAt(i) === code) return i;
  return -1;
}
