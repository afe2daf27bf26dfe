import { type Baggage, type BaggageEntry, baggageEntryMetadataFromString } from '@opentelemetry/api';
import { BAGGAGE_MAX_BYTES, BAGGAGE_MAX_MEMBERS, BAGGAGE_MAX_PAIR_BYTES } from './constants.js';
import {
  EQUALS,
  isBaggageOctet,
  isTchar,
  isToken,
  PERCENT,
  SEMICOLON,
  skipOwsBackward,
  skipOwsForward,
} from './internal/chars.js';
import { type ListScanOutcome, scanList } from './internal/list.js';

/** Result of parsing an incoming `baggage` header. */
export interface BaggageParseResult {
  /** Entries by key in a null-prototype object (keys such as `__proto__` are ordinary entries). */
  entries: Record<string, BaggageEntry>;
  /** Number of valid list-members accepted (duplicates included). */
  count: number;
  /** Invalid or oversized list-members that were skipped. */
  dropped: number;
  /** True if the 180-member or 8192-byte limit was reached and the rest of the header was ignored. */
  truncated: boolean;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/**
 * Parses an incoming `baggage` header (W3C Baggage, "Header Content"): a string or the lines of a
 * repeated header, processed as ONE list with one budget.
 *
 * `list-member = key OWS "=" OWS value *( OWS ";" OWS property )`, `key = token`,
 * `value = *baggage-octet`, `property = key OWS "=" OWS value / key OWS`.
 *
 * - Limits, enforced while scanning: at most 180 list-members and the first 8192 bytes of the combined
 *   header; the first overflow stops the scan and the valid members before it are kept; a list-member
 *   over 4096 bytes (properties included) is skipped and its neighbours are kept.
 * - Invalid members (`=v`, `k`, `k=a b`, non-token key, non-baggage-octet value) are skipped; empty
 *   members (`,,`) are skipped and not counted.
 * - Values are percent-decoded as UTF-8; octet sequences that are not valid UTF-8 (`%C3`) decode to
 *   U+FFFD, and a `%` not followed by two hex digits (`%ZZ`) is kept literally (W3C Baggage, Value).
 *   Keys are tokens and are not decoded. An empty value (`k=`) is valid and kept.
 * - Properties are kept, unparsed and percent-encoded as received, as the entry `metadata`
 *   (`baggageEntryMetadataFromString`); empty properties (`k=v;;;p`) are skipped and malformed
 *   properties are dropped without dropping the member.
 * - Duplicate keys: the last occurrence wins (as `Baggage.setEntry` does); each counts as a member.
 */
export function parseBaggage(header: unknown): BaggageParseResult {
  const entries = Object.create(null) as Record<string, BaggageEntry>;
  let count = 0;
  let dropped = 0;
  let overflow = false;
  const outcome: ListScanOutcome = scanList(header, BAGGAGE_MAX_BYTES, (line, rawStart, rawEnd) => {
    const start = skipOwsForward(line, rawStart, rawEnd);
    const end = skipOwsBackward(line, start, rawEnd);
    if (start === end) return true;
    if (end - start > BAGGAGE_MAX_PAIR_BYTES) {
      dropped++;
      return true;
    }
    const member = parseMember(line, start, end);
    if (member === undefined) {
      dropped++;
      return true;
    }
    if (count >= BAGGAGE_MAX_MEMBERS) {
      overflow = true;
      return false;
    }
    entries[member.key] = member.entry;
    count++;
    return true;
  });
  return { entries, count, dropped, truncated: overflow || outcome === 'budget' };
}

interface ParsedMember {
  key: string;
  entry: BaggageEntry;
}

function parseMember(s: string, start: number, end: number): ParsedMember | undefined {
  let i = start;
  while (i < end && isTchar(s.charCodeAt(i))) i++;
  const keyEnd = i;
  if (keyEnd === start) return undefined;
  i = skipOwsForward(s, i, end);
  if (i >= end || s.charCodeAt(i) !== EQUALS) return undefined;
  i = skipOwsForward(s, i + 1, end);
  const valueStart = i;
  let hasPercent = false;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (!isBaggageOctet(c)) break;
    if (c === PERCENT) hasPercent = true;
    i++;
  }
  const valueEnd = i;
  i = skipOwsForward(s, i, end);
  let metadata: string | undefined;
  if (i < end) {
    if (s.charCodeAt(i) !== SEMICOLON) return undefined;
    metadata = normalizeProperties(s, i + 1, end);
  }
  const key = s.slice(start, keyEnd);
  const value = hasPercent ? percentDecode(s, valueStart, valueEnd) : s.slice(valueStart, valueEnd);
  const entry: BaggageEntry =
    metadata === undefined || metadata === ''
      ? { value }
      : { value, metadata: baggageEntryMetadataFromString(metadata) };
  return { key, entry };
}

/**
 * Validates the `;`-separated properties in `s[start, end)` and returns the valid ones joined by `;`
 * with OWS removed (empty string if none). Empty and malformed properties are skipped; no allocation
 * happens for them, so `k=v;;;;…` costs no more than its length.
 */
