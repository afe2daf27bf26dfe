// Public API of @tracewire/pg. An explicit list: nothing under ./internal is exported.

// The lexer lives in @tracewire/sql (shared with @tracewire/mysql2); re-exported for pg users.
export type { SqlAnalysis } from '@tracewire/sql';
export { analyzeSql, DEFAULT_MAX_QUERY_TEXT_LENGTH, SQL_SCAN_LIMIT, sanitizeSql } from '@tracewire/sql';
// Semantic-convention names shared by tracewire's SQL drivers, re-exported for pg users.
export {
  ATTR_DB_CLIENT_CONNECTION_POOL_NAME,
  ATTR_DB_CLIENT_CONNECTION_STATE,
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_PARAMETER_PREFIX,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_RESPONSE_RETURNED_ROWS,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  DB_DURATION_BUCKETS,
  METRIC_DB_CLIENT_CONNECTION_COUNT,
  METRIC_DB_CLIENT_CONNECTION_CREATE_TIME,
  METRIC_DB_CLIENT_CONNECTION_MAX,
  METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS,
  METRIC_DB_CLIENT_CONNECTION_TIMEOUTS,
  METRIC_DB_CLIENT_CONNECTION_USE_TIME,
  METRIC_DB_CLIENT_CONNECTION_WAIT_TIME,
  METRIC_DB_CLIENT_OPERATION_DURATION,
} from '@tracewire/sql/driver';
export type { PgInstrumentationOptions, PgQueryInfo, PgQueryTextMode } from './options.js';
export { validatePgOptions } from './options.js';
export {
  PG_SQLSTATE_CLASS_TO_GRPC,
  PG_SQLSTATE_TO_GRPC,
  pgErrorCode,
  pgErrorToTracedError,
} from './pg-errors.js';
export { DB_SYSTEM_POSTGRESQL, ERROR_TYPE_POOL_TIMEOUT } from './semconv.js';
export type { PgQueryable } from './trace-pg.js';
export { isTracedPg, tracePg } from './trace-pg.js';
