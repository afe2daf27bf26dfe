// `@tracewire/sql/driver`: the shared instrumentation layer for driver wrappers (@tracewire/pg,
// @tracewire/mysql2). An explicit list. Application code wants a driver package, not this.

export type { ConnectionInfo } from './driver/connection.js';
export { boundedString, defaultPoolName, portNumber, serverTarget } from './driver/connection.js';
export type { SqlErrorFacts } from './driver/error-info.js';
export {
  databaseErrorToTracedError,
  errorClassType,
  exceptionOf,
  NETWORK_ERROR_CODES,
  read,
} from './driver/error-info.js';
export type { AnySqlInstrumentation, SqlDriver, SqlQuery } from './driver/instrumentation.js';
export { hasValues, SqlInstrumentation, SqlOperation } from './driver/instrumentation.js';
export type { SqlInstrumentationOptions, SqlQueryTextMode } from './driver/options.js';
export { validateSqlOptions } from './driver/options.js';
export type { PoolReader, PoolReading, SqlInstruments } from './driver/pool-metrics.js';
export { SqlPoolMetrics } from './driver/pool-metrics.js';
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
  ATTR_ERROR_TYPE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  DB_DURATION_BUCKETS,
  ERROR_TYPE_OTHER,
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
} from './driver/semconv.js';
export type { AnyFunction } from './driver/wrapper.js';
export {
  bindToContext,
  callInContext,
  callWithSpan,
  clockNow,
  defineHidden,
  endingCallback,
  endWhenSettled,
  isThenable,
  PendingClaim,
  PoolTimer,
  withTraceparentComment,
} from './driver/wrapper.js';
export type { SqlAnalysis, SqlDialect } from './sql-lexer.js';
