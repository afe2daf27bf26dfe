import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { callHook, LazyTracer, RateLimitedDiag } from '@tracewire/core';
import { analyzeSql, DEFAULT_MAX_QUERY_TEXT_LENGTH, type SqlAnalysis } from '@tracewire/sql';
import type { Mysql2InstrumentationOptions, Mysql2QueryInfo, Mysql2QueryTextMode } from '../options.js';
import {
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
  DB_SYSTEM_MYSQL,
} from '../semconv.js';
import type { ConnectionInfo } from './connection.js';
import { errorTypeOf, exceptionOf, read, serverErrorOf } from './errors-info.js';
import { Mysql2Metrics } from './metrics.js';

export const SCOPE_NAME = '@tracewire/mysql2';
export const SCOPE_VERSION = '0.1.0';

const CACHE_MAX_ENTRIES = 256;
const CACHE_MAX_TEXT = 8192;
const MAX_PARAMETERS = 32;
const MAX_PARAMETER_LENGTH = 256;
const PARAMETER_NAME = /^[A-Za-z_][\w$]{0,63}$/;

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

function hasValues(values: unknown): boolean {
  if (Array.isArray(values)) return values.length > 0;
  if (typeof values === 'object' && values !== null) {
    try {
      return Object.keys(values).length > 0;
    } catch {
      return false;
    }
  }
  // mysql2 accepts a single non-array value for one `?`.
  return values !== undefined && values !== null && typeof values !== 'function';
}

/** Everything one `traceMysql2` call shares: options, providers, metrics, diagnostics. */
export class Mysql2Instrumentation {
  readonly options: Mysql2InstrumentationOptions;
  readonly diag: RateLimitedDiag = new RateLimitedDiag(60_000, SCOPE_NAME);
  readonly metrics: Mysql2Metrics;
  readonly #mode: Mysql2QueryTextMode;
  readonly #maxText: number;
  readonly #cache = new Map<string, SqlAnalysis>();
  readonly #tracer: LazyTracer;

  constructor(options: Mysql2InstrumentationOptions | undefined) {
    this.options = { ...options };
    this.#mode = this.options.queryText ?? 'auto';
    this.#maxText = this.options.maxQueryTextLength ?? DEFAULT_MAX_QUERY_TEXT_LENGTH;
    this.metrics = new Mysql2Metrics(this.options.meterProvider, SCOPE_NAME, SCOPE_VERSION);
    this.#tracer = new LazyTracer(this.options.tracerProvider, SCOPE_NAME, SCOPE_VERSION);
  }

  /** The tracer, resolved lazily so an SDK registered after `traceMysql2` is used. */
  tracer(): Tracer {
    return this.#tracer.get();
  }

  /** Runs a user hook; a throw is contained and reported (rate-limited). */
  call<A extends unknown[]>(hook: string, fn: (...args: A) => unknown, ...args: A): void {
    callHook(this.diag, hook, fn, ...args);
  }

