// What @tracewire/mysql2 tells the shared SQL instrumentation (@tracewire/sql/driver) about
// mysql2: its system, dialect, span names, errors and results.

import { type SqlAnalysis, SqlInstrumentation, type SqlOperation, serverTarget } from '@tracewire/sql/driver';
import type { Mysql2InstrumentationOptions, Mysql2QueryInfo } from '../options.js';
import { DB_SYSTEM_MYSQL } from '../semconv.js';
import type { ConnectionInfo } from './connection.js';
import { mysqlErrorFacts, read } from './errors-info.js';

export const SCOPE_NAME = '@tracewire/mysql2';
export const SCOPE_VERSION = '0.1.0';

/** Everything one `traceMysql2` call shares: options, providers, metrics, diagnostics. */
export type Mysql2Instrumentation = SqlInstrumentation<Mysql2QueryInfo>;
/** One query's telemetry. */
export type Operation = SqlOperation;

const MYSQL2_DRIVER = {
  scope: SCOPE_NAME,
  version: SCOPE_VERSION,
  system: DB_SYSTEM_MYSQL,
  dialect: 'mysql',
  summaryAttribute: true,
  idleLimits: true,
  /** Semconv database-spans.md "Name": db.query.summary, else {target}, else the system. */
  spanName(analysis: SqlAnalysis | undefined, connection: ConnectionInfo): string {
    return (
      analysis?.summary ?? connection.namespace ?? serverTarget(connection, undefined) ?? DB_SYSTEM_MYSQL
    );
  },
  errorFacts: mysqlErrorFacts,
  returnedRows,
} as const;

export function createMysql2Instrumentation(
  options: Mysql2InstrumentationOptions | undefined,
): Mysql2Instrumentation {
  return new SqlInstrumentation<Mysql2QueryInfo>(MYSQL2_DRIVER, options);
}

/**
 * Reads text and values from the arguments of `query(sql, values, cb)` / `execute(...)`: `sql` is
 * a string or an options object (`{ sql, values, ... }`, or a mysql2 Query command), and a function
 * in place of `values` is the callback.
 */
export function describeQuery(method: 'query' | 'execute', sql: unknown, values: unknown): Mysql2QueryInfo {
  if (typeof sql === 'string') {
    return { method, text: sql, values: typeof values === 'function' ? undefined : values };
  }
  const text = read(sql, 'sql');
  const own = read(sql, 'values');
  return {
    method,
    text: typeof text === 'string' ? text : undefined,
    values: values !== undefined && typeof values !== 'function' ? values : own,
  };
}

/**
 * Rows a mysql2 result returned: `rows.length` for a result set; for a multi-statement result
 * (fields is then an array per statement), the sum over the statements that returned rows. A
 * ResultSetHeader (INSERT, UPDATE, ...) returns no rows.
 */
function returnedRows(result: unknown, fields: unknown): number | undefined {
  if (!Array.isArray(result)) return undefined;
  if (Array.isArray(fields) && fields.some((f) => Array.isArray(f))) {
    let total = 0;
    let any = false;
    for (const r of result.slice(0, 1024)) {
      if (Array.isArray(r)) {
        total += r.length;
        any = true;
      }
    }
    return any ? total : undefined;
  }
  return result.length;
}
