// Public API of @tracewire/core. An explicit list: nothing under ./internal is exported.

export type { RecordableException } from './instrumentation-scope.js';
export {
  callHook,
  isPublicRequest,
  LazyInstruments,
  LazyTracer,
  toRecordableException,
} from './instrumentation-scope.js';
export { hasContextManager } from './internal/bind-emitter.js';
export { RateLimitedDiag } from './internal/diag.js';
export type { HttpServerInstruments } from './metrics/http-server-metrics.js';
export { HttpServerMetrics } from './metrics/http-server-metrics.js';
export type {
  HttpInstrumentationOptions,
  IgnoreMatcher,
  RequestLoggerLike,
  RequestLogLike,
  SpanNameInfo,
} from './options.js';
export { describeType, isSharedHttpOption, validateHttpOptions } from './options.js';
export type {
  ExtractContextOptions,
  HttpHeadersLike,
  InjectContextOptions,
  TraceStateParseMode,
  W3CPropagatorOptions,
} from './propagation/index.js';
export {
  BAGGAGE_HEADER,
  BAGGAGE_MAX_BYTES,
  BAGGAGE_MAX_MEMBERS,
  BAGGAGE_MAX_PAIR_BYTES,
  extractContext,
  hasRandomTraceFlag,
  httpHeaderGetter,
  httpHeaderSetter,
  injectContext,
  resolvePropagator,
  TRACEPARENT_HEADER,
  TRACERESPONSE_HEADER,
  TRACESTATE_HEADER,
  TRACESTATE_MAX_KEY_LENGTH,
  TRACESTATE_MAX_MEMBERS,
  TRACESTATE_MAX_SCAN_BYTES,
  TRACESTATE_MAX_VALUE_LENGTH,
  traceResponseHeaderValue,
  w3cPropagator,
} from './propagation/index.js';
export { isSupportedNodeVersion, MIN_NODE_VERSION } from './runtime-version.js';
export {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
  ERROR_TYPE_ABORTED,
  ERROR_TYPE_OTHER,
  HTTP_DURATION_BUCKETS,
  METRIC_HTTP_SERVER_ACTIVE_REQUESTS,
  METRIC_HTTP_SERVER_REQUEST_DURATION,
} from './semconv.js';
export type { HttpServerAdapter, ResponseHeaderSink, ServerRequest } from './server/http-server.js';
export { getServerRequest, HttpServerInstrumentation } from './server/http-server.js';
export { METHOD_OTHER, normalizeMethod } from './server/method.js';
export type { HttpRpcMetadata } from './server/official.js';
export { getHttpRpcMetadata, RPC_METADATA_KEY } from './server/official.js';
export type { InstrumentationRuntimeFindings } from './server/runtime-findings.js';
export {
  getInstrumentationRuntimeFindings,
  noteClientSpan,
  noteDoubleClientPropagation,
  noteNestedServerSpan,
  noteSharedServerSpan,
  resetInstrumentationRuntimeFindings,
  spanKindOf,
} from './server/runtime-findings.js';
export { DEFAULT_REDACTED_QUERY_KEYS, parseHost, redactQuery, splitTarget } from './server/url.js';