function normalizeProperties(s: string, start: number, end: number): string {
  let out = '';
  let i = start;
  while (i <= end) {
    let next = i;
    while (next < end && s.charCodeAt(next) !== SEMICOLON) next++;
    const property = normalizeProperty(s, i, next);
    if (property !== undefined) out += (out === '' ? '' : ';') + property;
    i = next + 1;
  }
  return out;
}

/** `property = key OWS "=" OWS value / key OWS`, returned without OWS; undefined if empty or invalid. */
function normalizeProperty(s: string, rawStart: number, rawEnd: number): string | undefined {
  const start = skipOwsForward(s, rawStart, rawEnd);
  const end = skipOwsBackward(s, start, rawEnd);
  if (start === end) return undefined;
  let i = start;
  while (i < end && isTchar(s.charCodeAt(i))) i++;
  const keyEnd = i;
  if (keyEnd === start) return undefined;
  i = skipOwsForward(s, i, end);
  if (i === end) return s.slice(start, keyEnd);
  if (s.charCodeAt(i) !== EQUALS) return undefined;
  const valueStart = skipOwsForward(s, i + 1, end);
  for (let j = valueStart; j < end; j++) if (!isBaggageOctet(s.charCodeAt(j))) return undefined;
  return s.slice(start, keyEnd) + '=' + s.slice(valueStart, end);
}

/** Sanitises a metadata string for output: its valid properties only (see `normalizeProperties`). */
export function sanitizeMetadata(metadata: string): string {
  return normalizeProperties(metadata, 0, metadata.length);
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/**
 * Percent-decodes `s[start, end)` (all baggage-octets, hence ASCII) and decodes the octets as UTF-8,
 * replacing invalid sequences with U+FFFD. A `%` not followed by two hex digits stays a literal `%`
 * (the WHATWG URL percent-decode rule).
 */
function percentDecode(s: string, start: number, end: number): string {
  const bytes = new Uint8Array(end - start);
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === PERCENT && i + 2 < end) {
      const hi = hexDigit(s.charCodeAt(i + 1));
      const lo = hexDigit(s.charCodeAt(i + 2));
      if (hi !== -1 && lo !== -1) {
        bytes[n++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    bytes[n++] = c;
  }
  return utf8Decoder.decode(bytes.subarray(0, n));
}

const HEX_UPPER = '0123456789ABCDEF';

/**
 * Percent-encodes a baggage value: every octet of its UTF-8 encoding that is not a baggage-octet, and
 * `%` itself, becomes `%XX`. Lone surrogates are encoded as U+FFFD (never throws, unlike
 * `encodeURIComponent`).
 */
export function percentEncode(value: string): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!isBaggageOctet(c) || c === PERCENT) {
      plain = false;
      break;
    }
  }
  if (plain) return value;
  const bytes = utf8Encoder.encode(value);
  let out = '';
  for (const b of bytes) {
    if (b < 0x80 && isBaggageOctet(b) && b !== PERCENT) out += String.fromCharCode(b);
    else out += '%' + HEX_UPPER[b >> 4] + HEX_UPPER[b & 0x0f];
  }
  return out;
}

/** Result of serializing baggage for the `baggage` header. */
export interface BaggageSerializeResult {
  value: string;
  /** Entries not written: non-token key, non-string value, member over 4096 bytes, or over the limits. */
  skipped: number;
}

/**
 * Serializes baggage as `key=percentEncode(value)[;properties]`, joined with `,`. Entries whose key is
 * not a token or whose member would exceed 4096 bytes are skipped; serialization stops before the
 * 181st member or the 8192nd byte, so no partial member is ever written. The output contains only
 * tchar, baggage-octets, `=`, `;` and `,`: never CR, LF or other control characters.
 */
export function serializeBaggage(baggage: Baggage): BaggageSerializeResult {
  const all = baggage.getAllEntries();
  let out = '';
  let count = 0;
  let skipped = 0;
  for (let index = 0; index < all.length; index++) {
    const pair = all[index];
    const key: unknown = pair?.[0];
    const entry: unknown = pair?.[1];
    if (typeof key !== 'string' || !isToken(key) || entry === null || typeof entry !== 'object') {
      skipped++;
      continue;
    }
    const { value, metadata } = entry as BaggageEntry;
    // Encoding never shortens a value, so an oversized one is skipped before encoding it.
    if (typeof value !== 'string' || key.length + 1 + value.length > BAGGAGE_MAX_PAIR_BYTES) {
      skipped++;
      continue;
    }
    let member = key + '=' + percentEncode(value);
    if (metadata !== undefined && metadata !== null) {
      const properties = sanitizeMetadata(String(metadata.toString()));
      if (properties !== '') member += ';' + properties;
    }
    if (member.length > BAGGAGE_MAX_PAIR_BYTES) {
      skipped++;
      continue;
    }
    const added = member.length + (count > 0 ? 1 : 0);
    if (count >= BAGGAGE_MAX_MEMBERS || out.length + added > BAGGAGE_MAX_BYTES) {
      skipped += all.length - index;
      break;
    }
    out += (count > 0 ? ',' : '') + member;
    count++;
  }
  return { value: out, skipped };
}
