import type { Attributes, Context, Span, SpanOptions, Tracer } from '@opentelemetry/api';
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
import { clockNow } from './wrapper.js';

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
  private readonly _mode: SqlQueryTextMode;
  private readonly _maxText: number;
  private readonly _tracer: LazyTracer;
  /** Query shapes per connection (most instrumentations have one: the pool's, kept at hand). */
  private readonly _shapes = new WeakMap<ConnectionInfo, ShapeCache>();
  private _lastConnection: ConnectionInfo | undefined;
  private _lastShapes: ShapeCache | undefined;

  constructor(driver: SqlDriver, options: SqlInstrumentationOptions<Q> | undefined) {
    this.driver = driver;
    this.options = { ...options };
    this.diag = new RateLimitedDiag(60_000, driver.scope);
    this._mode = this.options.queryText ?? 'auto';
    this._maxText = this.options.maxQueryTextLength ?? DEFAULT_MAX_QUERY_TEXT_LENGTH;
    this.metrics = new SqlPoolMetrics(
      this.options.meterProvider,
      driver.scope,
      driver.version,
      driver.idleLimits,
    );
    this._tracer = new LazyTracer(this.options.tracerProvider, driver.scope, driver.version);
  }

  /** The tracer, resolved lazily so an SDK registered after the wrapper is used. */
  tracer(): Tracer {
    return this._tracer.get();
  }

  /**
   * Whether the tracer returned by the last {@link tracer} call is the API's no-op (no SDK): its
   * spans record nothing and only repeat the parent's span context.
   */
  get tracerIsNoop(): boolean {
    return this._tracer.noop;
  }

  /** Runs a user hook; a throw is contained and reported (rate-limited). */
  call<A extends unknown[]>(hook: string, fn: (...args: A) => unknown, ...args: A): void {
    callHook(this.diag, hook, fn, ...args);
  }

  /** Text analysis in the driver's dialect (not cached: see {@link shape}). */
  analyze(text: string, sanitize: boolean): SqlAnalysis {
    return analyzeSql(text, sanitize, this._maxText, this.driver.dialect);
  }

  /**
   * What every query with this text on this connection records the same way: span name, span
   * and metric attributes. Cached per connection and text (parameterized queries mostly repeat),
   * so a repeated query neither lexes its text nor builds its attribute objects again. The objects
   * are shared: never mutated once built.
   */
  shape(query: SqlQuery, connection: ConnectionInfo): QueryShape {
    let shapes = this._lastShapes;
    if (this._lastConnection !== connection || shapes === undefined) {
      shapes = this._shapes.get(connection);
      if (shapes === undefined) {
        shapes = { sanitized: new Map(), raw: new Map(), none: undefined };
        this._shapes.set(connection, shapes);
      }
      this._lastConnection = connection;
      this._lastShapes = shapes;
    }
    const text = query.text;
    if (text === undefined) {
      if (shapes.none === undefined) shapes.none = this.#build(undefined, undefined, connection);
      return shapes.none;
    }
    const sanitize = this.sanitizes(query);
    const cache = sanitize === false ? shapes.raw : shapes.sanitized;
    const hit = cache.get(text);
    if (hit !== undefined) return hit;
    const shape = this.#build(text, sanitize, connection);
    if (text.length <= CACHE_MAX_TEXT) {
      if (cache.size >= CACHE_MAX_ENTRIES) {
        const first = cache.keys().next();
        if (first.done !== true) cache.delete(first.value);
      }
      cache.set(text, shape);
    }
    return shape;
  }

  #build(text: string | undefined, sanitize: boolean | undefined, connection: ConnectionInfo): QueryShape {
    const driver = this.driver;
    const metric: Attributes = { [ATTR_DB_SYSTEM_NAME]: driver.system };
    if (connection.namespace !== undefined) metric[ATTR_DB_NAMESPACE] = connection.namespace;
    if (connection.address !== undefined) metric[ATTR_SERVER_ADDRESS] = connection.address;
    if (connection.port !== undefined) metric[ATTR_SERVER_PORT] = connection.port;
    const analysis = text !== undefined ? this.analyze(text, sanitize ?? true) : undefined;
    if (analysis?.operation !== undefined) metric[ATTR_DB_OPERATION_NAME] = analysis.operation;
    if (analysis?.collection !== undefined) metric[ATTR_DB_COLLECTION_NAME] = analysis.collection;
    const span: Attributes = { ...metric };
    if (driver.summaryAttribute && analysis?.summary !== undefined)
      span[ATTR_DB_QUERY_SUMMARY] = analysis.summary;
    if (analysis !== undefined && sanitize !== undefined && analysis.text.length > 0) {
      span[ATTR_DB_QUERY_TEXT] = analysis.text;
    }
    return {
      name: driver.spanName(analysis, connection),
      spanAttributes: span,
      metricAttributes: metric,
      spanOptions: { kind: SpanKind.CLIENT, attributes: span },
    };
  }

  /** Starts the telemetry of one query issued in `parent`. */
  start(parent: Context, query: Q, connection: ConnectionInfo): SqlOperation {
    return new SqlOperation(this, parent, query, connection);
  }

  /** Whether query text gets sanitized under the configured mode (undefined: not recorded). */
  sanitizes(query: SqlQuery): boolean | undefined {
    if (this._mode === 'off') return undefined;
    if (this._mode === 'sanitize') return true;
    return !hasValues(query.values);
  }
}

