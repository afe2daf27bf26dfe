import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MeterProvider, Span, TextMapPropagator, TracerProvider } from '@opentelemetry/api';

/** Something that says whether a request is ignored: an exact path, a pattern or a predicate. */
export type IgnoreMatcher<TReq = IncomingMessage> = string | RegExp | ((request: TReq) => boolean);

/** The part of a logger the adapters use (pino, `@tracewire/logger`'s `createLogger()`, ...). */
export interface RequestLoggerLike {
  child(bindings: Record<string, unknown>): RequestLogLike;
}

/** A request's child logger. */
export interface RequestLogLike {
  info(record: Record<string, unknown>, message: string): void;
  warn(record: Record<string, unknown>, message: string): void;
  error(record: Record<string, unknown>, message: string): void;
}

/** What a `spanNameFormatter` is told. */
export interface SpanNameInfo<TReq = IncomingMessage> {
  /** The semconv method (`GET`, ..., or `_OTHER`). */
  method: string;
  /** The route template, when the framework matched one. */
  route: string | undefined;
  request: TReq;
}

/**
 * Options shared by every tracewire HTTP adapter (`otelExpress`, `otelKoa`, `OtelModule`). All are
 * optional; they are validated when the middleware is created and a wrong type throws a
 * `TypeError` there, never later in a request.
 */
export interface HttpInstrumentationOptions<TReq = IncomingMessage, TRes = ServerResponse> {
  /** Where spans go. @default the global tracer provider, resolved per request (so an SDK registered later is used) */
  tracerProvider?: TracerProvider;
  /** Where metrics go. @default the global meter provider, resolved per request */
  meterProvider?: MeterProvider;
  /** How context is read from request headers. @default the global propagator if one is registered, else tracewire's W3C Trace Context + Baggage propagator */
  propagator?: TextMapPropagator;
  /** Requests that get no span and no metrics: exact paths (without query), patterns tested on the path, or predicates. @default [] */
  ignore?: IgnoreMatcher<TReq> | readonly IgnoreMatcher<TReq>[];
  /** Names the span. A throw falls back to the default. @default `{METHOD} {route}`, or `{METHOD}` without a route (`HTTP` for unknown methods) */
  spanNameFormatter?: (info: SpanNameInfo<TReq>) => string;
  /** Called with the server span once it started. A throw is contained and reported once. */
  requestHook?: (span: Span, request: TReq) => void;
  /** Called with the server span just before it ends. A throw is contained and reported once. */
  responseHook?: (span: Span, response: TRes) => void;
  /** Request header names recorded as `http.request.header.<name>` (case-insensitive). @default [] */
  captureRequestHeaders?: readonly string[];
  /** Response header names recorded as `http.response.header.<name>`. @default [] */
  captureResponseHeaders?: readonly string[];
  /**
   * The endpoint is reachable by untrusted callers: incoming trace context is not continued but
   * linked, and incoming baggage is dropped (W3C Trace Context §security). @default false
   */
  publicEndpoint?: boolean | ((request: TReq) => boolean);
  /** Send the W3C Trace Context Level 2 `traceresponse` header. @default true */
  traceResponseHeader?: boolean;
  /**
   * A logger (e.g. `createLogger()` from `@tracewire/logger`): each request gets a child of it as
   * `req.log` (Express) / `ctx.log` (Koa). With `@tracewire/logger` every line carries the trace.
   * @default undefined
   */
  logger?: RequestLoggerLike;
  /**
   * With `logger`: one access line per request when its response closes — `method`, `route`
   * (template, when known), `path` (no query), `status`, `duration_ms`, `aborted` — at `info`,
   * `error` for 5xx, `warn` for aborted requests. @default false
   */
  accessLog?: boolean;
  /**
   * What to do when another instrumentation already made this request's SERVER span (the official
   * `@opentelemetry/instrumentation-http`, which leaves its RPC metadata in the active context):
   *
   * - `'reuse'`: make no second SERVER span and no second `http.server.request.duration` series;
   *   write the route into that metadata (the official span and duration get `http.route`), add
   *   tracewire's attributes, exceptions and hooks to the official span, and keep every feature that
   *   needs no span of its own (`traceresponse`, `req.log`, problem+json `traceId`, the error model).
   *   tracewire still counts `http.server.active_requests`, which the official one does not emit.
   * - `'own'`: start tracewire's own SERVER span (a child of the official one) and record its own
   *   duration, as when the official instrumentation is absent: two SERVER spans per request.
   *
   * @default 'reuse'
   */
  officialServerSpan?: 'reuse' | 'own';
}

