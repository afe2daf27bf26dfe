import type { ChannelInterface, Client } from '@grpc/grpc-js';
import type { MeterProvider } from '@opentelemetry/api';
import { describeType } from '@tracewire/core';
import { ATTR_GRPC_TARGET, canonicalTarget } from './channel-names.js';
import { ChannelRecord, channelDiag, hubFor } from './internal/channel-hub.js';
import { SCOPE_NAME } from './version.js';

/** Options of {@link instrumentGrpcChannel}. */
export interface OtelGrpcChannelOptions {
  /** Where the metrics go. Default: the global meter provider, resolved on each event. */
  meterProvider?: MeterProvider;
}

/** What {@link instrumentGrpcChannel} returns. */
export interface GrpcChannelMetrics {
  /** The `grpc.target` the channel is reported under (the channel's target, or `_OTHER` past the cap). */
  readonly target: string;
  /**
   * Stops measuring the channel before it is closed: the open connection and the waiting calls it
   * reported are taken back. Not needed when the client or channel is closed: that is seen.
   */
  close(): void;
}

interface ChannelShape {
  getTarget(): string;
  getConnectivityState(tryToConnect: boolean): number;
  watchConnectivityState(state: number, deadline: Date | number, callback: (error?: Error) => void): void;
  getChannelzRef(): { id: number };
}

const instrumented = new WeakMap<object, GrpcChannelMetrics>();

function isChannel(value: unknown): value is ChannelShape {
  const c = value as Partial<Record<keyof ChannelShape, unknown>> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.getTarget === 'function' &&
    typeof c.getConnectivityState === 'function' &&
    typeof c.watchConnectivityState === 'function' &&
    typeof c.getChannelzRef === 'function'
  );
}

/**
 * Connection and capacity metrics of one grpc-js client channel, per `grpc.target`: the
 * `grpc.subchannel.*` instruments of gRFC A94 (open connections, connection attempts succeeded
 * and failed, disconnections), the calls active on the channel, the calls waiting for an HTTP/2
 * stream slot beyond the server's SETTINGS_MAX_CONCURRENT_STREAMS and how long they waited.
 *
 * Call it once per client (or channel), after creating it. Calling it again for the same channel
 * returns the first handle. It reads only public surfaces: the channel's connectivity state,
 * channelz (on by default), and Node's `http2.client.stream.created` diagnostics channel. It never
 * throws into a call; failures are reported through `diag`.
 *
 * @example
 * import * as grpc from '@grpc/grpc-js';
 * import { instrumentGrpcChannel, otelGrpcClientInterceptor } from '@tracewire/grpc';
 * const client = new OrdersClient(target, grpc.credentials.createInsecure(), {
 *   interceptors: [otelGrpcClientInterceptor({ target })],
 * });
 * instrumentGrpcChannel(client);
 */
export function instrumentGrpcChannel(
  clientOrChannel: Client | ChannelInterface,
  options?: OtelGrpcChannelOptions,
): GrpcChannelMetrics {
  const owner = `${SCOPE_NAME} instrumentGrpcChannel`;
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw new TypeError(`${owner}: options must be an object, got ${describeType(options)}`);
  }
  const provider = options?.meterProvider;
  if (provider !== undefined && (provider === null || typeof provider.getMeter !== 'function')) {
    throw new TypeError(
      `${owner}: options.meterProvider must be a MeterProvider, got ${describeType(provider)}`,
    );
  }
  const candidate = clientOrChannel as { getChannel?: unknown } | null;
  const channel: unknown =
    typeof candidate === 'object' && candidate !== null && typeof candidate.getChannel === 'function'
      ? (candidate as Client).getChannel()
      : clientOrChannel;
  if (!isChannel(channel)) {
    throw new TypeError(
      `${owner}: expected a @grpc/grpc-js Client or Channel, got ${describeType(clientOrChannel)}`,
    );
  }
  const existing = instrumented.get(channel);
  if (existing !== undefined) return existing;

  let record: ChannelRecord | undefined;
  try {
    record = new ChannelRecord(channel as unknown as ChannelInterface, hubFor(provider));
  } catch (error) {
    channelDiag.error(
      'channel-instrument',
      'could not instrument a gRPC channel; it works without metrics',
      error,
    );
  }
  const target =
    record === undefined
      ? canonicalTarget(String(channel.getTarget()))
      : String(record.target.attributes[ATTR_GRPC_TARGET]);
  const handle: GrpcChannelMetrics = Object.freeze({
    target,
    close(): void {
      if (instrumented.get(channel) === handle) instrumented.delete(channel);
      try {
        record?.close();
      } catch (error) {
        channelDiag.error('channel-instrument', 'could not stop measuring a gRPC channel', error);
      }
    },
  });
  instrumented.set(channel, handle);
  return handle;
}