  /** Text analysis in the MySQL dialect, cached for repeated texts. */
  analyze(text: string, sanitize: boolean): SqlAnalysis {
    const key = sanitize ? `s${text}` : `r${text}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    const result = analyzeSql(text, sanitize, this.#maxText, 'mysql');
    if (text.length <= CACHE_MAX_TEXT) {
      if (this.#cache.size >= CACHE_MAX_ENTRIES) {
        const first = this.#cache.keys().next();
        if (first.done !== true) this.#cache.delete(first.value);
      }
      this.#cache.set(key, result);
    }
    return result;
  }

  /** Starts the telemetry of one query issued in `parent`. Never throws. */
  start(parent: Context, query: Mysql2QueryInfo, connection: ConnectionInfo): Operation {
    return new Operation(this, parent, query, connection);
  }

  /** Whether query text gets sanitized under the configured mode (undefined: not recorded). */
  sanitizes(query: Mysql2QueryInfo): boolean | undefined {
    if (this.#mode === 'off') return undefined;
    if (this.#mode === 'sanitize') return true;
    return !hasValues(query.values);
  }
}

/** One query: its CLIENT span (unless suppressed) and its duration measurement. Ends once. */
export class Operation {
  readonly span: Span | undefined;
  /** Rows counted from a streamed/event-mode query's `result` events. */
  rows = 0;
  #ended = false;
  readonly #owner: Mysql2Instrumentation;
  readonly #startedAt: number;
  readonly #metricAttributes: Attributes;

  constructor(
    owner: Mysql2Instrumentation,
    parent: Context,
    query: Mysql2QueryInfo,
    connection: ConnectionInfo,
  ) {
    this.#owner = owner;
    this.#startedAt = performance.now();
    const attributes: Attributes = { [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_MYSQL };
    if (connection.namespace !== undefined) attributes[ATTR_DB_NAMESPACE] = connection.namespace;
    if (connection.address !== undefined) attributes[ATTR_SERVER_ADDRESS] = connection.address;
    if (connection.port !== undefined) attributes[ATTR_SERVER_PORT] = connection.port;

    let analysis: SqlAnalysis | undefined;
    let sanitize: boolean | undefined;
    if (query.text !== undefined) {
      sanitize = owner.sanitizes(query);
      analysis = owner.analyze(query.text, sanitize ?? true);
      if (analysis.operation !== undefined) attributes[ATTR_DB_OPERATION_NAME] = analysis.operation;
      if (analysis.collection !== undefined) attributes[ATTR_DB_COLLECTION_NAME] = analysis.collection;
    }
    this.#metricAttributes = { ...attributes };

    const options = owner.options;
    if (options.requireParentSpan === true && trace.getSpan(parent) === undefined) {
      this.span = undefined;
      return;
    }
    if (analysis?.summary !== undefined) attributes[ATTR_DB_QUERY_SUMMARY] = analysis.summary;
    if (analysis !== undefined && sanitize !== undefined && analysis.text.length > 0) {
      attributes[ATTR_DB_QUERY_TEXT] = analysis.text;
    }
    if (options.captureParameters === true) addParameters(attributes, query.values);
    // Span name (semconv database-spans.md "Name"): db.query.summary, else {target}, else the system.
    const name =
      analysis?.summary ??
      connection.namespace ??
      (connection.address !== undefined
        ? connection.port !== undefined
          ? `${connection.address}:${connection.port}`
          : connection.address
        : DB_SYSTEM_MYSQL);
    this.span = owner.tracer().startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
    if (options.requestHook !== undefined) owner.call('requestHook', options.requestHook, this.span, query);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Ends the span and records the duration, once. `result` and `fields` are what mysql2 passed to
   * the callback (rows or a ResultSetHeader, and the field packets).
   */
  end(error: unknown, result?: unknown, fields?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const owner = this.#owner;
    try {
      const span = this.span;
      const failed = error !== undefined && error !== null;
      const metricAttributes = this.#metricAttributes;
      if (failed) {
        const server = serverErrorOf(error);
        const type = errorTypeOf(error);
        metricAttributes[ATTR_ERROR_TYPE] = type;
        if (server !== undefined) metricAttributes[ATTR_DB_RESPONSE_STATUS_CODE] = String(server.errno);
        if (span?.isRecording() === true) {
          span.setAttribute(ATTR_ERROR_TYPE, type);
          if (server !== undefined) span.setAttribute(ATTR_DB_RESPONSE_STATUS_CODE, String(server.errno));
          const exception = exceptionOf(error);
          span.recordException(exception);
          span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
        }
      } else if (span?.isRecording() === true) {
        const rows = returnedRows(result, fields) ?? (this.rows > 0 ? this.rows : undefined);
        if (rows !== undefined) span.setAttribute(ATTR_DB_RESPONSE_RETURNED_ROWS, rows);
      }
      if (span !== undefined) {
        const hook = owner.options.responseHook;
        if (hook !== undefined) owner.call('responseHook', hook, span, failed ? undefined : result);
        span.end();
      }
      owner.metrics.get().duration.record((performance.now() - this.#startedAt) / 1000, metricAttributes);
    } catch (e) {
      owner.diag.error('end', 'could not end the query span cleanly', e);
    }
  }
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

/** Opt-in `db.query.parameter.<i>` (positional) or `.<name>` (named placeholders), bounded. */
function addParameters(attributes: Attributes, values: unknown): void {
  try {
    if (Array.isArray(values)) {
      const n = Math.min(values.length, MAX_PARAMETERS);
      for (let i = 0; i < n; i++) attributes[`${ATTR_DB_QUERY_PARAMETER_PREFIX}${i}`] = parameter(values[i]);
    } else if (typeof values === 'object' && values !== null && !(values instanceof Uint8Array)) {
      let n = 0;
      for (const key of Object.keys(values)) {
        if (n >= MAX_PARAMETERS) break;
        if (!PARAMETER_NAME.test(key)) continue;
        attributes[`${ATTR_DB_QUERY_PARAMETER_PREFIX}${key}`] = parameter(
          (values as Record<string, unknown>)[key],
        );
        n++;
      }
    } else if (values !== undefined) {
      attributes[`${ATTR_DB_QUERY_PARAMETER_PREFIX}0`] = parameter(values);
    }
  } catch {
    // A hostile values object (throwing getter, Proxy): no parameters recorded.
  }
}

/** A parameter value as an attribute string: bounded, never throwing. */
function parameter(value: unknown): string {
  try {
    let s: string;
    if (value === null || value === undefined) s = 'NULL';
    else if (typeof value === 'string') s = value;
    else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
      s = String(value);
    else if (value instanceof Date) s = Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
    else if (value instanceof Uint8Array) s = `<${value.byteLength} bytes>`;
    else s = JSON.stringify(value) ?? typeof value;
    return s.length > MAX_PARAMETER_LENGTH ? s.slice(0, MAX_PARAMETER_LENGTH) : s;
  } catch {
    return `<${typeof value}>`;
  }
}
