import 'reflect-metadata';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Controller, Inject, Module, NotFoundException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcMethod, type MicroserviceOptions, RpcException, Transport } from '@nestjs/microservices';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ATTR_RPC_GRPC_STATUS_CODE } from '@tracewire/grpc';
import { createTelemetry } from '@tracewire/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOtelGrpcServer } from '../src/grpc.js';
import { OtelModule, TraceService } from '../src/index.js';

const telemetry = createTelemetry();
const protoPath = fileURLToPath(new URL('./fixtures/orders.proto', import.meta.url));
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SECRET = 'db at 10.1.2.3 password=hunter2';

@Controller()
class OrdersGrpcController {
  constructor(@Inject(TraceService) private readonly traces: TraceService) {}

  @GrpcMethod('Orders', 'Get')
  get({ id }: { id: string }): { id: string; traceId: string | undefined } {
    if (id === 'missing')
      throw new RpcException({ code: grpc.status.NOT_FOUND, message: `order ${id} not found` });
    if (id === 'http-404') throw new NotFoundException('no such order');
    if (id === 'crash') throw new Error(SECRET);
    return { id, traceId: this.traces.getTraceId() };
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

type GetFn = (
  req: { id: string },
  metadata: grpc.Metadata,
  cb: (err: grpc.ServiceError | null, res?: { id: string; traceId: string }) => void,
) => void;

describe('gRPC microservice (Transport.GRPC)', () => {
  let app: Awaited<ReturnType<typeof NestFactory.createMicroservice>>;
  let client: grpc.Client & { Get: GetFn };

  beforeAll(async () => {
    @Module({
      imports: [
        OtelModule.forRoot({
          tracerProvider: telemetry.tracerProvider,
          meterProvider: telemetry.meterProvider,
        }),
      ],
      controllers: [OrdersGrpcController],
    })
    class AppModule {}
    const url = `127.0.0.1:${await freePort()}`;
    app = await NestFactory.createMicroservice<MicroserviceOptions>(AppModule, {
      logger: false,
      transport: Transport.GRPC,
      options: withOtelGrpcServer(
        { package: 'orders', protoPath, url },
        { tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider },
      ),
    });
    await app.listen();
    const definition = protoLoader.loadSync(protoPath);
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      orders: { Orders: new (url: string, creds: grpc.ChannelCredentials) => grpc.Client & { Get: GetFn } };
    };
    client = new pkg.orders.Orders(url, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await app?.close();
  });

  function get(id: string, metadata = new grpc.Metadata()) {
    return new Promise<{ err: grpc.ServiceError | null; res?: { id: string; traceId: string } }>(
      (resolve) => {
        client.Get({ id }, metadata, (err, res) => resolve({ err, res }));
      },
    );
  }

  async function lastServerSpan() {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const span = telemetry.spans().find((s) => s.kind === SpanKind.SERVER);
      if (span !== undefined) return span;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('no server span');
  }

  it('continues the trace from the call metadata, with the controller and handler on the span', async () => {
    telemetry.exporter.reset();
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', `00-${TRACE_ID}-00f067aa0ba902b7-01`);
    const { err, res } = await get('42', metadata);
    expect(err).toBeNull();
    expect(res?.traceId).toBe(TRACE_ID);
    const span = await lastServerSpan();
    expect(span.name).toBe('orders.Orders/Get');
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.attributes['code.function.name']).toBe('OrdersGrpcController.get');
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('maps an RpcException NOT_FOUND: code and message sent, trace id in the trailers, span not an error', async () => {
    telemetry.exporter.reset();
    const { err } = await get('missing');
    expect(err?.code).toBe(grpc.status.NOT_FOUND);
    expect(err?.details).toBe('order missing not found');
    const span = await lastServerSpan();
    expect(err?.metadata.get('trace-id')).toEqual([span.spanContext().traceId]);
    expect(span.attributes[ATTR_RPC_GRPC_STATUS_CODE]).toBe(grpc.status.NOT_FOUND);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('maps an HttpException 404 to NOT_FOUND', async () => {
    const { err } = await get('http-404');
    expect(err?.code).toBe(grpc.status.NOT_FOUND);
    expect(err?.details).toBe('no such order');
  });

  it('an unknown error is INTERNAL without its message, and a span error', async () => {
    telemetry.exporter.reset();
    const { err } = await get('crash');
    expect(err?.code).toBe(grpc.status.INTERNAL);
    expect(err?.details).not.toContain('hunter2');
    expect(err?.details).not.toContain('10.1.2.3');
    const span = await lastServerSpan();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    const points = await telemetry.points('rpc.server.call.duration');
    expect(points.length).toBeGreaterThan(0);
  });
});
