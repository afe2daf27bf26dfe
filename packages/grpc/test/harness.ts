// Test harness: the fixture proto loaded with @grpc/proto-loader, a real grpc-js server on port 0
// of 127.0.0.1 and real clients, all wired to the real SDK of @tracewire/testing.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { type DiagLogger, DiagLogLevel, diag, trace } from '@opentelemetry/api';
import type { CollectedPoint, Telemetry } from '@tracewire/testing';
import { inject } from 'vitest';
import {
  type OtelGrpcClientOptions,
  type OtelGrpcServerOptions,
  otelGrpcClientInterceptor,
  otelGrpcServerInterceptor,
} from '../src/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The @grpc/grpc-js line of this vitest project (vitest.config.ts): `1.10` or `1.14`. */
    grpcJsLine: string;
  }
}

/** The @grpc/grpc-js line under test: `1.10` or `1.14` (one vitest project each). */
export const GRPC_JS_LINE: string = inject('grpcJsLine');
/** grpc-js 1.10 gives interceptors neither `:authority` (`getHost`) nor `getConnectionInfo`. */
export const HAS_HOST: boolean = GRPC_JS_LINE !== '1.10';

export interface OrderRequest {
  id?: string;
  mode?: string;
  delayMs?: number;
  count?: number;
}
export interface Order {
  id: string;
  traceId: string;
  spanId: string;
}
export interface Summary {
  count: number;
}

export interface OrdersImpl {
  getOrder: grpc.handleUnaryCall<OrderRequest, Order>;
  uploadOrders: grpc.handleClientStreamingCall<OrderRequest, Summary>;
  watchOrders: grpc.handleServerStreamingCall<OrderRequest, Order>;
  chat: grpc.handleBidiStreamingCall<OrderRequest, Order>;
}

/** The generated client, typed with the one overload each test uses. */
export interface OrdersClient extends grpc.Client {
  getOrder(
    request: OrderRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<Order>,
  ): grpc.ClientUnaryCall;
  uploadOrders(
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<Summary>,
  ): grpc.ClientWritableStream<OrderRequest>;
  watchOrders(
    request: OrderRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
  ): grpc.ClientReadableStream<Order>;
  chat(metadata: grpc.Metadata, options: grpc.CallOptions): grpc.ClientDuplexStream<OrderRequest, Order>;
}

type OrdersClientConstructor = new (
  target: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => OrdersClient;

const PROTO = fileURLToPath(new URL('./fixtures/orders.proto', import.meta.url));
const definition = protoLoader.loadSync(PROTO, { keepCase: false, longs: Number, defaults: true });
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  tracewire: { test: { Orders: OrdersClientConstructor & { service: grpc.ServiceDefinition } } };
};
export const Orders = loaded.tracewire.test.Orders;
export const PACKAGE_SERVICE = 'tracewire.test.Orders';
export const GET_ORDER = `${PACKAGE_SERVICE}/GetOrder`;
export const UPLOAD_ORDERS = `${PACKAGE_SERVICE}/UploadOrders`;
export const WATCH_ORDERS = `${PACKAGE_SERVICE}/WatchOrders`;
export const CHAT = `${PACKAGE_SERVICE}/Chat`;

/** The ids of the span active where this is called (what a handler reports back). */
export function activeIds(): { traceId: string; spanId: string } {
  const sc = trace.getActiveSpan()?.spanContext();
  return { traceId: sc?.traceId ?? '', spanId: sc?.spanId ?? '' };
}

export const defaultImpl: OrdersImpl = {
  getOrder(call, callback) {
    callback(null, { id: call.request.id ?? '', ...activeIds() });
  },
  uploadOrders(call, callback) {
    let count = 0;
    call.on('data', () => {
      count++;
    });
    call.on('end', () => callback(null, { count }));
  },
  watchOrders(call) {
    for (let i = 0; i < (call.request.count ?? 0); i++) call.write({ id: String(i), ...activeIds() });
    call.end();
  },
  chat(call) {
    call.on('data', (request: OrderRequest) => call.write({ id: request.id ?? '', ...activeIds() }));
    call.on('end', () => call.end());
  },
};

export interface Harness {
  server: grpc.Server;
  port: number;
  target: string;
  /** A client with the tracewire client interceptor (unless `client: null`). */
  client: OrdersClient;
  /** Another client on the same server; `null` means no interceptor. */
  newClient(options?: OtelGrpcClientOptions | null, channelOptions?: grpc.ClientOptions): OrdersClient;
  /** A generic client (for raw method paths). */
  genericClient(options?: OtelGrpcClientOptions | null): grpc.Client;
  close(): Promise<void>;
}

