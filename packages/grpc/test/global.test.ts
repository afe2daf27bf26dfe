// Providers resolved per call: interceptors created before the SDK is registered still report.
import * as grpc from '@grpc/grpc-js';
import { metrics, SpanKind, trace } from '@opentelemetry/api';
import { createTelemetry } from '@tracewire/testing';
import { afterAll, expect, it } from 'vitest';
import { otelGrpcClientInterceptor, otelGrpcServerInterceptor } from '../src/index.js';
import { defaultImpl, getOrder, Orders } from './harness.js';

const telemetry = createTelemetry();
afterAll(() => telemetry.shutdown());

it('uses the global providers registered after the interceptors were created', async () => {
  const server = new grpc.Server({ interceptors: [otelGrpcServerInterceptor()] });
  server.addService(Orders.service, defaultImpl as unknown as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const client = new Orders(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    interceptors: [otelGrpcClientInterceptor()],
  });
  try {
    // No SDK yet: the calls work and nothing is recorded.
    expect((await getOrder(client, { id: '1' })).error).toBeNull();
    expect(telemetry.spans()).toEqual([]);
    // ...but the caller's trace still flows through the handler (to its outbound calls and logs).
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    // (A plain client: with no SDK, the client interceptor has no span of its own to send.)
    const plain = new Orders(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const propagated = await getOrder(plain, { id: '1' }, metadata);
    plain.close();
    expect(propagated.error).toBeNull();
    expect(propagated.response?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');

    trace.setGlobalTracerProvider(telemetry.tracerProvider);
    metrics.setGlobalMeterProvider(telemetry.meterProvider);
    expect((await getOrder(client, { id: '2' })).error).toBeNull();
    const spans = await telemetry.waitForSpans(2);
    expect(spans.map((s) => s.kind).sort()).toEqual([SpanKind.SERVER, SpanKind.CLIENT].sort());
    const points = await telemetry.points('rpc.server.call.duration');
    expect(points.reduce((n, p) => n + p.value, 0)).toBe(1);
  } finally {
    client.close();
    server.forceShutdown();
    trace.disable();
    metrics.disable();
  }
});
