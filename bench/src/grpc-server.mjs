// gRPC benchmark server: `VARIANT` picks the server interceptors in front of the same handler.
import { createRequire } from 'node:module';
import { context, metrics, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { census, setupSdk } from './sdk.mjs';

const variant = process.env.VARIANT ?? 'bare';
if (variant === 'tracewire' || variant.startsWith('floor')) setupSdk('on');
if (variant === 'tracewire-off') setupSdk('off');

const require = createRequire(import.meta.url);
const { serveGrpc, grpc } = require('./grpc-service.cjs');
// TRACEWIRE_GRPC_MODULE: another build of @tracewire/grpc (a path), for before/after instruction
// counts (`src/instructions.mjs`); GRPC_CONVENTIONS: the interceptor's `metricConventions`.
const { otelGrpcServerInterceptor } = await import(process.env.TRACEWIRE_GRPC_MODULE ?? '@tracewire/grpc');
const conventions = process.env.GRPC_CONVENTIONS;

// grpc-js metadata as a propagation carrier (what every gRPC instrumentation has to read).
const metadataGetter = {
  get(carrier, key) {
    const values = carrier.get(key);
    return values.length === 0 ? undefined : values.length === 1 ? String(values[0]) : values.map(String);
  },
  keys(carrier) {
    return Object.keys(carrier.getMap());
  },
};

/**
 * The "SDK floor" for gRPC: the least a correct tracing interceptor does with the SDK. One SERVER
 * span whose parent is extracted from the request metadata, the handler run with that span active
 * (its events arrive at half-close for unary calls, so the context is entered there too), a
 * duration histogram and an in-flight counter. `naive`: the floor of runs 1-7, which neither
 * extracts nor enters the context at half-close, so the handler runs without the span (a child
 * span or log of the handler loses its trace); kept as `floor-naive` for comparison. `full`: the
 * floor with tracewire's telemetry (the same span attributes, and the method on the in-flight
 * counter too), so the difference to tracewire is how it is done, not what is recorded.
 */
function floorInterceptor(naive, full) {
  const tracer = trace.getTracer('floor');
  const meter = metrics.getMeter('floor');
  const duration = meter.createHistogram('rpc.server.call.duration', { unit: 's' });
  const active = meter.createUpDownCounter('rpc.server.active_requests');
  return (methodDescriptor, call) => {
    const start = performance.now();
    const method = methodDescriptor.path.slice(1);
    const activeAttrs = full
      ? { 'rpc.system.name': 'grpc', 'rpc.method': method }
      : { 'rpc.system.name': 'grpc' };
    let span;
    let ctx;
    const listener = {
      onReceiveMetadata(metadata, mdNext) {
        active.add(1, activeAttrs);
        const parent = naive ? context.active() : propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
        span = tracer.startSpan(
          method,
          {
            kind: SpanKind.SERVER,
            attributes: full
              ? {
                  'rpc.system.name': 'grpc',
                  'rpc.method': method,
                  'server.address': '127.0.0.1',
                  'server.port': 50051,
                  'network.peer.address': '127.0.0.1',
                  'network.peer.port': 40000,
                }
              : { 'rpc.system.name': 'grpc', 'rpc.method': method, 'server.address': '127.0.0.1' },
          },
          parent,
        );
        ctx = trace.setSpan(parent, span);
        context.with(ctx, mdNext, undefined, metadata);
      },
    };
    if (!naive) listener.onReceiveHalfClose = (next) => context.with(ctx, next);
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next(listener);
      },
      sendStatus(status, next) {
        if (full) span?.setAttribute('rpc.status_code', status.code === 0 ? 'OK' : 'UNKNOWN');
        span?.setAttribute('rpc.grpc.status_code', status.code);
        span?.end();
        duration.record((performance.now() - start) / 1000, {
          'rpc.system.name': 'grpc',
          'rpc.method': method,
          'rpc.status_code': full ? (status.code === 0 ? 'OK' : 'UNKNOWN') : String(status.code),
        });
        active.add(-1, activeAttrs);
        next(status);
      },
    });
  };
}

const interceptors = [];
if (variant.startsWith('tracewire')) {
  interceptors.push(otelGrpcServerInterceptor(conventions ? { metricConventions: conventions } : undefined));
}
if (variant === 'floor' || variant === 'floor-naive' || variant === 'floor-full')
  interceptors.push(floorInterceptor(variant === 'floor-naive', variant === 'floor-full'));
serveGrpc(interceptors, census);
