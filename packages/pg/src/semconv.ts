// Semantic-convention values of PostgreSQL used by @tracewire/pg (semantic-conventions
// docs/db/postgresql.md). The names every driver shares (attributes, metrics, buckets) live in
// @tracewire/sql/driver.

export const DB_SYSTEM_POSTGRESQL = 'postgresql';
/** `error.type` when the pool gave up waiting for a connection (`connectionTimeoutMillis`). */
export const ERROR_TYPE_POOL_TIMEOUT = 'timeout';
