import type { OtelGrpcClientOptions, OtelGrpcServerOptions } from '@tracewire/grpc';
import { otelGrpcClientInterceptor, otelGrpcServerInterceptor } from '@tracewire/grpc';

/** The part of Nest's `GrpcOptions['options']` these helpers touch. */
export interface NestGrpcOptionsLike {
  url?: string;
  channelOptions?: object;
}

function withInterceptor<T extends NestGrpcOptionsLike>(options: T, interceptor: unknown): T {
  const channelOptions = { ...(options.channelOptions as Record<string, unknown> | undefined) };
  const existing = channelOptions.interceptors;
  // First in the list: grpc-js runs it closest to the transport, so it sees the others' effects.
  channelOptions.interceptors = [interceptor, ...(Array.isArray(existing) ? existing : [])];
  return { ...options, channelOptions };
}

/**
 * Adds `@tracewire/grpc`'s server interceptor to the options of a Nest `Transport.GRPC`
 * microservice (Nest passes `channelOptions` to `new grpc.Server()`, grpc-js >= 1.10 reads
 * `interceptors` from them): every incoming call gets a SERVER span continued from the request
 * metadata, the RPC server metrics, hidden details for server-error codes and the trace id in the
 * trailers. `OtelModule`'s filter maps exceptions to gRPC statuses and its guard adds the controller
 * and handler to the span.
 *
 * @example
 * app.connectMicroservice({
 *   transport: Transport.GRPC,
 *   options: withOtelGrpcServer({ package: 'orders', protoPath, url: '0.0.0.0:50051' }),
 * });
 */
export function withOtelGrpcServer<T extends NestGrpcOptionsLike>(
  options: T,
  otel?: OtelGrpcServerOptions,
): T {
  return withInterceptor(options, otelGrpcServerInterceptor(otel));
}

/**
 * Adds `@tracewire/grpc`'s client interceptor to the options of a Nest gRPC client
 * (`ClientsModule.register` / `ClientProxyFactory.create` with `Transport.GRPC`): calls made through
 * `ClientGrpc` get CLIENT spans and carry the W3C context in their metadata. `target` defaults to
 * the client's `url`.
 *
 * @example
 * ClientsModule.register([{ name: 'ORDERS', transport: Transport.GRPC,
 *   options: withOtelGrpcClient({ package: 'orders', protoPath, url: 'orders:50051' }) }])
 */
export function withOtelGrpcClient<T extends NestGrpcOptionsLike>(
  options: T,
  otel?: OtelGrpcClientOptions,
): T {
  const target = otel?.target ?? options.url;
  return withInterceptor(
    options,
    otelGrpcClientInterceptor({ ...otel, ...(target !== undefined ? { target } : {}) }),
  );
}
