// Instrument and attribute names of the channel metrics (`instrumentGrpcChannel`).
//
// The `grpc.subchannel.*` names, units and labels are those of gRFC A94 ("OTel metrics for
// Subchannels"); `grpc.target` is defined in gRFC A66. The `tracewire.grpc.channel.*` names are
// ours: neither gRPC nor the OpenTelemetry semantic conventions define these measures.

/** `grpc.target`: the channel's canonical target URI (gRFC A66), e.g. `dns:///orders:50051`. */
export const ATTR_GRPC_TARGET = 'grpc.target';
/** `grpc.disconnect_error`: why a connection ended (gRFC A94's list of values). */
export const ATTR_GRPC_DISCONNECT_ERROR = 'grpc.disconnect_error';

/** The `grpc.target` of every channel past the target cap. */
export const TARGET_OTHER = '_OTHER';
/** At most this many distinct `grpc.target` values per meter provider; later ones are `_OTHER`. */
export const MAX_CHANNEL_TARGETS = 100;
/** Cap of a `grpc.target` value. */
export const MAX_TARGET_LENGTH = 256;

export const METRIC_SUBCHANNEL_OPEN_CONNECTIONS = 'grpc.subchannel.open_connections';
export const METRIC_SUBCHANNEL_ATTEMPTS_SUCCEEDED = 'grpc.subchannel.connection_attempts_succeeded';
export const METRIC_SUBCHANNEL_ATTEMPTS_FAILED = 'grpc.subchannel.connection_attempts_failed';
export const METRIC_SUBCHANNEL_DISCONNECTIONS = 'grpc.subchannel.disconnections';

/** Calls started on the channel and not finished (channelz call counters). */
export const METRIC_CHANNEL_ACTIVE_CALLS = 'tracewire.grpc.channel.calls.active';
/** HTTP/2 streams created beyond the peer's SETTINGS_MAX_CONCURRENT_STREAMS, not yet given a slot. */
export const METRIC_CHANNEL_WAITING_CALLS = 'tracewire.grpc.channel.calls.waiting_for_stream';
/** How long each HTTP/2 stream waited for a slot under the peer's concurrency limit. */
export const METRIC_CHANNEL_STREAM_WAIT = 'tracewire.grpc.channel.stream.wait_duration';

/** Bucket boundaries (seconds) of the stream wait histogram: most waits are 0. */
export const STREAM_WAIT_BUCKETS: readonly number[] = Object.freeze([
  0, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** `grpc.disconnect_error` values (gRFC A94). */
export const DISCONNECT_SHUTDOWN = 'subchannel shutdown';
export const DISCONNECT_UNKNOWN = 'unknown';

/** HTTP/2 error code names (RFC 9113 section 7), for `GOAWAY <name>`. */
const HTTP2_ERROR_NAMES: readonly string[] = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

/**
 * The canonical form of a channel's target (gRFC A66: `dns:///pubsub.googleapis.com:443`). grpc-js
 * reports a target written without a scheme as `dns:host:port`; that becomes `dns:///host:port`,
 * the form the interceptors' `grpc.target` uses too. Anything else is kept as grpc-js reports it.
 */
export function canonicalTarget(target: string): string {
  return target.startsWith('dns:') && !target.startsWith('dns://') ? `dns:///${target.slice(4)}` : target;
}

/** `GOAWAY <ERROR_CODE>` for a known HTTP/2 error code, else `unknown` (bounded values only). */
export function goawayReason(code: unknown): string {
  const name = typeof code === 'number' ? HTTP2_ERROR_NAMES[code] : undefined;
  return name === undefined ? DISCONNECT_UNKNOWN : `GOAWAY ${name}`;
}
