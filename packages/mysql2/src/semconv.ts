// Semantic-convention values of MySQL used by @tracewire/mysql2 (semantic-conventions
// docs/db/mysql.md). The names every driver shares (attributes, metrics, buckets) live in
// @tracewire/sql/driver.

/** `db.system.name` of MySQL, used for MariaDB too (same protocol; semconv has no other value here). */
export const DB_SYSTEM_MYSQL = 'mysql';
