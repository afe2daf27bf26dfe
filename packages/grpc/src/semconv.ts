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

// gRPC's own metric names: gRFC A66 "OpenTelemetry Metrics" (grpc/proposal A66-otel-stats.md),
// selected with `metricConventions: 'grpc' | 'both'`.

/** `grpc.method`: the full method name, `package.Service/Method`, or `other` (A66). */
export const ATTR_GRPC_METHOD = 'grpc.method';
/** `grpc.status`: the status code name, e.g. `OK`, `DEADLINE_EXCEEDED` (A66). */
export const ATTR_GRPC_STATUS = 'grpc.status';
/** `grpc.target`: the canonical channel target, e.g. `dns:///orders.internal:443` (A66, client only). */
export const ATTR_GRPC_TARGET = 'grpc.target';
/** `grpc.method` of a method that is not registered (A66). */
export const GRPC_METHOD_OTHER = 'other';

export const METRIC_GRPC_CLIENT_ATTEMPT_STARTED = 'grpc.client.attempt.started';
export const METRIC_GRPC_CLIENT_ATTEMPT_DURATION = 'grpc.client.attempt.duration';
export const METRIC_GRPC_CLIENT_ATTEMPT_SENT_SIZE = 'grpc.client.attempt.sent_total_compressed_message_size';
export const METRIC_GRPC_CLIENT_ATTEMPT_RCVD_SIZE = 'grpc.client.attempt.rcvd_total_compressed_message_size';
export const METRIC_GRPC_CLIENT_CALL_DURATION = 'grpc.client.call.duration';
export const METRIC_GRPC_SERVER_CALL_STARTED = 'grpc.server.call.started';
export const METRIC_GRPC_SERVER_CALL_DURATION = 'grpc.server.call.duration';
export const METRIC_GRPC_SERVER_CALL_SENT_SIZE = 'grpc.server.call.sent_total_compressed_message_size';
export const METRIC_GRPC_SERVER_CALL_RCVD_SIZE = 'grpc.server.call.rcvd_total_compressed_message_size';

/** A66 latency buckets (seconds) of the `grpc.*.duration` histograms. */
export const GRPC_LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01,
  0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65,
  0.8, 1, 2, 5, 10, 20, 50, 100,
]);
/** A66 size buckets (bytes) of the `grpc.*_total_compressed_message_size` histograms. */
export const GRPC_SIZE_BUCKETS: readonly number[] = Object.freeze([
  0, 1024, 2048, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456, 1073741824,
  4294967296,
]);