export interface HarnessSetup {
  /** Server interceptor options (merged over the SDK providers); `null`: no interceptor. */
  server?: OtelGrpcServerOptions | null;
  /** Client interceptor options (merged over the SDK providers and `target`); `null`: no interceptor. */
  client?: OtelGrpcClientOptions | null;
  impl?: Partial<OrdersImpl>;
  /** Extra services registered on the server. */
  services?: { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }[];
  serverOptions?: grpc.ServerOptions;
  /** Interceptors listed after the tracewire one on the server. */
  serverInterceptors?: grpc.ServerInterceptor[];
  /** Interceptors listed after the tracewire one on every client. */
  clientInterceptors?: grpc.Interceptor[];
}

const open = new Set<Harness>();

/** Starts a real server on 127.0.0.1:0 and a client; `closeAll()` tears everything down. */
export async function startOrders(telemetry: Telemetry, setup: HarnessSetup = {}): Promise<Harness> {
  const providers = { tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider };
  const interceptors = [
    ...(setup.server === null ? [] : [otelGrpcServerInterceptor({ ...providers, ...setup.server })]),
    ...(setup.serverInterceptors ?? []),
  ];
  const server = new grpc.Server({ ...setup.serverOptions, interceptors });
  server.addService(Orders.service, { ...defaultImpl, ...setup.impl } as grpc.UntypedServiceImplementation);
  for (const s of setup.services ?? []) server.addService(s.definition, s.implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    );
  });
  const target = `127.0.0.1:${port}`;
  const clients: grpc.Client[] = [];
  const interceptorsFor = (options: OtelGrpcClientOptions | null | undefined): grpc.Interceptor[] => [
    ...(options === null ? [] : [otelGrpcClientInterceptor({ ...providers, target, ...options })]),
    ...(setup.clientInterceptors ?? []),
  ];
  const newClient = (options?: OtelGrpcClientOptions | null, channelOptions?: grpc.ClientOptions) => {
    const client = new Orders(target, grpc.credentials.createInsecure(), {
      ...channelOptions,
      interceptors: interceptorsFor(options),
    });
    clients.push(client);
    return client;
  };
  const genericClient = (options?: OtelGrpcClientOptions | null) => {
    const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
      interceptors: interceptorsFor(options),
    });
    clients.push(client);
    return client;
  };
  const harness: Harness = {
    server,
    port,
    target,
    client: newClient(setup.client),
    newClient,
    genericClient,
    async close() {
      open.delete(harness);
      for (const c of clients) c.close();
      server.forceShutdown();
    },
  };
  open.add(harness);
  return harness;
}

export async function closeAll(): Promise<void> {
  for (const h of [...open]) await h.close();
}

export interface UnaryResult<T> {
  error: grpc.ServiceError | null;
  response: T | undefined;
}

/** A unary call as a promise that never rejects. */
export function getOrder(
  client: OrdersClient,
  request: OrderRequest,
  metadata: grpc.Metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
): Promise<UnaryResult<Order>> {
  return new Promise((resolve) => {
    client.getOrder(request, metadata, options, (error, response) => resolve({ error, response }));
  });
}

/** Reads a server stream to its end (or error). */
export function readAll<T>(
  stream: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>,
): Promise<{
  messages: T[];
  error: grpc.ServiceError | undefined;
}> {
  return new Promise((resolve) => {
    const messages: T[] = [];
    stream.on('data', (m: T) => messages.push(m));
    stream.on('error', (error: grpc.ServiceError) => resolve({ messages, error }));
    stream.on('end', () => resolve({ messages, error: undefined }));
  });
}

/**
 * An error passed to a grpc-js callback as JavaScript code does. TypeScript refuses a `TracedError`
 * there (its `details` is structured data, grpc-js expects a string), which is what
 * `toGrpcServiceError` is for; at run time grpc-js copies `code` and the message.
 */
export function asCallbackError(error: Error): grpc.ServiceError {
  return error as unknown as grpc.ServiceError;
}

/** Bytes passed through unchanged: for generic clients and hand-made service definitions. */
export const passthrough = (value: Buffer): Buffer => value;

/** A unary call on a raw path with a generic client. */
export function rawUnary(
  client: grpc.Client,
  path: string,
  metadata = new grpc.Metadata(),
): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, passthrough, passthrough, Buffer.alloc(0), metadata, {}, (error) =>
      resolve(error),
    );
  });
}

/** Sum of the values of a metric's points (UpDownCounter), optionally filtered. */
export async function sumOf(
  telemetry: Telemetry,
  name: string,
  filter: (p: CollectedPoint) => boolean = () => true,
): Promise<number> {
  const points = await telemetry.points(name);
  return points.filter(filter).reduce((sum, p) => sum + p.value, 0);
}

/** A promise and its resolver, for events that happen inside handlers. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Everything `diag` says at WARN or above, for "no warnings" assertions. */
export const diagMessages: string[] = [];
const logger: DiagLogger = {
  error: (message: string, ...args: unknown[]) => diagMessages.push(`error: ${message} ${args.join(' ')}`),
  warn: (message: string, ...args: unknown[]) => diagMessages.push(`warn: ${message} ${args.join(' ')}`),
  info: () => {},
  debug: () => {},
  verbose: () => {},
};
diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
