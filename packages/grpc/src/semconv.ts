// RPC semantic-convention names used by @tracewire/grpc, copied as literals so that the package
// does not depend on `@opentelemetry/semantic-conventions` (the RPC names are not stable there).
// Source: open-telemetry/semantic-conventions docs/rpc/rpc-spans.md, docs/rpc/rpc-metrics.md,
// docs/rpc/grpc.md and docs/registry/attributes/rpc.md (Release Candidate, 2026).

/** `rpc.system.name` (replaces the deprecated `rpc.system`). Always `grpc` here. */
export const ATTR_RPC_SYSTEM_NAME = 'rpc.system.name';
/** `rpc.method`: the fully-qualified method, `package.Service/Method`, or `_OTHER`. */
export const ATTR_RPC_METHOD = 'rpc.method';
/** `rpc.method_original`: the method as called, set only when `rpc.method` is `_OTHER`. */
export const ATTR_RPC_METHOD_ORIGINAL = 'rpc.method_original';
/** `rpc.status_code`: the gRPC status code name, e.g. `OK`, `DEADLINE_EXCEEDED`. */
export const ATTR_RPC_STATUS_CODE = 'rpc.status_code';
/**
 * `rpc.grpc.status_code`: the numeric gRPC status code. Deprecated by semconv in favour of
 * `rpc.status_code`; still set on spans (never on metrics) because dashboards, Go's otelgrpc and
 * older OpenTelemetry JS instrumentation query it.
 */
export const ATTR_RPC_GRPC_STATUS_CODE = 'rpc.grpc.status_code';
/** Prefix of captured request metadata attributes: `rpc.request.metadata.<key>`. */
export const ATTR_RPC_REQUEST_METADATA_PREFIX = 'rpc.request.metadata.';
/** Prefix of captured response metadata attributes: `rpc.response.metadata.<key>`. */
export const ATTR_RPC_RESPONSE_METADATA_PREFIX = 'rpc.response.metadata.';

/** The value of `rpc.system.name` for gRPC. */
export const RPC_SYSTEM_GRPC = 'grpc';
/** `rpc.method` for methods that are not recognized (semconv). */
export const RPC_METHOD_OTHER = '_OTHER';

export const METRIC_RPC_SERVER_CALL_DURATION = 'rpc.server.call.duration';
export const METRIC_RPC_CLIENT_CALL_DURATION = 'rpc.client.call.duration';
/**
 * Calls in flight on the server. Semconv defines no in-flight RPC instrument; the name follows
 * `http.server.active_requests`.
 */
export const METRIC_RPC_SERVER_ACTIVE_REQUESTS = 'rpc.server.active_requests';
/** Calls in flight on the client (same remark as {@link METRIC_RPC_SERVER_ACTIVE_REQUESTS}). */
export const METRIC_RPC_CLIENT_ACTIVE_REQUESTS = 'rpc.client.active_requests';

/** Bucket boundaries (seconds) advised by semconv for `rpc.{server,client}.call.duration`. */
export const RPC_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);
