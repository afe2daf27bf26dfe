import { GrpcCode, type TracedError } from '@tracewire/errors';
import { databaseErrorToTracedError, NETWORK_ERROR_CODES } from '@tracewire/sql/driver';
import { clientCodeOf, read, serverErrorOf } from './internal/errors-info.js';

/**
 * MySQL/MariaDB server error number -> gRPC code, for the errors that mean something to a caller.
 * Typed data; anything absent falls back by SQLSTATE class ({@link MYSQL_SQLSTATE_CLASS_TO_GRPC}),
 * then to INTERNAL. MySQL reference manual, "Server Error Message Reference"; MariaDB "Error Codes".
 */
export const MYSQL_ERRNO_TO_GRPC: Readonly<Record<number, GrpcCode>> = Object.freeze({
  /** ER_DUP_KEY */
  1022: GrpcCode.ALREADY_EXISTS,
  /** ER_DUP_ENTRY */
  1062: GrpcCode.ALREADY_EXISTS,
  /** ER_DUP_ENTRY_WITH_KEY_NAME */
  1586: GrpcCode.ALREADY_EXISTS,
  /** ER_LOCK_WAIT_TIMEOUT (InnoDB rolls back the statement; the transaction can be retried) */
  1205: GrpcCode.ABORTED,
  /** ER_LOCK_DEADLOCK (the transaction was rolled back; retry it) */
  1213: GrpcCode.ABORTED,
  /** ER_LOCK_NOWAIT (NOWAIT) */
  3572: GrpcCode.ABORTED,
  /** ER_QUERY_INTERRUPTED (KILL QUERY) */
  1317: GrpcCode.DEADLINE_EXCEEDED,
  /** ER_STATEMENT_TIMEOUT (MariaDB max_statement_time) */
  1969: GrpcCode.DEADLINE_EXCEEDED,
  /** ER_QUERY_TIMEOUT (MySQL max_execution_time) */
  3024: GrpcCode.DEADLINE_EXCEEDED,
  /** ER_CON_COUNT_ERROR (too many connections) */
  1040: GrpcCode.UNAVAILABLE,
  /** ER_SERVER_SHUTDOWN */
  1053: GrpcCode.UNAVAILABLE,
  /** ER_HOST_IS_BLOCKED */
  1129: GrpcCode.UNAVAILABLE,
  /** ER_ABORTING_CONNECTION */
  1152: GrpcCode.UNAVAILABLE,
  /** ER_TOO_MANY_USER_CONNECTIONS */
  1203: GrpcCode.UNAVAILABLE,
  /** ER_OPTION_PREVENTS_STATEMENT (e.g. --read-only during a failover) */
  1290: GrpcCode.UNAVAILABLE,
  /** ER_READ_ONLY_MODE */
  1836: GrpcCode.UNAVAILABLE,
  /** ER_CONNECTION_KILLED (MariaDB) */
  1927: GrpcCode.UNAVAILABLE,
});

/** SQLSTATE class (first two characters) -> gRPC code, when the error number is not listed. */
export const MYSQL_SQLSTATE_CLASS_TO_GRPC: Readonly<Record<string, GrpcCode>> = Object.freeze({
  /** Class 08: connection exception */
  '08': GrpcCode.UNAVAILABLE,
  /** Class 40: transaction rollback (serialization failure, deadlock) */
  '40': GrpcCode.ABORTED,
});

// Client-side failures that mean the database could not be reached or the connection was lost.
const UNAVAILABLE_CLIENT_CODES: ReadonlySet<string> = new Set([
  ...NETWORK_ERROR_CODES,
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
]);
/** mysql2's errors without a code that mean the same (closed connection, closed or full pool). */
const UNAVAILABLE_MESSAGES: readonly string[] = [
  "Can't add new command when connection is in closed state",
  'Pool is closed.',
  'Queue limit reached.',
  'No connections available.',
  'Connection lost',
];

/**
 * The gRPC code for a mysql2 error: the error-number table, then the SQLSTATE class, then lost
 * connections, network and pool errors (UNAVAILABLE) and the client-side query timeout
 * (DEADLINE_EXCEEDED); everything else INTERNAL. Never throws.
 *
 * @example
 * mysqlErrorCode(err) === GrpcCode.ALREADY_EXISTS; // for ER_DUP_ENTRY (1062)
 */
export function mysqlErrorCode(error: unknown): GrpcCode {
  const server = serverErrorOf(error);
  if (server !== undefined) {
    return (
      MYSQL_ERRNO_TO_GRPC[server.errno] ??
      (server.sqlState !== undefined
        ? MYSQL_SQLSTATE_CLASS_TO_GRPC[server.sqlState.slice(0, 2)]
        : undefined) ??
      GrpcCode.INTERNAL
    );
  }
  const code = clientCodeOf(error);
  if (code === 'PROTOCOL_SEQUENCE_TIMEOUT') return GrpcCode.DEADLINE_EXCEEDED;
  if (code !== undefined && UNAVAILABLE_CLIENT_CODES.has(code)) return GrpcCode.UNAVAILABLE;
  if (read(error, 'fatal') === true) return GrpcCode.UNAVAILABLE;
  const message = read(error, 'message');
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => message.startsWith(m))) {
    return GrpcCode.UNAVAILABLE;
  }
  return GrpcCode.INTERNAL;
}

/**
 * Maps an error from `mysql2` into a {@link TracedError} of `@tracewire/errors`: code from
 * {@link mysqlErrorCode}, category `dependency` except where the code says more (ALREADY_EXISTS
 * -> `conflict`, ABORTED -> `conflict`, retryable; DEADLINE_EXCEEDED -> `timeout`),
 * `expose: false`, a generic message, and the original error as `cause`. mysql2's `sqlMessage`,
 * `sql` (the text with its values) and the connection parameters are never copied. A
 * TracedError is returned as is. Never throws.
 *
 * @example
 * try { await pool.execute('INSERT INTO users (email) VALUES (?)', [email]); }
 * catch (err) { throw mysqlErrorToTracedError(err); } // ALREADY_EXISTS / 409 on ER_DUP_ENTRY
 */
export function mysqlErrorToTracedError(error: unknown): TracedError {
  return databaseErrorToTracedError(error, mysqlErrorCode);
}
