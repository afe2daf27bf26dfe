// Database semantic-convention names shared by tracewire's driver wrappers (semantic-conventions
// docs/db/database-spans.md, docs/db/database-metrics.md). Copied as literals so that nothing
// depends on `@opentelemetry/semantic-conventions` at run time; the pool metrics are still
// "development" in semconv, hence local names rather than an import. Each driver package
// re-exports the ones it documents, with its own `db.system.name` value.

export const ATTR_DB_SYSTEM_NAME = 'db.system.name';
export const ATTR_DB_NAMESPACE = 'db.namespace';
export const ATTR_DB_OPERATION_NAME = 'db.operation.name';
export const ATTR_DB_COLLECTION_NAME = 'db.collection.name';
export const ATTR_DB_QUERY_TEXT = 'db.query.text';
export const ATTR_DB_QUERY_SUMMARY = 'db.query.summary';
/** Prefix of the opt-in `db.query.parameter.<key>` attributes (key = 0-based position or name). */
export const ATTR_DB_QUERY_PARAMETER_PREFIX = 'db.query.parameter.';
export const ATTR_DB_RESPONSE_STATUS_CODE = 'db.response.status_code';
export const ATTR_DB_RESPONSE_RETURNED_ROWS = 'db.response.returned_rows';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_DB_CLIENT_CONNECTION_POOL_NAME = 'db.client.connection.pool.name';
export const ATTR_DB_CLIENT_CONNECTION_STATE = 'db.client.connection.state';

export const METRIC_DB_CLIENT_OPERATION_DURATION = 'db.client.operation.duration';
export const METRIC_DB_CLIENT_CONNECTION_COUNT = 'db.client.connection.count';
export const METRIC_DB_CLIENT_CONNECTION_MAX = 'db.client.connection.max';
export const METRIC_DB_CLIENT_CONNECTION_IDLE_MAX = 'db.client.connection.idle.max';
export const METRIC_DB_CLIENT_CONNECTION_IDLE_MIN = 'db.client.connection.idle.min';
export const METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS = 'db.client.connection.pending_requests';
export const METRIC_DB_CLIENT_CONNECTION_WAIT_TIME = 'db.client.connection.wait_time';
export const METRIC_DB_CLIENT_CONNECTION_USE_TIME = 'db.client.connection.use_time';
export const METRIC_DB_CLIENT_CONNECTION_TIMEOUTS = 'db.client.connection.timeouts';
export const METRIC_DB_CLIENT_CONNECTION_CREATE_TIME = 'db.client.connection.create_time';

/** Bucket boundaries (seconds) advised by semconv for the duration histograms. */
export const DB_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10,
]);

/** `error.type` for anything outside the bounded set. */
export const ERROR_TYPE_OTHER = '_OTHER';
