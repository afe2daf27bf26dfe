import type { SqlInstrumentationOptions, SqlQueryTextMode } from '@tracewire/sql/driver';
import { validateSqlOptions } from '@tracewire/sql/driver';

/** What a query hook gets: the query as the caller passed it (never copied into attributes). */
export interface Mysql2QueryInfo {
  /** `'query'` (text protocol) or `'execute'` (prepared statement). */
  readonly method: 'query' | 'execute';
  /** The SQL text as passed (before mysql2 interpolates values), if there is one. */
  readonly text: string | undefined;
  /** The values (raw), when given: an array, or an object with `namedPlaceholders`. */
  readonly values: unknown;
}

/**
 * How `db.query.text` is recorded.
 * - `'auto'`: text with values (`?` placeholders, or `execute`) as is, anything else sanitized;
 * - `'sanitize'`: always sanitized (placeholders `?` are kept, literals become `?`);
 * - `'off'`: never recorded.
 */
export type Mysql2QueryTextMode = SqlQueryTextMode;

/**
 * Options of {@link traceMysql2}. Every field is optional; the fields and their defaults are those
 * of every tracewire SQL driver wrapper (`SqlInstrumentationOptions` of `@tracewire/sql/driver`).
 */
export interface Mysql2InstrumentationOptions extends SqlInstrumentationOptions<Mysql2QueryInfo> {
  /**
   * `db.client.connection.pool.name` of a pool's metrics. Unique within the application. For a
   * pool cluster each node's pool is named `<poolName>/<node id>`.
   * @default `server.address:server.port/db.namespace`, from the pool's options
   */
  poolName?: string;
  /** How `db.query.text` is recorded. @default 'auto' */
  queryText?: Mysql2QueryTextMode;
  /**
   * Record positional values as `db.query.parameter.<index>` (named placeholders as
   * `db.query.parameter.<name>`; each capped at 256 characters, at most 32). They usually hold
   * personal data: enable only where that is acceptable.
   * @default false
   */
  captureParameters?: boolean;
  /**
   * Prepend a sqlcommenter-style comment with the W3C `traceparent` to `query()` text, so server
   * logs (general log, slow log, `performance_schema`) can be joined to traces. `execute()` is
   * never modified: mysql2 caches prepared statements by text, and a per-query comment would
   * prepare every call anew.
   * @default false
   */
  sqlCommenter?: boolean;
  /**
   * Called before the span of a query ends, with mysql2's result (rows or a ResultSetHeader; or
   * undefined on error or for a streamed query). A throw is contained and reported through `diag`.
   */
  responseHook?: SqlInstrumentationOptions<Mysql2QueryInfo>['responseHook'];
}

/**
 * Validates options at construction (fail fast at init, never at run time). Throws `TypeError`
 * with the option's name for a wrong type or an unknown key.
 *
 * @example
 * validateMysql2Options({ queryText: 'sanitize' }); // ok
 * validateMysql2Options({ queryTxt: 'off' }); // TypeError: unknown option "queryTxt"
 */
export function validateMysql2Options(options: unknown): void {
  validateSqlOptions(options, '@tracewire/mysql2');
}
