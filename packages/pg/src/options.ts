import type { SqlInstrumentationOptions, SqlQueryTextMode } from '@tracewire/sql/driver';
import { validateSqlOptions } from '@tracewire/sql/driver';

/** What a query hook gets: the query as the caller passed it (never copied into attributes). */
export interface PgQueryInfo {
  /** The query text (raw, as passed to `query`), or undefined for a Submittable without `text`. */
  readonly text: string | undefined;
  /** The parameter values (raw), when given. */
  readonly values: readonly unknown[] | undefined;
  /** The prepared statement name, when given. */
  readonly name: string | undefined;
}

/**
 * How `db.query.text` is recorded.
 * - `'auto'`: parameterized text (a query with values) as is, anything else sanitized;
 * - `'sanitize'`: always sanitized (placeholders `$1` are kept, literals become `?`);
 * - `'off'`: never recorded.
 */
export type PgQueryTextMode = SqlQueryTextMode;

/**
 * Options of {@link tracePg}. Every field is optional; the fields and their defaults are those of
 * every tracewire SQL driver wrapper (`SqlInstrumentationOptions` of `@tracewire/sql/driver`).
 */
export interface PgInstrumentationOptions extends SqlInstrumentationOptions<PgQueryInfo> {
  /** How `db.query.text` is recorded. @default 'auto' */
  queryText?: PgQueryTextMode;
  /**
   * Prepend a sqlcommenter-style comment with the W3C `traceparent` to non-parameterized text
   * queries, so database logs and `pg_stat_statements` can be joined to traces. Parameterized
   * queries, named prepared statements and Submittables are never modified.
   * @default false
   */
  sqlCommenter?: boolean;
  /**
   * Called before the span of a query ends, with the pg result (or undefined on error). A throw is
   * contained and reported through `diag`.
   */
  responseHook?: SqlInstrumentationOptions<PgQueryInfo>['responseHook'];
}

/**
 * Validates options at construction (fail fast at init, never at run time). Throws `TypeError`
 * with the option's name for a wrong type or an unknown key.
 *
 * @example
 * validatePgOptions({ queryText: 'sanitize' }); // ok
 * validatePgOptions({ queryTxt: 'off' }); // TypeError: unknown option "queryTxt"
 */
export function validatePgOptions(options: unknown): void {
  validateSqlOptions(options, '@tracewire/pg');
}
