import type { OtelGrpcClientOptions, OtelGrpcServerOptions } from '@tracewire/grpc';
import { otelGrpcClientInterceptor, otelGrpcServerInterceptor } from '@tracewire/grpc';
import { nestRpcHandlerAttributes } from './internal/handler-names.js';

/**
 * The part of Nest's `GrpcOptions['options']` these helpers read. `package` is required (as in
 * Nest): an interface of optional members only would reject options without `url` (Nest's default
 * address) as having nothing in common with it.
 */
export interface NestGrpcOptionsLike {
  package: string | string[];
  url?: string;
  channelOptions?: object;
}

/**
 * Adds `interceptor` to `channelOptions.interceptors` at the end closest to the transport, in a
 * copy (neither `options` nor its `channelOptions` is changed). grpc-js composes the two lists in
 * opposite orders: a server wraps its base call with `interceptors[0]` first, so the first server
 * interceptor is the closest to the transport; a client calls `interceptors[0]` first (outermost),
 * so the last client interceptor is the closest. Closest to the transport, the server span covers
 * every other interceptor and sees the metadata as received; the client span is the call on the
 * wire, and the context is injected into the metadata as the other interceptors left it (one that
 * rebuilds the metadata cannot drop it).
 */
function withInterceptor<T extends NestGrpcOptionsLike>(
  options: T,
  interceptor: unknown,
  position: 'first' | 'last',
): T {
  const channelOptions = { ...(options.channelOptions as Record<string, unknown> | undefined) };
  const existing = channelOptions.interceptors;
  const others: unknown[] = Array.isArray(existing) ? existing : [];
  channelOptions.interceptors = position === 'first' ? [interceptor, ...others] : [...others, interceptor];
  return { ...options, channelOptions };
}

/**
 * Adds `@tracewire/grpc`'s server interceptor to the options of a Nest `Transport.GRPC`
 * microservice (Nest passes `channelOptions` to `new grpc.Server()`, grpc-js >= 1.10 reads
 * `interceptors` from them): every incoming call gets a SERVER span continued from the request
 * metadata, the RPC server metrics and the trace id in the trailers; statuses and details reach the
 * client as the handler sent them (`redactErrorDetails`, on by default only for `publicEndpoint`
 * calls, replaces server-error details with the code name). With `problemDetails: true`,
 * `OtelModule`'s filter maps exceptions to gRPC statuses; the controller and handler of the
 * method (from its `@GrpcMethod` metadata) are added to the span.
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
  const userHook = otel?.requestHook;
  const requestHook: OtelGrpcServerOptions['requestHook'] = (span, request) => {
    const names = nestRpcHandlerAttributes(request.method);
    if (names !== undefined) span.setAttributes(names);
    // The interceptor contains a throw of either hook.
    userHook?.(span, request);
  };
  return withInterceptor(options, otelGrpcServerInterceptor({ ...otel, requestHook }), 'first');
}

/**
 * Adds `@tracewire/grpc`'s client interceptor to the options of a Nest gRPC client
 * (`ClientsModule.register` / `ClientProxyFactory.create` with `Transport.GRPC`): calls made through
 * `ClientGrpc` get CLIENT spans and carry the W3C context in a copy of their metadata (the
 * caller's `Metadata` is not changed). `target` defaults to the client's `url`. The interceptor is
 * added after any already in `channelOptions.interceptors` (closest to the transport). Note that
 * grpc-js ignores the client's interceptors for a call given its own `interceptors` call option.
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
    'last',
  );
}
