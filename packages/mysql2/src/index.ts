// Public API of @tracewire/mysql2. An explicit list: nothing under ./internal is exported.

// Semantic-convention names shared by tracewire's SQL drivers, re-exported for mysql2 users.
export {
  ATTR_DB_CLIENT_CONNECTION_POOL_NAME,
  ATTR_DB_CLIENT_CONNECTION_STATE,
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_PARAMETER_PREFIX,
  ATTR_DB_QUERY_SUMMARY,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_RESPONSE_RETURNED_ROWS,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  DB_DURATION_BUCKETS,
  METRIC_DB_CLIENT_CONNECTION_COUNT,
  METRIC_DB_CLIENT_CONNECTION_CREATE_TIME,
  METRIC_DB_CLIENT_CONNECTION_IDLE_MAX,
  METRIC_DB_CLIENT_CONNECTION_IDLE_MIN,
  METRIC_DB_CLIENT_CONNECTION_MAX,
  METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS,
  METRIC_DB_CLIENT_CONNECTION_TIMEOUTS,
  METRIC_DB_CLIENT_CONNECTION_USE_TIME,
  METRIC_DB_CLIENT_CONNECTION_WAIT_TIME,
  METRIC_DB_CLIENT_OPERATION_DURATION,
} from '@tracewire/sql/driver';
export {
  MYSQL_ERRNO_TO_GRPC,
  MYSQL_SQLSTATE_CLASS_TO_GRPC,
  mysqlErrorCode,
  mysqlErrorToTracedError,
} from './mysql-errors.js';
export type { Mysql2InstrumentationOptions, Mysql2QueryInfo, Mysql2QueryTextMode } from './options.js';
export { validateMysql2Options } from './options.js';
export { DB_SYSTEM_MYSQL } from './semconv.js';
export type { Mysql2Traceable } from './trace-mysql2.js';
export { isTracedMysql2, traceMysql2 } from './trace-mysql2.js';