/** What the queries of one text on one connection record alike (shared objects: never mutated). */
export interface QueryShape {
  readonly name: string;
  readonly spanAttributes: Attributes;
  readonly metricAttributes: Attributes;
  /** The span options of a query without parameters to capture (the SDK never changes them). */
  readonly spanOptions: SpanOptions;
}

interface ShapeCache {
  readonly sanitized: Map<string, QueryShape>;
  readonly raw: Map<string, QueryShape>;
  none: QueryShape | undefined;
}

const NOOP_SPAN_OPTIONS: SpanOptions = Object.freeze({ kind: SpanKind.CLIENT });

/** A SqlInstrumentation of any driver's query type. */
export type AnySqlInstrumentation = SqlInstrumentation<never>;

/** One query: its CLIENT span (unless suppressed) and its duration measurement. Ends once. */
export class SqlOperation {
  // Declared, not initialized as class fields: fields are defined one by one on every object
  // ([[Define]] semantics), then assigned again here; a query's operation is made per query.
  declare readonly span: Span | undefined;
  /** Rows counted by the driver wrapper (streamed and event-mode results). */
  declare rows: number;
  /** When the query started (`clockNow()`): a pool's wait for a connection for it starts then too. */
  declare readonly startedAt: number;
  declare private _ended: boolean;
  /** Whether the span goes into the context the driver runs in (not the API's no-op span). */
  declare private _activates: boolean;
  declare private readonly _owner: AnySqlInstrumentation;
  declare private readonly _metricAttributes: Attributes;

  constructor(owner: AnySqlInstrumentation, parent: Context, query: SqlQuery, connection: ConnectionInfo) {
    // Every field assigned first, in one order, whatever follows: one object shape.
    this._owner = owner;
    this.startedAt = clockNow();
    this.rows = 0;
    this._ended = false;
    this._activates = false;
    this.span = undefined;
    const shape = owner.shape(query, connection);
    this._metricAttributes = shape.metricAttributes;
    const options = owner.options;
    if (options.requireParentSpan === true && trace.getSpan(parent) === undefined) return;
    const tracer = owner.tracer();
    if (owner.tracerIsNoop) {
      // No SDK: the span would record nothing. It is made (attributes left out) only for whom
      // sees it: the hooks, and sqlcommenter (the parent's traceparent); it never goes into a
      // context (activeIn).
      if (
        options.requestHook === undefined &&
        options.responseHook === undefined &&
        options.sqlCommenter !== true
      )
        return;
      this.span = tracer.startSpan(shape.name, NOOP_SPAN_OPTIONS, parent);
    } else if (options.captureParameters === true) {
      const attributes = { ...shape.spanAttributes };
      addParameters(attributes, query.values);
      this.span = tracer.startSpan(shape.name, { kind: SpanKind.CLIENT, attributes }, parent);
      this._activates = true;
    } else {
      this.span = tracer.startSpan(shape.name, shape.spanOptions, parent);
      this._activates = true;
    }
    if (options.requestHook !== undefined)
      owner.call('requestHook', options.requestHook, this.span, query as never);
  }

  /**
   * `caller` with this query's span active. With no SDK, `caller` itself: the API's no-op span
   * only repeats the parent's span context, which `caller` already carries (or no span at all),
   * and a context of its own would be one more Map and three closures for the same content.
   */
  activeIn(caller: Context): Context {
    return this._activates ? trace.setSpan(caller, this.span as Span) : caller;
  }

  get ended(): boolean {
    return this._ended;
  }

  /**
   * Ends the span and records the duration, once. `result` (and `fields`) are what the driver
   * returned or passed to its callback.
   */
  end(error: unknown, result?: unknown, fields?: unknown): void {
    if (this._ended) return;
    this._ended = true;
    const owner = this._owner;
    try {
      const span = this.span;
      const failed = error !== undefined && error !== null;
      let metricAttributes = this._metricAttributes;
      if (failed) {
        const facts = owner.driver.errorFacts(error);
        metricAttributes = { ...metricAttributes, [ATTR_ERROR_TYPE]: facts.type };
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
      owner.metrics.get().duration.record((clockNow() - this.startedAt) / 1000, metricAttributes);
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
