import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { callHook, LazyTracer, RateLimitedDiag } from '@tracewire/core';
import {
  analyzeSql,
  DEFAULT_MAX_QUERY_TEXT_LENGTH,
  type SqlAnalysis,
  type SqlDialect,
} from '../sql-lexer.js';
import type { ConnectionInfo } from './connection.js';
import { exceptionOf, type SqlErrorFacts } from './error-info.js';
import type { SqlInstrumentationOptions, SqlQueryTextMode } from './options.js';
import { SqlPoolMetrics } from './pool-metrics.js';
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
} from './semconv.js';

const CACHE_MAX_ENTRIES = 256;
const CACHE_MAX_TEXT = 8192;
const MAX_PARAMETERS = 32;
const MAX_PARAMETER_LENGTH = 256;
const PARAMETER_NAME = /^[A-Za-z_][\w$]{0,63}$/;

/** What every driver's query info has (the driver's own type adds its specifics). */
export interface SqlQuery {
  /** The SQL text as the caller passed it, if there is one. */
  readonly text: string | undefined;
  /** The values, when given: an array, an object of named values, or a single value. */
  readonly values: unknown;
}

/** What a driver package tells the shared instrumentation about itself. */
export interface SqlDriver {
  /** Instrumentation scope name (the package name) and version. */
  readonly scope: string;
  readonly version: string;
  /** `db.system.name`. */
  readonly system: string;
  /** The lexer dialect of its query text. */
  readonly dialect: SqlDialect;
  /** Whether spans carry `db.query.summary`. */
  readonly summaryAttribute: boolean;
  /** Whether its pools report `db.client.connection.idle.max` and `.idle.min`. */
  readonly idleLimits: boolean;
  /** The span name of a query (semconv database-spans.md, "Name"). */
  spanName(analysis: SqlAnalysis | undefined, connection: ConnectionInfo): string;
  /** What its errors say: `error.type`, `db.response.status_code`, the recordable message. */
  errorFacts(error: unknown): SqlErrorFacts;
  /** `db.response.returned_rows` of a result (and the fields the driver passed with it). */
  returnedRows(result: unknown, fields: unknown): number | undefined;
}

/** Whether a query came with values (its text then holds placeholders, not literals). */
export function hasValues(values: unknown): boolean {
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

/**
 * Everything one wrapper call (`tracePg(pool)`, `traceMysql2(pool)`) shares: options, providers,
 * metrics, diagnostics, the text analysis cache.
 *
 * @example
 * const inst = new SqlInstrumentation(PG_DRIVER, options);
 * const op = inst.start(context.active(), { text: 'SELECT 1', values: undefined }, connection);
 * op.end(undefined, result);
 */
export class SqlInstrumentation<Q extends SqlQuery> {
  readonly options: SqlInstrumentationOptions<Q>;
  readonly driver: SqlDriver;
  readonly diag: RateLimitedDiag;
  readonly metrics: SqlPoolMetrics;
  readonly #mode: SqlQueryTextMode;
  readonly #maxText: number;
  readonly #cache = new Map<string, SqlAnalysis>();
  readonly #tracer: LazyTracer;

  constructor(driver: SqlDriver, options: SqlInstrumentationOptions<Q> | undefined) {
    this.driver = driver;
    this.options = { ...options };
    this.diag = new RateLimitedDiag(60_000, driver.scope);
    this.#mode = this.options.queryText ?? 'auto';
    this.#maxText = this.options.maxQueryTextLength ?? DEFAULT_MAX_QUERY_TEXT_LENGTH;
    this.metrics = new SqlPoolMetrics(
      this.options.meterProvider,
      driver.scope,
      driver.version,
      driver.idleLimits,
    );
    this.#tracer = new LazyTracer(this.options.tracerProvider, driver.scope, driver.version);
  }

  /** The tracer, resolved lazily so an SDK registered after the wrapper is used. */
  tracer(): Tracer {
    return this.#tracer.get();
  }

  /** Runs a user hook; a throw is contained and reported (rate-limited). */
  call<A extends unknown[]>(hook: string, fn: (...args: A) => unknown, ...args: A): void {
    callHook(this.diag, hook, fn, ...args);
  }

  /** Text analysis in the driver's dialect, cached for repeated texts. */
  analyze(text: string, sanitize: boolean): SqlAnalysis {
    const key = sanitize ? `s${text}` : `r${text}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    const result = analyzeSql(text, sanitize, this.#maxText, this.driver.dialect);
    if (text.length <= CACHE_MAX_TEXT) {
      if (this.#cache.size >= CACHE_MAX_ENTRIES) {
        const first = this.#cache.keys().next();
        if (first.done !== true) this.#cache.delete(first.value);
      }
      this.#cache.set(key, result);
    }
    return result;
  }

  /** Starts the telemetry of one query issued in `parent`. */
  start(parent: Context, query: Q, connection: ConnectionInfo): SqlOperation {
    return new SqlOperation(this, parent, query, connection);
  }

  /** Whether query text gets sanitized under the configured mode (undefined: not recorded). */
  sanitizes(query: SqlQuery): boolean | undefined {
    if (this.#mode === 'off') return undefined;
    if (this.#mode === 'sanitize') return true;
    return !hasValues(query.values);
  }
}

/** A SqlInstrumentation of any driver's query type. */
export type AnySqlInstrumentation = SqlInstrumentation<never>;

/** One query: its CLIENT span (unless suppressed) and its duration measurement. Ends once. */
export class SqlOperation {
  readonly span: Span | undefined;
  /** Rows counted by the driver wrapper (streamed and event-mode results). */
  rows = 0;
  #ended = false;
  readonly #owner: AnySqlInstrumentation;
  readonly #startedAt: number;
  readonly #metricAttributes: Attributes;

  constructor(owner: AnySqlInstrumentation, parent: Context, query: SqlQuery, connection: ConnectionInfo) {
    this.#owner = owner;
    this.#startedAt = performance.now();
    const driver = owner.driver;
    const attributes: Attributes = { [ATTR_DB_SYSTEM_NAME]: driver.system };
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
    if (driver.summaryAttribute && analysis?.summary !== undefined)
      attributes[ATTR_DB_QUERY_SUMMARY] = analysis.summary;
    if (analysis !== undefined && sanitize !== undefined && analysis.text.length > 0) {
      attributes[ATTR_DB_QUERY_TEXT] = analysis.text;
    }
    if (options.captureParameters === true) addParameters(attributes, query.values);
    const name = driver.spanName(analysis, connection);
    this.span = owner.tracer().startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
    if (options.requestHook !== undefined)
      owner.call('requestHook', options.requestHook, this.span, query as never);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Ends the span and records the duration, once. `result` (and `fields`) are what the driver
   * returned or passed to its callback.
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
        const facts = owner.driver.errorFacts(error);
        metricAttributes[ATTR_ERROR_TYPE] = facts.type;
        if (facts.statusCode !== undefined) metricAttributes[ATTR_DB_RESPONSE_STATUS_CODE] = facts.statusCode;
        if (span?.isRecording() === true) {
          span.setAttribute(ATTR_ERROR_TYPE, facts.type);
          if (facts.statusCode !== undefined)
            span.setAttribute(ATTR_DB_RESPONSE_STATUS_CODE, facts.statusCode);
          const exception = exceptionOf(error, facts.serverMessage);
          span.recordException(exception);
          span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
        }
      } else if (span?.isRecording() === true) {
        const rows = owner.driver.returnedRows(result, fields) ?? (this.rows > 0 ? this.rows : undefined);
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
