import { isErrorHttpStatus } from './internal/checks.js';
import { isErrorObject, safeGet } from './internal/safe.js';

/**
 * The HTTP status a framework's default error handler answers for a thrown value: the rule of
 * Express's `finalhandler` (also what `http-errors` sets), framework-neutral so every adapter's
 * problem+json path answers the status the bare framework would.
 *
 * - `err.status` when it is an integer 400..599;
 * - else `err.statusCode` when it is an integer 400..599;
 * - else `undefined` (the caller applies its framework's fallback, usually 500).
 *
 * It applies to **any Error** (a native error of any realm, or an object inheriting from
 * `Error.prototype`), whatever `expose` says. A thrown value that is not an Error (a plain object
 * such as `{ status: 418 }`, a string, `null`) gives `undefined`: that is Koa's rule (it wraps
 * non-errors in a status-less Error) and tracewire's adapter contract (a foreign object does not
 * choose a client-facing status); Express's finalhandler alone would also read a plain object's
 * `status`. It says nothing about exposing the message: that stays `expose === true` only (see
 * `toProblemDetails`).
 * Each property is read once with a guarded read, so getters and Proxies whose traps throw give
 * `undefined`; it never throws. Non-integers (`403.5`) and out-of-range values (`200`, `999`)
 * are ignored: a TracedError only ever carries an integer 400..599.
 *
 * @example
 * ```ts
 * const err = Object.assign(new Error('nope'), { status: 403 });
 * httpStatusOfError(err); // 403
 * const traced = toTracedError(err, { httpStatus: httpStatusOfError(err) }); // httpStatus 403, expose false
 * ```
 */
export function httpStatusOfError(err: unknown): number | undefined {
  if (!isErrorObject(err)) return undefined;
  const status = safeGet(err, 'status');
  if (isErrorHttpStatus(status)) return status;
  const statusCode = safeGet(err, 'statusCode');
  return isErrorHttpStatus(statusCode) ? statusCode : undefined;
}
