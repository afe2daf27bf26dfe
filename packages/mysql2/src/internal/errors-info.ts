// Reading facts from errors without trusting them: every property read is guarded (a Proxy or a
// getter may throw) and every value that leaves here comes from a bounded set. mysql2's errors
// carry `sql` (the text with the values interpolated) and `sqlMessage` (which can quote a value):
// neither is ever read here.

import { errorClassType, read, type SqlErrorFacts } from '@tracewire/sql/driver';

export { read };

const CODE = /^[A-Z][A-Z0-9_]{1,63}$/;
const SQLSTATE = /^[0-9A-Z]{5}$/;

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
  return errorClassType(error);
}

/**
 * The facts of a failed query. A server error's message can quote the offending value
 * (`Duplicate entry 'alice@example.com' for key 'email'`): only its number and name are kept.
 */
export function mysqlErrorFacts(error: unknown): SqlErrorFacts {
  const server = serverErrorOf(error);
  return {
    type: errorTypeOf(error),
    statusCode: server !== undefined ? String(server.errno) : undefined,
    serverMessage:
      server !== undefined
        ? `MySQL error ${server.errno}${server.code !== undefined ? ` (${server.code})` : ''}`
        : undefined,
  };
}
