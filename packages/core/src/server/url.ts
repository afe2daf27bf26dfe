import { cap } from '../internal/limits.js';

/**
 * Query keys whose values semconv says SHOULD be redacted in `url.query` and `url.full`
 * (semantic-conventions docs/http/http-spans.md, note on `url.query`). Matching is case-sensitive,
 * as the convention specifies: `SIG=` is not redacted.
 */
export const DEFAULT_REDACTED_QUERY_KEYS: readonly string[] = Object.freeze([
  'AWSAccessKeyId',
  'Signature',
  'sig',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
  'X-Goog-Signature',
]);

const REDACTED_KEYS = new Set(DEFAULT_REDACTED_QUERY_KEYS);

export interface RequestTarget {
  path: string;
  query: string | undefined;
}

/**
 * Splits a request target (origin-form `/p?q`, absolute-form `http://u:p@h/p?q`, asterisk-form
 * `*`) into path and query without decoding anything: no regex, no `decodeURIComponent`, so a
 * malformed or huge target costs one linear scan and never throws. Userinfo in absolute-form
 * targets never reaches the attributes because only the path and query are kept.
 */
export function splitTarget(target: string): RequestTarget {
  let start = 0;
  if (target.charCodeAt(0) !== 47 /* / */ && target !== '*') {
    // absolute-form: skip "scheme://authority"
    const scheme = target.indexOf('://');
    if (scheme !== -1) {
      const slash = target.indexOf('/', scheme + 3);
      const q = target.indexOf('?', scheme + 3);
      if (slash === -1 || (q !== -1 && q < slash)) {
        return { path: '/', query: q === -1 ? undefined : redactQuery(target.slice(q + 1)) };
      }
      start = slash;
    }
  }
  const q = target.indexOf('?', start);
  if (q === -1) return { path: cap(start === 0 ? target : target.slice(start)), query: undefined };
  return { path: cap(target.slice(start, q)), query: redactQuery(target.slice(q + 1)) };
}

/**
 * Replaces the values of the semconv-listed signature keys with `REDACTED`, keeping keys and
 * order. Works on the raw (still percent-encoded) query.
 */
export function redactQuery(query: string): string {
  if (query.length === 0) return query;
  let out = '';
  let from = 0;
  while (from <= query.length) {
    let amp = query.indexOf('&', from);
    if (amp === -1) amp = query.length;
    const pair = query.slice(from, amp);
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    out += (from === 0 ? '' : '&') + (eq !== -1 && REDACTED_KEYS.has(key) ? `${key}=REDACTED` : pair);
    from = amp + 1;
    if (out.length > 2048) break;
  }
  return cap(out);
}

/**
 * Parses a `Host` header into address and port. The header is attacker-chosen (CVE-2026-27959:
 * userinfo tricks), so anything but a plain host name, IPv4 or bracketed IPv6 literal with an
 * optional numeric port is rejected.
 */
export function parseHost(
  host: string | undefined,
): { address: string; port: number | undefined } | undefined {
  if (host === undefined || host.length === 0 || host.length > 300) return undefined;
  let end = host.length;
  let port: number | undefined;
  let address: string;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf(']');
    if (close === -1) return undefined;
    address = host.slice(1, close);
    if (close + 1 < end) {
      if (host.charCodeAt(close + 1) !== 58 /* : */) return undefined;
      port = parsePort(host.slice(close + 2));
      if (port === undefined) return undefined;
    }
    for (let i = 0; i < address.length; i++) {
      const c = address.charCodeAt(i);
      if (!(isHex(c) || c === 58 || c === 46)) return undefined;
    }
    return { address, port };
  }
  const colon = host.lastIndexOf(':');
  if (colon !== -1) {
    port = parsePort(host.slice(colon + 1));
    if (port === undefined) return undefined;
    end = colon;
  }
  address = host.slice(0, end);
  if (address.length === 0) return undefined;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    const ok =
      (c >= 97 && c <= 122) ||
      (c >= 65 && c <= 90) ||
      (c >= 48 && c <= 57) ||
      c === 45 ||
      c === 46 ||
      c === 95;
    if (!ok) return undefined;
  }
  return { address, port };
}

function parsePort(text: string): number | undefined {
  if (text.length === 0 || text.length > 5) return undefined;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    n = n * 10 + (c - 48);
  }
  return n <= 65535 ? n : undefined;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}
