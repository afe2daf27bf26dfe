import type { Metadata } from '@grpc/grpc-js';
import type { MeterProvider, Span, TextMapPropagator, TracerProvider } from '@opentelemetry/api';
import { describeType, validateHttpOptions } from '@tracewire/core';

/** The four gRPC call kinds. */
export type GrpcCallKind = 'unary' | 'client_stream' | 'server_stream' | 'bidi';

/** What hooks and predicates are told about a call. */
export interface GrpcCallInfo {
  /** The wire path, e.g. `/shop.Orders/GetOrder`. */
  path: string;
  /** `rpc.method`: `shop.Orders/GetOrder`, or `_OTHER` for a path that is not a method name. */
  method: string;
  kind: GrpcCallKind;
}

/** What the request hooks and `publicEndpoint` see. */
export interface GrpcRequestInfo extends GrpcCallInfo {
  /**
   * Server: the incoming metadata. Client: the copy of the caller's metadata that is sent (with the
   * trace context already injected); the caller's own object is never changed.
   */
  metadata: Metadata;
}

/** What the response hooks see. */
export interface GrpcResponseInfo extends GrpcCallInfo {
  /** The final gRPC status code (the one recorded as `rpc.status_code`). */
  code: number;
}

/**
 * A method to ignore: `'package.Service/Method'`, `'package.Service/*'` (every method of a
 * service), `'*'`, a RegExp tested on `package.Service/Method`, or a predicate given that string
 * (a leading `/` in string patterns is ignored).
 */
export type GrpcMethodMatcher = string | RegExp | ((method: string) => boolean);

/** Metadata keys to record as span attributes. */
export interface GrpcCaptureMetadata {
  /** Request metadata keys, recorded as `rpc.request.metadata.<key>`. @default [] */
  request?: readonly string[];
  /** Response metadata keys (initial and trailing), recorded as `rpc.response.metadata.<key>`. @default [] */
  response?: readonly string[];
}

/** Options both interceptors share. Every field is optional. */
export interface GrpcInstrumentationOptions {
  /** Where spans go. @default the global tracer provider, resolved per call (so an SDK registered later is used) */
  tracerProvider?: TracerProvider;
  /** Where metrics go. @default the global meter provider, resolved per call */
  meterProvider?: MeterProvider;
  /** How context travels in metadata. @default the global propagator if one is registered, else tracewire's W3C Trace Context + Baggage propagator */
  propagator?: TextMapPropagator;
  /**
   * Methods that get no span and no metrics. Giving this option replaces the default; include
   * `'grpc.health.v1.Health/*'` to keep ignoring health checks. @default ['grpc.health.v1.Health/*']
   */
  ignore?: GrpcMethodMatcher | readonly GrpcMethodMatcher[];
  /**
   * Metadata keys captured as span attributes (an allow-list: metadata often carries credentials).
   * At most 16 values per key, each cut to 1024 characters; binary (`-bin`) values are never
   * captured. @default {} (nothing)
   */
  captureMetadata?: GrpcCaptureMetadata;
  /**
   * Which metric names to record. `'otel'`: the OpenTelemetry RPC semantic conventions
   * (`rpc.server.call.duration`, `rpc.server.active_requests`, ...). `'grpc'`: gRPC's own names,
   * gRFC A66 (`grpc.server.call.duration`, `grpc.client.attempt.started`, message sizes, ...), with
   * the attributes `grpc.method`, `grpc.status` and, on the client, `grpc.target`. `'both'`: every
   * instrument of both, each recorded once per call. Spans are the same in every mode.
   * @default 'otel'
   */
  metricConventions?: GrpcMetricConventions;
}

/** The metric naming schemes: OpenTelemetry RPC semconv, gRPC's gRFC A66, or both. */
export type GrpcMetricConventions = 'otel' | 'grpc' | 'both';

/** Options of `otelGrpcServerInterceptor`. */
export interface OtelGrpcServerOptions extends GrpcInstrumentationOptions {
  /** Called with the SERVER span once it started. A throw is contained and reported (rate-limited). */
  requestHook?: (span: Span, request: GrpcRequestInfo) => void;
  /** Called with the SERVER span just before it ends. A throw is contained and reported. */
  responseHook?: (span: Span, response: GrpcResponseInfo) => void;
  /**
   * The server is reachable by untrusted callers: incoming trace context is not continued but
   * linked, and incoming baggage is dropped (W3C Trace Context, security considerations). A
   * throwing predicate counts as public. @default false
   */
  publicEndpoint?: boolean | ((request: GrpcRequestInfo) => boolean);
  /**
   * Replace the `details` of server-error statuses (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED,
   * INTERNAL, UNAVAILABLE, DATA_LOSS) with the code name before they reach the client, so an
   * `Error`'s message (`callback(new Error('db at 10.0.0.5 ...'))`) does not leave the service.
   * `true`, `false`, or a predicate on the request, asked only when such a status is sent; a
   * throwing predicate redacts. Codes, client-error details and trailers are never changed, and
   * the span keeps the real details. @default `true` for calls `publicEndpoint` marks public,
   * else `false`
   */
  redactErrorDetails?: boolean | ((request: GrpcRequestInfo) => boolean);
  /**
   * What to do when `@opentelemetry/instrumentation-grpc` is loaded (it patches grpc-js's
   * `Server.prototype.register` and makes a SERVER span around every handler). `'reuse'`: make no
   * SERVER span of its own, so each call has one; the handler runs in the official span, an error
   * status still carries its trace id in `trace-id`, and the RPC metrics (which the official
   * instrumentation does not record) are kept. `'own'`: make tracewire's span as well (two
   * SERVER spans per call). @default 'reuse'
   */
  officialServerSpan?: 'reuse' | 'own';
}

