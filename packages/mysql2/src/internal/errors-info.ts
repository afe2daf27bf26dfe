// Reading facts from errors without trusting them: every property read is guarded (a Proxy or a
// getter may throw) and every value that leaves here comes from a bounded set. mysql2's errors
// carry `sql` (the text with the values interpolated) and `sqlMessage` (which can quote a value):
// neither is ever read here.

import { ERROR_TYPE_OTHER } from '../semconv.js';

const CODE = /^[A-Z][A-Z0-9_]{1,63}$/;
const CLASS_NAME = /^[A-Za-z_$][\w$.]{0,63}$/;
const SQLSTATE = /^[0-9A-Z]{5}$/;

export function read(o: unknown, key: string): unknown {
  if ((typeof o !== 'object' && typeof o !== 'function') || o === null) return undefined;
  try {
    return (o as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** The facts of a MySQL/MariaDB server error (mysql2 builds them from the ERR packet). */
export interface ServerErrorFacts {
  /** The server error number (`1062`). */
  errno: number;
  /** Its symbolic name as mysql2 knows it (`ER_DUP_ENTRY`), if any. */
  code: string | undefined;
  /** The SQLSTATE (`23000`), if the server sent one. */
  sqlState: string | undefined;
}

/**
 * The facts of a server error, or undefined for anything else (network, pool, client errors).
 * A server error has a numeric `errno` in the server range (Node system errors have negative
 * ones) and a string `sqlMessage`.
 */
export function serverErrorOf(error: unknown): ServerErrorFacts | undefined {
  const errno = read(error, 'errno');
  if (typeof errno !== 'number' || !Number.isInteger(errno) || errno < 1000 || errno > 65_535)
    return undefined;
  if (typeof read(error, 'sqlMessage') !== 'string') return undefined;
  const code = read(error, 'code');
  const sqlState = read(error, 'sqlState');
  return {
    errno,
    code: typeof code === 'string' && CODE.test(code) ? code : undefined,
    sqlState: typeof sqlState === 'string' && SQLSTATE.test(sqlState) ? sqlState : undefined,
  };
}

/** A client-side error code (`ECONNREFUSED`, `PROTOCOL_CONNECTION_LOST`), if the error has one. */
export function clientCodeOf(error: unknown): string | undefined {
  const code = read(error, 'code');
  return typeof code === 'string' && CODE.test(code) ? code : undefined;
}

/**
 * `error.type`: the server error number (as `db.response.status_code`), a client error code
 * (`ECONNREFUSED`, `PROTOCOL_CONNECTION_LOST`, `PROTOCOL_SEQUENCE_TIMEOUT`), the error's class
 * name, or `_OTHER`. Never the message.
 */
export function errorTypeOf(error: unknown): string {
  const server = serverErrorOf(error);
  if (server !== undefined) return String(server.errno);
  const code = clientCodeOf(error);
  if (code !== undefined) return code;
  if (error instanceof Error) {
    const name = read(error, 'name');
    if (typeof name === 'string' && CLASS_NAME.test(name)) return name;
  }
  return ERROR_TYPE_OTHER;
}

/**
 * What goes into the span's exception event. A server error's message can quote the offending
 * value (`Duplicate entry 'alice@example.com' for key 'email'`), so for those only the error
 * number and name are kept (and the stack without its first line, which repeats the message).
 * Other errors (network, pool, TypeError from bad arguments) keep name, message and stack, capped.
 */
export function exceptionOf(error: unknown): { name: string; message: string; stack?: string } {
  const server = serverErrorOf(error);
  const rawName = read(error, 'name');
  const name = typeof rawName === 'string' && CLASS_NAME.test(rawName) ? rawName : 'Error';
  const rawStack = read(error, 'stack');
  const stack = typeof rawStack === 'string' ? rawStack : undefined;
  if (server !== undefined) {
    const message = `MySQL error ${server.errno}${server.code !== undefined ? ` (${server.code})` : ''}`;
    const at = stack?.indexOf('\n    at ') ?? -1;
    const out: { name: string; message: string; stack?: string } = { name, message };
    if (stack !== undefined && at >= 0) out.stack = `${name}: ${message}${stack.slice(at, at + 4096)}`;
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
