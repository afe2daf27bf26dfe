// Public API of @tracewire/grpc. An explicit list: nothing under ./internal is exported.

export type { GrpcChannelMetrics, OtelGrpcChannelOptions } from './channel-metrics.js';
export { instrumentGrpcChannel } from './channel-metrics.js';
export {
  ATTR_GRPC_DISCONNECT_ERROR,
  MAX_CHANNEL_TARGETS,
  METRIC_CHANNEL_ACTIVE_CALLS,
  METRIC_CHANNEL_STREAM_WAIT,
  METRIC_CHANNEL_WAITING_CALLS,
  METRIC_SUBCHANNEL_ATTEMPTS_FAILED,
  METRIC_SUBCHANNEL_ATTEMPTS_SUCCEEDED,
  METRIC_SUBCHANNEL_DISCONNECTIONS,
  METRIC_SUBCHANNEL_OPEN_CONNECTIONS,
  STREAM_WAIT_BUCKETS,
  TARGET_OTHER,
} from './channel-names.js';
export { otelGrpcClientInterceptor } from './client-interceptor.js';
export type { MetadataLike } from './metadata-carrier.js';
export { grpcMetadataGetter, grpcMetadataSetter } from './metadata-carrier.js';
export type {
  GrpcCallInfo,
  GrpcCallKind,
  GrpcCaptureMetadata,
  GrpcInstrumentationOptions,
  GrpcMethodMatcher,
  GrpcMetricConventions,
  GrpcRequestInfo,
  GrpcResponseInfo,
  OtelGrpcClientOptions,
  OtelGrpcServerOptions,
} from './options.js';
export { DEFAULT_IGNORE } from './options.js';
export {
  ATTR_GRPC_METHOD,
  ATTR_GRPC_STATUS,
  ATTR_GRPC_TARGET,
  ATTR_RPC_GRPC_STATUS_CODE,
  ATTR_RPC_METHOD,
  ATTR_RPC_METHOD_ORIGINAL,
  ATTR_RPC_REQUEST_METADATA_PREFIX,
  ATTR_RPC_RESPONSE_METADATA_PREFIX,
  ATTR_RPC_STATUS_CODE,
  ATTR_RPC_SYSTEM_NAME,
  GRPC_LATENCY_BUCKETS,
  GRPC_METHOD_OTHER,
  GRPC_SIZE_BUCKETS,
  METRIC_GRPC_CLIENT_ATTEMPT_DURATION,
  METRIC_GRPC_CLIENT_ATTEMPT_RCVD_SIZE,
  METRIC_GRPC_CLIENT_ATTEMPT_SENT_SIZE,
  METRIC_GRPC_CLIENT_ATTEMPT_STARTED,
  METRIC_GRPC_CLIENT_CALL_DURATION,
  METRIC_GRPC_SERVER_CALL_DURATION,
  METRIC_GRPC_SERVER_CALL_RCVD_SIZE,
  METRIC_GRPC_SERVER_CALL_SENT_SIZE,
  METRIC_GRPC_SERVER_CALL_STARTED,
  METRIC_RPC_CLIENT_ACTIVE_REQUESTS,
  METRIC_RPC_CLIENT_CALL_DURATION,
  METRIC_RPC_SERVER_ACTIVE_REQUESTS,
  METRIC_RPC_SERVER_CALL_DURATION,
  RPC_DURATION_BUCKETS,
  RPC_METHOD_OTHER,
  RPC_SYSTEM_GRPC,
} from './semconv.js';
export { otelGrpcServerInterceptor } from './server-interceptor.js';
export { toGrpcServiceError } from './service-error.js';
