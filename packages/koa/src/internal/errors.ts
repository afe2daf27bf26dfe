import type { ServerResponse } from 'node:http';
import { TRACERESPONSE_HEADER } from '@tracewire/core';

/** Most headers copied from `err.headers`; an error object is not a place for a thousand headers. */
const MAX_ERROR_HEADERS = 64;

/**
 * Whether Koa treats a thrown value as an Error (the same test as Koa's `ctx.onerror`, which
 * works across realms). Anything else Koa replaces with a new Error, losing `err.headers`.
 */
function isKoaError(value: unknown): value is Error {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return Object.prototype.toString.call(value) === '[object Error]' || value instanceof Error;
  } catch {
    // A Proxy whose traps throw.
    return false;
  }
}

/**
 * Whether Koa's error handler can take this value as is: an Error it may extend (it assigns
 * `err.status` and `err.headerSent`, and would throw on a frozen Error). Never throws.
 */
export function isHandleableByKoa(value: unknown): value is Error {
  try {
    return isKoaError(value) && Object.isExtensible(value);
  } catch {
    // A Proxy whose isExtensible trap throws.
    return false;
  }
}

/** The own enumerable string keys of `err.headers`, or none; never throws. */
function errorHeaders(error: unknown): [string, unknown][] {
  if (typeof error !== 'object' || error === null) return [];
  try {
    const headers: unknown = (error as { headers?: unknown }).headers;
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return [];
    const out: [string, unknown][] = [];
    for (const key of Object.keys(headers)) {
      if (out.length >= MAX_ERROR_HEADERS) break;
      out.push([key, (headers as Record<string, unknown>)[key]]);
    }
    return out;
  } catch {
    return [];
  }
}

/**
 * Prepares the response for an error answer the way Koa's own `ctx.onerror` does: every header
 * set before the error is removed (it may describe a body that is not sent: `content-encoding`,
 * `content-disposition`...), then `err.headers` is applied (how `http-errors` and `@koa/cors` carry
 * `WWW-Authenticate`, `Allow`, `Retry-After`, CORS headers). `traceresponse` is kept. A header
 * value Node refuses (CR/LF...) is skipped, never thrown.
 */
export function resetHeadersForError(res: ServerResponse, error: unknown): void {
  const traceResponse = res.getHeader(TRACERESPONSE_HEADER);
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  for (const [name, value] of errorHeaders(error)) {
    try {
      res.setHeader(name, Array.isArray(value) ? value.map(String) : String(value));
    } catch {
      // Invalid name or value: Koa would throw here; we skip the header.
    }
  }
  if (traceResponse !== undefined) res.setHeader(TRACERESPONSE_HEADER, traceResponse);
}

/**
 * Koa's `ctx.onerror` removes every header and then sets `err.headers`: to keep `traceresponse`
 * on an error answered by Koa, put it into a copy of `err.headers` (the application's own headers
 * object is not mutated). A frozen or non-writable error is left alone.
 */
export function keepTraceResponse(error: Error, res: ServerResponse): void {
  const value = res.getHeader(TRACERESPONSE_HEADER);
  if (typeof value !== 'string') return;
  try {
    const headers: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [name, v] of errorHeaders(error)) headers[name] = v;
    headers[TRACERESPONSE_HEADER] = value;
    (error as Error & { headers?: unknown }).headers = headers;
  } catch {
    // Frozen, sealed or a setter that throws: Koa answers without traceresponse.
  }
}
