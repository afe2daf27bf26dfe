import { isErrorHttpStatus } from './internal/checks.js';
import { safeGet } from './internal/safe.js';

/**
 * The HTTP status a framework's default error handler answers for a thrown value: the rule of
 * Express's `finalhandler` (also what `http-errors` sets), framework-neutral so every adapter's
 * problem+json path answers the status the bare framework would.
 *
 * - `err.status` when it is an integer 400..599;
 * - else `err.statusCode` when it is an integer 400..599;
 * - else `undefined` (the caller applies its framework's fallback, usually 500).
 *
 * It applies to **any** value with those properties, whatever `expose` says and whether or not it
 * is an `Error` (`{ status: 404 }` gives 404; strings, numbers, `null` give `undefined`). It says
 * nothing about exposing the message: that stays `expose === true` only (see `toProblemDetails`).
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
  const status = safeGet(err, 'status');
  if (isErrorHttpStatus(status)) return status;
  const statusCode = safeGet(err, 'statusCode');
  return isErrorHttpStatus(statusCode) ? statusCode : undefined;
}
