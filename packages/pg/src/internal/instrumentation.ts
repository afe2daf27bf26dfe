// What @tracewire/pg tells the shared SQL instrumentation (@tracewire/sql/driver) about pg: its
// system, dialect, span names, errors and results.

import { type SqlAnalysis, SqlInstrumentation, type SqlOperation, serverTarget } from '@tracewire/sql/driver';
import type { PgInstrumentationOptions, PgQueryInfo } from '../options.js';
import { DB_SYSTEM_POSTGRESQL } from '../semconv.js';
import { type ConnectionInfo, DEFAULT_PORT } from './connection.js';
import { pgErrorFacts, read } from './errors-info.js';

export const SCOPE_NAME = '@tracewire/pg';
export const SCOPE_VERSION = '0.1.0';

/** Everything one `tracePg` call shares: options, providers, metrics, diagnostics. */
export type PgInstrumentation = SqlInstrumentation<PgQueryInfo>;
/** One query's telemetry. */
export type Operation = SqlOperation;

const PG_DRIVER = {
  scope: SCOPE_NAME,
  version: SCOPE_VERSION,
  system: DB_SYSTEM_POSTGRESQL,
  dialect: 'postgresql',
  summaryAttribute: false,
  idleLimits: false,
  /** `{operation} {target}`, target the collection, else the database, else `host:port`. */
  spanName(analysis: SqlAnalysis | undefined, connection: ConnectionInfo): string {
    const target = analysis?.collection ?? connection.namespace ?? serverTarget(connection, DEFAULT_PORT);
    const operation = analysis?.operation;
    if (operation === undefined) return target ?? DB_SYSTEM_POSTGRESQL;
    return target !== undefined ? `${operation} ${target}` : operation;
  },
  errorFacts: pgErrorFacts,
  returnedRows,
} as const;

export function createPgInstrumentation(options: PgInstrumentationOptions | undefined): PgInstrumentation {
  return new SqlInstrumentation<PgQueryInfo>(PG_DRIVER, options);
}

/** Reads text, values and name from the arguments of `query(config, values, callback)`. */
export function describeQuery(config: unknown, values: unknown): PgQueryInfo {
  if (typeof config === 'string') {
    return { text: config, values: Array.isArray(values) ? values : undefined, name: undefined };
  }
  const text = read(config, 'text');
  const own = read(config, 'values');
  const name = read(config, 'name');
  return {
    text: typeof text === 'string' ? text : undefined,
    values: Array.isArray(values) ? values : Array.isArray(own) ? own : undefined,
    name: typeof name === 'string' ? name : undefined,
  };
}

/** Rows a pg result returned: `rows.length`, summed over a multi-statement result. */
function returnedRows(result: unknown): number | undefined {
  if (Array.isArray(result)) {
    let total = 0;
    let any = false;
    for (const r of result.slice(0, 1024)) {
      const rows = read(r, 'rows');
      if (Array.isArray(rows)) {
        total += rows.length;
        any = true;
      }
    }
    return any ? total : undefined;
  }
  const rows = read(result, 'rows');
  return Array.isArray(rows) ? rows.length : undefined;
}
