import type { MeterProvider, Span, TracerProvider } from '@opentelemetry/api';
import { describeType } from '@tracewire/core';

/**
 * How `db.query.text` is recorded.
 * - `'auto'`: text that comes with values (placeholders) as is, anything else sanitized;
 * - `'sanitize'`: always sanitized (placeholders are kept, literals become `?`);
 * - `'off'`: never recorded.
 */
export type SqlQueryTextMode = 'auto' | 'sanitize' | 'off';

/**
 * The options every driver wrapper takes (`tracePg`, `traceMysql2`), with `Q` the driver's query
 * info handed to `requestHook`. Every field is optional.
 */
export interface SqlInstrumentationOptions<Q> {
  /** Tracer provider; resolved lazily from the global one when absent. @default trace.getTracerProvider() */
  tracerProvider?: TracerProvider;
  /** Meter provider; resolved lazily from the global one when absent. @default metrics.getMeterProvider() */
  meterProvider?: MeterProvider;
  /**
   * `db.client.connection.pool.name` of a pool's metrics. Unique within the application.
   * @default `server.address:server.port/db.namespace`, from the pool's options
   */
  poolName?: string;
  /** How `db.query.text` is recorded. @default 'auto' */
  queryText?: SqlQueryTextMode;
  /** Cap of `db.query.text`, in characters (1..65536). @default 2048 */
  maxQueryTextLength?: number;
  /**
   * Record parameter values as `db.query.parameter.<index>` (each capped at 256 characters, at most
   * 32). They usually hold personal data: enable only where that is acceptable.
   * @default false
   */
  captureParameters?: boolean;
  /** Only trace queries that have an active parent span (metrics are always recorded). @default false */
  requireParentSpan?: boolean;
  /**
   * Prepend a sqlcommenter-style comment with the W3C `traceparent` to the text of plain text
   * queries, so database logs can be joined to traces.
   * @default false
   */
  sqlCommenter?: boolean;
  /**
   * Called after the span of a query is started (and before the query is sent). A throw is
   * contained and reported through `diag`.
   */
  requestHook?: (span: Span, query: Q) => void;
  /**
   * Called before the span of a query ends, with the driver's result (or undefined on error). A
   * throw is contained and reported through `diag`.
   */
  responseHook?: (span: Span, result: unknown) => void;
}

const KNOWN_KEYS: ReadonlySet<string> = new Set([
  'tracerProvider',
  'meterProvider',
  'poolName',
  'queryText',
  'maxQueryTextLength',
  'captureParameters',
  'requireParentSpan',
  'sqlCommenter',
  'requestHook',
  'responseHook',
]);

/**
 * Validates a driver wrapper's options at construction (fail fast at init, never at run time).
 * Throws `TypeError`, prefixed with `owner` (the package name), naming the option for a wrong type
 * or an unknown key.
 *
 * @example
 * validateSqlOptions({ queryText: 'sanitize' }, '@tracewire/pg'); // ok
 * validateSqlOptions({ queryTxt: 'off' }, '@tracewire/pg'); // TypeError: unknown option "queryTxt"
 */
export function validateSqlOptions(options: unknown, owner: string): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${owner}: options must be an object, got ${describeType(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN_KEYS.has(key)) throw new TypeError(`${owner}: unknown option "${key}"`);
  }
  const expect = (key: string, ok: (v: unknown) => boolean, what: string): void => {
    const v = o[key];
    if (v !== undefined && !ok(v)) {
      throw new TypeError(`${owner}: options.${key} must be ${what}, got ${describeType(v)}`);
    }
  };
  const hasMethod = (m: string) => (v: unknown) =>
    typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)[m] === 'function';
  expect('tracerProvider', hasMethod('getTracer'), 'a TracerProvider');
  expect('meterProvider', hasMethod('getMeter'), 'a MeterProvider');
  expect(
    'poolName',
    (v) => typeof v === 'string' && v.length > 0 && v.length <= 256,
    'a string of 1..256 chars',
  );
  expect('queryText', (v) => v === 'auto' || v === 'sanitize' || v === 'off', "'auto', 'sanitize' or 'off'");
  expect(
    'maxQueryTextLength',
    (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65_536,
    'an integer 1..65536',
  );
  expect('captureParameters', (v) => typeof v === 'boolean', 'a boolean');
  expect('requireParentSpan', (v) => typeof v === 'boolean', 'a boolean');
  expect('sqlCommenter', (v) => typeof v === 'boolean', 'a boolean');
  expect('requestHook', (v) => typeof v === 'function', 'a function');
  expect('responseHook', (v) => typeof v === 'function', 'a function');
}
