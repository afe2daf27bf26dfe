// Reading facts from errors without trusting them: every property read is guarded (a Proxy or a
// getter may throw) and every value that leaves here comes from a bounded set. What is specific
// to a driver (pg's SQLSTATE and pool timeouts, mysql2's errno) stays in its package; this is what
// both do with those facts.

import { GrpcCode, isTracedError, TracedError } from '@tracewire/errors';
import { ERROR_TYPE_OTHER } from './semconv.js';

const CLASS_NAME = /^[A-Za-z_$][\w$.]{0,63}$/;

/** Node system error codes that mean the database could not be reached (gRPC UNAVAILABLE). */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** What a driver knows about a failed query, for the span and the duration metric. */
export interface SqlErrorFacts {
  /** `error.type`: from a bounded set, never the message. */
  readonly type: string;
  /** `db.response.status_code`, for an error the database server sent. */
  readonly statusCode: string | undefined;
  /**
   * For an error the database server sent: the message recorded instead of the error's own (which
   * can quote the offending value), e.g. `SQLSTATE 23505`. Undefined: the error's message is kept.
   */
  readonly serverMessage: string | undefined;
}

/** `o[key]`, or undefined when `o` is not an object or the read throws. */
export function read(o: unknown, key: string): unknown {
  if ((typeof o !== 'object' && typeof o !== 'function') || o === null) return undefined;
  try {
    return (o as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** The last resort of `error.type`: the error's class name if it looks like one, else `_OTHER`. */
export function errorClassType(error: unknown): string {
  if (error instanceof Error) {
    const name = read(error, 'name');
    if (typeof name === 'string' && CLASS_NAME.test(name)) return name;
  }
  return ERROR_TYPE_OTHER;
}

/**
 * What goes into the span's exception event. For a server error (`serverMessage` given) only that
 * message is kept (and the stack without its first line, which repeats the original message):
 * the original can quote the offending value or row. Other errors (network, pool, TypeError from
 * bad arguments) keep name, message and stack, capped.
 */
export function exceptionOf(
  error: unknown,
  serverMessage: string | undefined,
): { name: string; message: string; stack?: string } {
  const rawName = read(error, 'name');
  const name = typeof rawName === 'string' && CLASS_NAME.test(rawName) ? rawName : 'Error';
  const rawStack = read(error, 'stack');
  const stack = typeof rawStack === 'string' ? rawStack : undefined;
  if (serverMessage !== undefined) {
    const at = stack?.indexOf('\n    at ') ?? -1;
    const out: { name: string; message: string; stack?: string } = { name, message: serverMessage };
    if (stack !== undefined && at >= 0) out.stack = `${name}: ${serverMessage}${stack.slice(at, at + 4096)}`;
    return out;
  }
  if (!(error instanceof Error)) {
    return { name: 'non-error thrown', message: error === null ? 'null' : typeof error };
  }
  const rawMessage = read(error, 'message');
  const out: { name: string; message: string; stack?: string } = {
    name,
    message: typeof rawMessage === 'string' ? rawMessage.slice(0, 512) : '',
  };
  if (stack !== undefined) out.stack = stack.slice(0, 4096);
  return out;
}

const MESSAGES: Readonly<Partial<Record<GrpcCode, string>>> = Object.freeze({
  [GrpcCode.ALREADY_EXISTS]: 'The row already exists',
  [GrpcCode.ABORTED]: 'The database transaction was aborted; it can be retried',
  [GrpcCode.DEADLINE_EXCEEDED]: 'The database query was canceled or timed out',
  [GrpcCode.UNAVAILABLE]: 'The database is unavailable',
  [GrpcCode.INTERNAL]: 'The database query failed',
});

/**
 * A driver error as a `TracedError`: the code from `codeOf` (INTERNAL if it throws), category
 * `dependency` except where the code says more (ALREADY_EXISTS and ABORTED: `conflict`,
 * DEADLINE_EXCEEDED: `timeout`), `expose: false`, a generic message, the original error as
 * `cause` (nothing of it is copied). A TracedError is returned as is. Never throws.
 */
export function databaseErrorToTracedError(
  error: unknown,
  codeOf: (error: unknown) => GrpcCode,
): TracedError {
  if (isTracedError(error)) return error;
  let code: GrpcCode;
  try {
    code = codeOf(error);
  } catch {
    code = GrpcCode.INTERNAL;
  }
  const keepsCategory =
    code === GrpcCode.ALREADY_EXISTS || code === GrpcCode.ABORTED || code === GrpcCode.DEADLINE_EXCEEDED;
  return new TracedError(MESSAGES[code] ?? 'The database query failed', {
    code,
    cause: error,
    expose: false,
    ...(keepsCategory ? {} : { category: 'dependency' as const }),
  });
}