/** Options of `otelGrpcClientInterceptor`. */
export interface OtelGrpcClientOptions extends GrpcInstrumentationOptions {
  /**
   * The channel target given to the client constructor (`'orders:50051'`,
   * `'dns:///orders.internal:443'`, `'unix:///run/orders.sock'`). It becomes `server.address` /
   * `server.port` on spans and metrics (interceptors cannot see the channel). @default none
   */
  target?: string;
  /**
   * Send the context's W3C baggage to this server. Baggage often holds data from an upstream
   * caller, so it is only sent to servers you trust. @default false
   */
  propagateBaggage?: boolean;
  /** Called with the CLIENT span once it started. A throw is contained and reported. */
  requestHook?: (span: Span, request: GrpcRequestInfo) => void;
  /** Called with the CLIENT span just before it ends. A throw is contained and reported. */
  responseHook?: (span: Span, response: GrpcResponseInfo) => void;
  /**
   * What to do when the call starts inside another instrumentation's CLIENT span (the patched
   * client methods of `@opentelemetry/instrumentation-grpc` start one and call grpc-js inside it).
   * `'reuse'`: make no CLIENT span of its own and send that span's context, so each call has one
   * CLIENT span; the RPC client metrics are kept. `'own'`: make tracewire's span as a child of
   * it. @default 'reuse'
   */
  officialClientSpan?: 'reuse' | 'own';
}

/** Health checks are polled constantly and say nothing about the service: ignored by default. */
export const DEFAULT_IGNORE: readonly string[] = Object.freeze(['grpc.health.v1.Health/*']);

/**
 * Validates interceptor options at factory time.
 *
 * @throws TypeError naming the option and what it expects.
 */
export function validateGrpcOptions(options: unknown, owner: string, side: 'server' | 'client'): void {
  // The shared keys (providers, propagator, hooks, publicEndpoint, ignore) have the same shape as
  // the HTTP adapters' and the same messages.
  validateHttpOptions(options, owner);
  if (options === undefined) return;
  const o = options as Record<string, unknown>;
  const capture = o.captureMetadata;
  if (capture !== undefined) {
    if (capture === null || typeof capture !== 'object' || Array.isArray(capture)) {
      throw new TypeError(
        `${owner}: options.captureMetadata must be an object { request?, response? }, got ${describeType(capture)}`,
      );
    }
    for (const key of ['request', 'response'] as const) {
      const v = (capture as Record<string, unknown>)[key];
      if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) {
        throw new TypeError(
          `${owner}: options.captureMetadata.${key} must be an array of metadata keys, got ${describeType(v)}`,
        );
      }
    }
  }
  const conventions = o.metricConventions;
  if (
    conventions !== undefined &&
    conventions !== 'otel' &&
    conventions !== 'grpc' &&
    conventions !== 'both'
  ) {
    throw new TypeError(
      `${owner}: options.metricConventions must be 'otel', 'grpc' or 'both', got ${typeof conventions === 'string' ? JSON.stringify(conventions.slice(0, 32)) : describeType(conventions)}`,
    );
  }
  const redact = o.redactErrorDetails;
  if (redact !== undefined) {
    if (side === 'client') {
      throw new TypeError(`${owner}: options.redactErrorDetails applies to the server interceptor only`);
    }
    if (typeof redact !== 'boolean' && typeof redact !== 'function') {
      throw new TypeError(
        `${owner}: options.redactErrorDetails must be a boolean or a function, got ${describeType(redact)}`,
      );
    }
  }
  const officialKey = side === 'client' ? 'officialClientSpan' : 'officialServerSpan';
  const official = o[officialKey];
  if (official !== undefined && official !== 'reuse' && official !== 'own') {
    throw new TypeError(
      `${owner}: options.${officialKey} must be 'reuse' or 'own', got ${typeof official === 'string' ? JSON.stringify(official.slice(0, 32)) : describeType(official)}`,
    );
  }
  if (side === 'server' && o.officialClientSpan !== undefined) {
    throw new TypeError(`${owner}: options.officialClientSpan applies to the client interceptor only`);
  }
  if (side === 'client') {
    if (o.officialServerSpan !== undefined) {
      throw new TypeError(`${owner}: options.officialServerSpan applies to the server interceptor only`);
    }
    if (o.target !== undefined && typeof o.target !== 'string') {
      throw new TypeError(`${owner}: options.target must be a string, got ${describeType(o.target)}`);
    }
    if (o.propagateBaggage !== undefined && typeof o.propagateBaggage !== 'boolean') {
      throw new TypeError(
        `${owner}: options.propagateBaggage must be a boolean, got ${describeType(o.propagateBaggage)}`,
      );
    }
    if (o.publicEndpoint !== undefined) {
      throw new TypeError(`${owner}: options.publicEndpoint applies to the server interceptor only`);
    }
  }
}
