import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { callHook, LazyTracer, RateLimitedDiag } from '@tracewire/core';
import { analyzeSql, DEFAULT_MAX_QUERY_TEXT_LENGTH, type SqlAnalysis } from '@tracewire/sql';
import type { PgInstrumentationOptions, PgQueryInfo, PgQueryTextMode } from '../options.js';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_PARAMETER_PREFIX,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_RESPONSE_RETURNED_ROWS,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  DB_SYSTEM_POSTGRESQL,
} from '../semconv.js';
import type { ConnectionInfo } from './connection.js';
import { errorTypeOf, exceptionOf, read, sqlStateOf } from './errors-info.js';
import { PgMetrics } from './metrics.js';

export const SCOPE_NAME = '@tracewire/pg';
export const SCOPE_VERSION = '0.1.0';

const CACHE_MAX_ENTRIES = 256;
const CACHE_MAX_TEXT = 8192;
const MAX_PARAMETERS = 32;
const MAX_PARAMETER_LENGTH = 256;

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

/** Everything one `tracePg` call shares: options, providers, metrics, diagnostics. */
export class PgInstrumentation {
  readonly options: PgInstrumentationOptions;
  readonly diag: RateLimitedDiag = new RateLimitedDiag(60_000, SCOPE_NAME);
  readonly metrics: PgMetrics;
  readonly #mode: PgQueryTextMode;
  readonly #maxText: number;
  readonly #cache = new Map<string, SqlAnalysis>();
  readonly #tracer: LazyTracer;

  constructor(options: PgInstrumentationOptions | undefined) {
    this.options = { ...options };
    this.#mode = this.options.queryText ?? 'auto';
    this.#maxText = this.options.maxQueryTextLength ?? DEFAULT_MAX_QUERY_TEXT_LENGTH;
    this.metrics = new PgMetrics(this.options.meterProvider, SCOPE_NAME, SCOPE_VERSION);
    this.#tracer = new LazyTracer(this.options.tracerProvider, SCOPE_NAME, SCOPE_VERSION);
  }

  /** The tracer, resolved lazily so an SDK registered after `tracePg` is used. */
  tracer(): Tracer {
    return this.#tracer.get();
  }

  /** Runs a user hook; a throw is contained and reported (rate-limited). */
  call<A extends unknown[]>(hook: string, fn: (...args: A) => unknown, ...args: A): void {
    callHook(this.diag, hook, fn, ...args);
  }

  /** Text analysis, cached for repeated texts (parameterized queries mostly repeat). */
  analyze(text: string, sanitize: boolean): SqlAnalysis {
    const key = sanitize ? `s${text}` : `r${text}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    const result = analyzeSql(text, sanitize, this.#maxText);
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
  start(parent: Context, query: PgQueryInfo, connection: ConnectionInfo): Operation {
    return new Operation(this, parent, query, connection);
  }

  /** Whether query text gets sanitized under the configured mode. */
  sanitizes(query: PgQueryInfo): boolean | undefined {
    if (this.#mode === 'off') return undefined;
    if (this.#mode === 'sanitize') return true;
    return !(query.values !== undefined && query.values.length > 0);
  }
}

/** One query: its CLIENT span (unless suppressed) and its duration measurement. Ends once. */
export class Operation {
  readonly span: Span | undefined;
  /** Rows counted by a Submittable's `handleDataRow`. */
  rows = 0;
  #ended = false;
  readonly #owner: PgInstrumentation;
  readonly #startedAt: number;
  readonly #metricAttributes: Attributes;

  constructor(owner: PgInstrumentation, parent: Context, query: PgQueryInfo, connection: ConnectionInfo) {
    this.#owner = owner;
    this.#startedAt = performance.now();
    const attributes: Attributes = { [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_POSTGRESQL };
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
    if (analysis !== undefined && sanitize !== undefined && analysis.text.length > 0) {
      attributes[ATTR_DB_QUERY_TEXT] = analysis.text;
    }
    if (options.captureParameters === true && query.values !== undefined) {
      const n = Math.min(query.values.length, MAX_PARAMETERS);
      for (let i = 0; i < n; i++)
        attributes[`${ATTR_DB_QUERY_PARAMETER_PREFIX}${i}`] = parameter(query.values[i]);
    }
    const target =
      analysis?.collection ??
      connection.namespace ??
      (connection.address !== undefined ? `${connection.address}:${connection.port ?? 5432}` : undefined);
    const operation = analysis?.operation;
    const name =
      operation !== undefined
        ? target !== undefined
          ? `${operation} ${target}`
          : operation
        : (target ?? DB_SYSTEM_POSTGRESQL);
    this.span = owner.tracer().startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
    if (options.requestHook !== undefined) owner.call('requestHook', options.requestHook, this.span, query);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Ends the span and records the duration, once. `result` is pg's result (or an array of them). */
  end(error: unknown, result?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const owner = this.#owner;
    try {
      const span = this.span;
      const failed = error !== undefined && error !== null;
      const metricAttributes = this.#metricAttributes;
      if (failed) {
        const state = sqlStateOf(error);
        const type = errorTypeOf(error);
        metricAttributes[ATTR_ERROR_TYPE] = type;
        if (state !== undefined) metricAttributes[ATTR_DB_RESPONSE_STATUS_CODE] = state;
        if (span?.isRecording() === true) {
          span.setAttribute(ATTR_ERROR_TYPE, type);
          if (state !== undefined) span.setAttribute(ATTR_DB_RESPONSE_STATUS_CODE, state);
          const exception = exceptionOf(error);
          span.recordException(exception);
          span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
        }
      } else if (span?.isRecording() === true) {
        const rows = returnedRows(result) ?? (this.rows > 0 ? this.rows : undefined);
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
