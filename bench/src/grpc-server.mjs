// gRPC benchmark server: `VARIANT` picks the server interceptors in front of the same handler.
import { createRequire } from 'node:module';
import { context, metrics, SpanKind, trace } from '@opentelemetry/api';
import { census, setupSdk } from './sdk.mjs';

const variant = process.env.VARIANT ?? 'bare';
if (variant === 'tracewire' || variant === 'floor') setupSdk('on');
if (variant === 'tracewire-off') setupSdk('off');

const require = createRequire(import.meta.url);
const { serveGrpc, grpc } = require('./grpc-service.cjs');
// TRACEWIRE_GRPC_MODULE: another build of @tracewire/grpc (a path), for before/after instruction
// counts (`src/instructions.mjs`); GRPC_CONVENTIONS: the interceptor's `metricConventions`.
const { otelGrpcServerInterceptor } = await import(process.env.TRACEWIRE_GRPC_MODULE ?? '@tracewire/grpc');
const conventions = process.env.GRPC_CONVENTIONS;

/** The "SDK floor" for gRPC: one SERVER span, a duration histogram and an in-flight counter. */
function floorInterceptor() {
  const tracer = trace.getTracer('floor');
  const meter = metrics.getMeter('floor');
  const duration = meter.createHistogram('rpc.server.call.duration', { unit: 's' });
  const active = meter.createUpDownCounter('rpc.server.active_requests');
  return (methodDescriptor, call) => {
    const start = performance.now();
    const method = methodDescriptor.path.slice(1);
    const activeAttrs = { 'rpc.system.name': 'grpc' };
    let span;
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, mdNext) {
            active.add(1, activeAttrs);
            span = tracer.startSpan(method, {
              kind: SpanKind.SERVER,
              attributes: { 'rpc.system.name': 'grpc', 'rpc.method': method, 'server.address': '127.0.0.1' },
            });
            context.with(trace.setSpan(context.active(), span), () => mdNext(metadata));
          },
        });
      },
      sendStatus(status, next) {
        span?.setAttribute('rpc.grpc.status_code', status.code);
        span?.end();
        duration.record((performance.now() - start) / 1000, {
          'rpc.system.name': 'grpc',
          'rpc.method': method,
          'rpc.status_code': String(status.code),
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
if (variant === 'floor') interceptors.push(floorInterceptor());
serveGrpc(interceptors, census);