const KNOWN_KEYS = new Set([
  'tracerProvider',
  'meterProvider',
  'propagator',
  'ignore',
  'spanNameFormatter',
  'requestHook',
  'responseHook',
  'captureRequestHeaders',
  'captureResponseHeaders',
  'publicEndpoint',
  'traceResponseHeader',
  'logger',
  'accessLog',
  'officialServerSpan',
]);

/**
 * Validates the shared options at factory time. Unknown keys are allowed (adapters add their own)
 * but every known key must have the documented type.
 *
 * @throws TypeError naming the option and what it expects.
 */
export function validateHttpOptions(options: unknown, owner: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${owner}: options must be an object, got ${describeType(options)}`);
  }
  const o = options as Record<string, unknown>;
  expectObject(o, 'tracerProvider', owner, 'getTracer');
  expectObject(o, 'meterProvider', owner, 'getMeter');
  expectObject(o, 'propagator', owner, 'extract');
  expectFunction(o, 'spanNameFormatter', owner);
  expectFunction(o, 'requestHook', owner);
  expectFunction(o, 'responseHook', owner);
  expectStringArray(o, 'captureRequestHeaders', owner);
  expectStringArray(o, 'captureResponseHeaders', owner);
  if (
    o.publicEndpoint !== undefined &&
    typeof o.publicEndpoint !== 'boolean' &&
    typeof o.publicEndpoint !== 'function'
  ) {
    throw new TypeError(
      `${owner}: options.publicEndpoint must be a boolean or a function, got ${describeType(o.publicEndpoint)}`,
    );
  }
  if (o.traceResponseHeader !== undefined && typeof o.traceResponseHeader !== 'boolean') {
    throw new TypeError(
      `${owner}: options.traceResponseHeader must be a boolean, got ${describeType(o.traceResponseHeader)}`,
    );
  }
  expectObject(o, 'logger', owner, 'child');
  if (o.accessLog !== undefined && typeof o.accessLog !== 'boolean') {
    throw new TypeError(`${owner}: options.accessLog must be a boolean, got ${describeType(o.accessLog)}`);
  }
  if (o.accessLog === true && o.logger === undefined) {
    throw new TypeError(`${owner}: options.accessLog needs options.logger`);
  }
  if (
    o.officialServerSpan !== undefined &&
    o.officialServerSpan !== 'reuse' &&
    o.officialServerSpan !== 'own'
  ) {
    throw new TypeError(
      `${owner}: options.officialServerSpan must be 'reuse' or 'own', got ${
        typeof o.officialServerSpan === 'string'
          ? JSON.stringify(o.officialServerSpan)
          : describeType(o.officialServerSpan)
      }`,
    );
  }
  if (o.ignore !== undefined) {
    const list = Array.isArray(o.ignore) ? o.ignore : [o.ignore];
    for (const m of list) {
      if (typeof m !== 'string' && typeof m !== 'function' && !(m instanceof RegExp)) {
        throw new TypeError(
          `${owner}: options.ignore entries must be strings, RegExps or functions, got ${describeType(m)}`,
        );
      }
    }
  }
}

/** Whether a key belongs to the shared options (for adapters that validate their own extras). */
export function isSharedHttpOption(key: string): boolean {
  return KNOWN_KEYS.has(key);
}

function expectObject(o: Record<string, unknown>, key: string, owner: string, method: string): void {
  const v = o[key];
  if (v === undefined) return;
  if (v === null || typeof v !== 'object' || typeof (v as Record<string, unknown>)[method] !== 'function') {
    throw new TypeError(
      `${owner}: options.${key} must be an object with a ${method}() method, got ${describeType(v)}`,
    );
  }
}

function expectFunction(o: Record<string, unknown>, key: string, owner: string): void {
  const v = o[key];
  if (v !== undefined && typeof v !== 'function') {
    throw new TypeError(`${owner}: options.${key} must be a function, got ${describeType(v)}`);
  }
}

function expectStringArray(o: Record<string, unknown>, key: string, owner: string): void {
  const v = o[key];
  if (v === undefined) return;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new TypeError(`${owner}: options.${key} must be an array of header names, got ${describeType(v)}`);
  }
}

/** A short, safe description of a value's type for error messages. */
export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
