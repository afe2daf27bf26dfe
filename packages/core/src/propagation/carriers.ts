import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import { HTAB, isToken } from './internal/chars.js';
import { rateLimitedDiag } from './internal/diag.js';

/** The shape of Node's `IncomingMessage.headers` (and of any plain header record). */
export type HttpHeadersLike = Readonly<Record<string, string | string[] | number | undefined>>;

/**
 * Reads headers from a Node `req.headers`-like object (lowercase keys; values `string | string[]`).
 * Header names are case-insensitive (OpenTelemetry api-propagators, TextMap Getter for HTTP): the key is
 * tried as given, then lowercased. Only own string or string-array values are returned (never an
 * inherited property such as `constructor`). Never throws.
 */
export const httpHeaderGetter: TextMapGetter<HttpHeadersLike> = {
  keys(carrier: HttpHeadersLike): string[] {
    if (carrier === null || typeof carrier !== 'object') return [];
    try {
      return Object.keys(carrier);
    } catch {
      return [];
    }
  },
  get(carrier: HttpHeadersLike, key: string): string | string[] | undefined {
    if (carrier === null || typeof carrier !== 'object' || typeof key !== 'string') return undefined;
    try {
      const value = readOwn(carrier, key);
      if (value !== undefined) return value;
      // Propagators ask for lowercase names: lowercasing those again (twice per request for
      // absent headers) would cost more than the lookup itself.
      if (!hasUpperAscii(key)) return undefined;
      return readOwn(carrier, key.toLowerCase());
    } catch {
      rateLimitedDiag('warn', 'carrier-failed', 'reading a header from the carrier threw; treated as absent');
      return undefined;
    }
  },
};

function hasUpperAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

function readOwn(carrier: object, key: string): string | string[] | undefined {
  if (!Object.hasOwn(carrier, key)) return undefined;
  const value: unknown = (carrier as Record<string, unknown>)[key];
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value as string[];
  return undefined;
}

/**
 * True if `value` may be written as an HTTP header value: visible ASCII, space and tab only
 * (`%x09 / %x20-7E`). This is stricter than Node's `setHeader` (which also accepts `%x80-FF`), so a value
 * that passes can never make `setHeader` throw `ERR_INVALID_CHAR` and can never split a header
 * (no CR, LF or NUL).
 */
export function isSafeHeaderValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== HTAB) || c > 0x7e) return false;
  }
  return true;
}

/**
 * Writes headers into a plain header object (`http.request` / `fetch` init `headers`, or an object later
 * passed to `res.setHeader`). The name must be an HTTP token (RFC 9110) and the value must pass
 * {@link isSafeHeaderValue}; anything else is skipped with a rate-limited diagnostic. Never throws (a
 * frozen or otherwise non-writable carrier is reported and skipped).
 */
export const httpHeaderSetter: TextMapSetter<Record<string, unknown>> = {
  set(carrier: Record<string, unknown>, key: string, value: string): void {
    if (carrier === null || typeof carrier !== 'object') return;
    if (typeof key !== 'string' || !isToken(key) || key === '__proto__') {
      rateLimitedDiag('warn', 'header-write-refused', 'refused to write a header with an invalid name');
      return;
    }
    if (typeof value !== 'string' || !isSafeHeaderValue(value)) {
      rateLimitedDiag(
        'warn',
        'header-write-refused',
        'refused to write a header value with illegal characters',
      );
      return;
    }
    try {
      carrier[key] = value;
    } catch {
      rateLimitedDiag('warn', 'carrier-failed', 'writing a header to the carrier threw; header skipped');
    }
  },
};
