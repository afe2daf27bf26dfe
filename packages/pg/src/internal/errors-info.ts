// What pg's errors say, read without trusting them (every read guarded, every value from a
// bounded set): the SQLSTATE of a server error, pg-pool's timeouts, `error.type`.

import { errorClassType, read, type SqlErrorFacts } from '@tracewire/sql/driver';
import { ERROR_TYPE_POOL_TIMEOUT } from '../semconv.js';

export { read };

const SQLSTATE = /^[0-9A-Z]{5}$/;
const NODE_CODE = /^E[A-Z0-9_]{2,40}$/;

/** pg-pool's messages when it gives up on a connection (it sets no code). */
const POOL_TIMEOUT_MESSAGES: readonly string[] = [
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
];

/** The SQLSTATE of a PostgreSQL server error (pg's DatabaseError), if it is one. */
export function sqlStateOf(error: unknown): string | undefined {
  const code = read(error, 'code');
  if (typeof code !== 'string' || !SQLSTATE.test(code)) return undefined;
  // A DatabaseError always carries the server's severity; a 5-character code alone is not enough.
  return typeof read(error, 'severity') === 'string' ? code : undefined;
}

/** Whether pg-pool failed to hand out a connection within `connectionTimeoutMillis`. */
export function isPoolTimeout(error: unknown): boolean {
  const message = read(error, 'message');
  return typeof message === 'string' && POOL_TIMEOUT_MESSAGES.some((m) => message.startsWith(m));
}

/**
 * `error.type`: the SQLSTATE, a Node system error code (`ECONNREFUSED`), `timeout` for a pool
 * timeout, the error's class name, or `_OTHER`. Never the message.
 */
export function errorTypeOf(error: unknown): string {
  const state = sqlStateOf(error);
  if (state !== undefined) return state;
  if (isPoolTimeout(error)) return ERROR_TYPE_POOL_TIMEOUT;
  const code = read(error, 'code');
  if (typeof code === 'string' && NODE_CODE.test(code)) return code;
  return errorClassType(error);
}

/**
 * The facts of a failed query. A server error's message can quote the offending value (`invalid
 * input syntax for type integer: "4111 1111"`) and its `detail` the row: only its SQLSTATE is kept.
 */
export function pgErrorFacts(error: unknown): SqlErrorFacts {
  const state = sqlStateOf(error);
  return {
    type: errorTypeOf(error),
    statusCode: state,
    serverMessage: state !== undefined ? `SQLSTATE ${state}` : undefined,
  };
}
