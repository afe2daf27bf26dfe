import { GrpcCode, type TracedError } from '@tracewire/errors';
import { databaseErrorToTracedError, NETWORK_ERROR_CODES } from '@tracewire/sql/driver';
import { isPoolTimeout, read, sqlStateOf } from './internal/errors-info.js';

/**
 * SQLSTATE -> gRPC code, for the codes that mean something to a caller. Typed data; anything
 * absent falls back by class ({@link PG_SQLSTATE_CLASS_TO_GRPC}), then to INTERNAL.
 * PostgreSQL docs, Appendix A "PostgreSQL Error Codes".
 */
export const PG_SQLSTATE_TO_GRPC: Readonly<Record<string, GrpcCode>> = Object.freeze({
  /** unique_violation */
  '23505': GrpcCode.ALREADY_EXISTS,
  /** serialization_failure */
  '40001': GrpcCode.ABORTED,
  /** deadlock_detected */
  '40P01': GrpcCode.ABORTED,
  /** lock_not_available (NOWAIT, lock_timeout) */
  '55P03': GrpcCode.ABORTED,
  /** query_canceled (statement_timeout, pg_cancel_backend) */
  '57014': GrpcCode.DEADLINE_EXCEEDED,
  /** idle_in_transaction_session_timeout */
  '25P03': GrpcCode.DEADLINE_EXCEEDED,
  /** too_many_connections */
  '53300': GrpcCode.UNAVAILABLE,
  /** admin_shutdown */
  '57P01': GrpcCode.UNAVAILABLE,
  /** crash_shutdown */
  '57P02': GrpcCode.UNAVAILABLE,
  /** cannot_connect_now (server starting up) */
  '57P03': GrpcCode.UNAVAILABLE,
});

/** SQLSTATE class (first two characters) -> gRPC code, when the exact code is not listed. */
export const PG_SQLSTATE_CLASS_TO_GRPC: Readonly<Record<string, GrpcCode>> = Object.freeze({
  /** Class 08: connection exception */
  '08': GrpcCode.UNAVAILABLE,
});

// Client-side failures that mean the database could not be reached: NETWORK_ERROR_CODES, and
// these messages of pg (a lost connection has no code).
const CONNECTION_LOST = /^(Connection terminated|Client has encountered a connection error)/;

/**
 * The gRPC code for a pg error: the SQLSTATE table, then its class, then pool timeouts, lost
 * connections and network errors (UNAVAILABLE); everything else INTERNAL. Never throws.
 *
 * @example
 * pgErrorCode(err) === GrpcCode.ALREADY_EXISTS; // for SQLSTATE 23505
 */
export function pgErrorCode(error: unknown): GrpcCode {
  const state = sqlStateOf(error);
  if (state !== undefined) {
    return PG_SQLSTATE_TO_GRPC[state] ?? PG_SQLSTATE_CLASS_TO_GRPC[state.slice(0, 2)] ?? GrpcCode.INTERNAL;
  }
  if (isPoolTimeout(error)) return GrpcCode.UNAVAILABLE;
  const code = read(error, 'code');
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return GrpcCode.UNAVAILABLE;
  const message = read(error, 'message');
  if (typeof message === 'string' && CONNECTION_LOST.test(message)) return GrpcCode.UNAVAILABLE;
  return GrpcCode.INTERNAL;
}

/**
 * Maps an error from `pg` into a {@link TracedError} of `@tracewire/errors`: code from
 * {@link pgErrorCode}, category `dependency` except where the code says more (ALREADY_EXISTS ->
 * `conflict`, ABORTED -> `conflict`, DEADLINE_EXCEEDED -> `timeout`), `expose: false`, a generic
 * message, and the original error as `cause`. pg's `detail`, `where`, `hint`, the query and
 * connection parameters are never copied. A TracedError is returned as is. Never throws.
 *
 * @example
 * try { await pool.query('INSERT INTO users(email) VALUES ($1)', [email]); }
 * catch (err) { throw pgErrorToTracedError(err); } // ALREADY_EXISTS / 409 on a duplicate
 */
export function pgErrorToTracedError(error: unknown): TracedError {
  return databaseErrorToTracedError(error, pgErrorCode);
}
