import { type ServerResponse, STATUS_CODES } from 'node:http';
import { format } from 'node:util';
import { TRACERESPONSE_HEADER } from '@tracewire/core';
import { isTracedError } from '@tracewire/errors';

/** Most headers copied from `err.headers`; an error object is not a place for a thousand headers. */
const MAX_ERROR_HEADERS = 64;

/**
 * Whether Koa treats a thrown value as an Error: the same test as Koa's `ctx.onerror` (which
 * works across realms). Anything else Koa replaces with `new Error('non-error thrown: …')`.
 * Never throws (a Proxy whose traps throw is not an Error here).
 */
export function isKoaError(value: unknown): value is Error {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return Object.prototype.toString.call(value) === '[object Error]' || value instanceof Error;
  } catch {
    return false;
  }
}

/**
 * What Koa's `ctx.onerror` passes to `app.emit('error')` for a thrown value: the value itself
 * when it is an Error, else `new Error(util.format('non-error thrown: %j', value))` (Koa 2 and 3
 * word it the same). Never throws.
 */
export function koaReportedError(value: unknown): Error {
  if (isKoaError(value)) return value;
  try {
    return new Error(format('non-error thrown: %j', value));
  } catch {
    return new Error('non-error thrown');
  }
}

function read(value: unknown, key: string): unknown {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * The status Koa's own `ctx.onerror` answers a thrown value with (Koa 2.16 and 3.x):
 * non-Errors become a plain Error (500); else `err.status || err.statusCode` (the first truthy one
 * only: a `status` of 999 is not rescued by a valid `statusCode`); on Koa 2 only, `err.code ===
 * 'ENOENT'` gives 404 (Koa 3 dropped that rule); anything that is not a number with a reason phrase
 * in Node's table (the `statuses` table Koa uses has the same codes) is 500. A tracewire
 * `TracedError` answers its own `httpStatus` (Koa would not see a `status` on it).
 *
 * Not `httpStatusOfError` from `@tracewire/errors`: that is Express's `finalhandler` rule, which
 * reads the status of non-Errors (`throw { status: 404 }`), falls back to `statusCode` when
 * `status` is invalid, and ignores ENOENT — each of which differs from what bare Koa sends.
 *
 * @param koa2 whether the app runs Koa 2 (see {@link isKoa2Context}).
 * @returns an HTTP status 100..599 Koa would send; never throws.
 */
export function koaErrorStatus(error: unknown, koa2: boolean): number {
  if (!isKoaError(error)) return 500;
  if (isTracedError(error)) return error.httpStatus;
  let status = read(error, 'status') || read(error, 'statusCode');
  if (koa2 && read(error, 'code') === 'ENOENT') status = 404;
  if (typeof status !== 'number' || STATUS_CODES[status] === undefined) return 500;
  return status;
}

/**
 * Koa 3 added `ctx.back()` (Koa 2's `ctx.redirect('back')`); Koa 2.16 has no such method. Only
 * read on the error path, for Koa 2's ENOENT rule.
 */
export function isKoa2Context(ctx: object): boolean {
  return typeof read(ctx, 'back') !== 'function';
}

/** The own enumerable string keys of `err.headers`, or none; never throws. */
function errorHeaders(error: unknown): [string, unknown][] {
  try {
    const headers = read(error, 'headers');
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
 * value Node refuses (CR/LF...) is skipped, never thrown. Non-Errors have no headers for Koa.
 */
export function resetHeadersForError(res: ServerResponse, error: unknown): void {
  const traceResponse = res.getHeader(TRACERESPONSE_HEADER);
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  if (isKoaError(error)) {
    for (const [name, value] of errorHeaders(error)) {
      try {
        res.setHeader(name, Array.isArray(value) ? value.map(String) : String(value));
      } catch {
        // Invalid name or value: Koa would throw here; we skip the header.
      }
    }
  }
  if (traceResponse !== undefined) res.setHeader(TRACERESPONSE_HEADER, traceResponse);
}
