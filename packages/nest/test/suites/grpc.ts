// The gRPC suite of @tracewire/nest (Nest 10, 11 and 12): a hybrid application on the HTTP platform
// with a gRPC microservice, by default and with problemDetails, and ClientGrpc from an HTTP handler.
import 'reflect-metadata';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { INestApplication, OnModuleInit } from '@nestjs/common';
import { Controller, Get, Inject, Module, NotFoundException, Param } from '@nestjs/common';
import {
  type ClientGrpc,
  ClientsModule,
  GrpcMethod,
  type MicroserviceOptions,
  RpcException,
  Transport,
} from '@nestjs/microservices';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_RPC_GRPC_STATUS_CODE, otelGrpcServerInterceptor } from '@tracewire/grpc';
import { createTelemetry, rawRequest } from '@tracewire/testing';
import { firstValueFrom, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOtelGrpcClient, withOtelGrpcServer } from '../../src/grpc.js';
import { OtelModule, TraceService } from '../../src/index.js';
import { createApp, listen, type Platform } from '../app.js';

export const protoPath = fileURLToPath(new URL('../fixtures/orders.proto', import.meta.url));
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

/** Registers the gRPC tests of one cell of the matrix (`nest 11 (fastify)`, ...). */
export function describeGrpcSuite(label: string, platform: Platform): void {
  for (const mode of ['default', 'problemDetails'] as const) {
    describe(`${label}: gRPC microservice (Transport.GRPC, hybrid application, ${mode})`, () => {
      const telemetry = createTelemetry();
      let app: INestApplication;
      let client: grpc.Client & { Get: GetFn };

      beforeAll(async () => {
        @Module({
          imports: [
            OtelModule.forRoot({
              tracerProvider: telemetry.tracerProvider,
              meterProvider: telemetry.meterProvider,
              problemDetails: mode === 'problemDetails',
            }),
          ],
          controllers: [OrdersGrpcController],
        })
        class AppModule {}
        const url = `127.0.0.1:${await freePort()}`;
        app = await createApp(AppModule, platform);
        app.connectMicroservice<MicroserviceOptions>(
          {
            transport: Transport.GRPC,
            options: withOtelGrpcServer(
              { package: 'orders', protoPath, url },
              { tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider },
            ),
          },
          // The module's global filter (problemDetails) applies to the microservice too.
          { inheritAppConfig: true },
        );
        await app.startAllMicroservices();
        await listen(app);
        const definition = protoLoader.loadSync(protoPath);
        const pkg = grpc.loadPackageDefinition(definition) as unknown as {
          orders: {
            Orders: new (url: string, creds: grpc.ChannelCredentials) => grpc.Client & { Get: GetFn };
          };
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

      it(`an HttpException 404: ${mode === 'default' ? "Nest's own RPC answer (UNKNOWN)" : 'mapped to NOT_FOUND'}`, async () => {
        const { err } = await get('http-404');
        if (mode === 'default') {
          expect(err?.code).toBe(grpc.status.UNKNOWN);
        } else {
          expect(err?.code).toBe(grpc.status.NOT_FOUND);
          expect(err?.details).toBe('no such order');
        }
      });

      it(`an unknown error is ${mode === 'default' ? "Nest's UNKNOWN" : 'INTERNAL'} without its message, and a span error`, async () => {
        telemetry.exporter.reset();
        const { err } = await get('crash');
        expect(err?.code).toBe(mode === 'default' ? grpc.status.UNKNOWN : grpc.status.INTERNAL);
        expect(err?.details).not.toContain('hunter2');
        expect(err?.details).not.toContain('10.1.2.3');
        const span = await lastServerSpan();
        expect(span.status.code).toBe(SpanStatusCode.ERROR);
        const points = await telemetry.points('rpc.server.call.duration');
        expect(points.length).toBeGreaterThan(0);
      });
    });
  }

  describe(`${label}: ClientGrpc with withOtelGrpcClient (outgoing calls)`, () => {
    const clientTelemetry = createTelemetry();
    const STALE = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
    const ORDERS = Symbol('ORDERS_CLIENT');
    /** The metadata the gRPC server received, and the trace it saw active in its handler. */
    const received: { metadata: grpc.Metadata; activeTraceId: string | undefined }[] = [];
    /** The Metadata objects the controller passed to the client, to check they are not changed. */
    const sent: grpc.Metadata[] = [];
    const seenByUserInterceptor: (string | undefined)[] = [];
    let server: grpc.Server;
    let app: INestApplication;
    let baseUrl: string;

    interface OrdersClient {
      Get(req: { id: string }, metadata?: grpc.Metadata): Observable<{ id: string; traceId: string }>;
    }

    /**
     * A user interceptor that forwards only an allow-list of headers, in a new Metadata: the
     * tracewire client interceptor runs after it (closest to the transport), so the context it
     * injects is not dropped.
     */
    const allowListInterceptor: grpc.Interceptor = (options, nextCall) =>
      new grpc.InterceptingCall(nextCall(options), {
        start(metadata, listener, next) {
          seenByUserInterceptor.push(metadata.get('traceparent')[0] as string | undefined);
          const forwarded = new grpc.Metadata();
          for (const key of ['x-tenant']) for (const v of metadata.get(key)) forwarded.add(key, v);
          next(forwarded, listener);
        },
      });

    @Controller('proxy')
    class ProxyController implements OnModuleInit {
      private orders!: OrdersClient;
      constructor(@Inject(ORDERS) private readonly client: ClientGrpc) {}
      onModuleInit(): void {
        this.orders = this.client.getService<OrdersClient>('Orders');
      }

      @Get(':id')
      async get(@Param('id') id: string): Promise<{ id: string; traceId: string }> {
        const metadata = new grpc.Metadata();
        metadata.set('x-tenant', 'acme');
        metadata.set('traceparent', STALE);
        sent.push(metadata);
        return firstValueFrom(this.orders.Get({ id }, metadata));
      }
    }

    beforeAll(async () => {
      const definition = protoLoader.loadSync(protoPath);
      const pkg = grpc.loadPackageDefinition(definition) as unknown as {
        orders: { Orders: { service: grpc.ServiceDefinition } };
      };
      server = new grpc.Server({
        interceptors: [
          otelGrpcServerInterceptor({
            tracerProvider: clientTelemetry.tracerProvider,
            meterProvider: clientTelemetry.meterProvider,
          }),
        ],
      });
      server.addService(pkg.orders.Orders.service, {
        Get(
          call: grpc.ServerUnaryCall<{ id: string }, unknown>,
          cb: grpc.sendUnaryData<{ id: string; traceId: string }>,
        ) {
          const sc = trace.getActiveSpan()?.spanContext();
          received.push({ metadata: call.metadata, activeTraceId: sc?.traceId });
          cb(null, { id: call.request.id, traceId: sc?.traceId ?? '' });
        },
      });
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
          err ? reject(err) : resolve(p),
        ),
      );

      @Module({
        imports: [
          OtelModule.forRoot({
            tracerProvider: clientTelemetry.tracerProvider,
            meterProvider: clientTelemetry.meterProvider,
          }),
          ClientsModule.register([
            {
              name: ORDERS,
              transport: Transport.GRPC,
              options: withOtelGrpcClient(
                {
                  package: 'orders',
                  protoPath,
                  url: `127.0.0.1:${port}`,
                  channelOptions: { interceptors: [allowListInterceptor] },
                },
                {
                  tracerProvider: clientTelemetry.tracerProvider,
                  meterProvider: clientTelemetry.meterProvider,
                },
              ),
            },
          ]),
        ],
        controllers: [ProxyController],
      })
      class ClientAppModule {}
      app = await createApp(ClientAppModule, platform);
      baseUrl = await listen(app);
    });

    afterAll(async () => {
      await app?.close();
      server?.forceShutdown();
    });

    it('the CLIENT span is a child of the HTTP SERVER span, and the gRPC server continues the trace from it', async () => {
      clientTelemetry.exporter.reset();
      const res = await rawRequest(`${baseUrl}/proxy/7`, {
        headers: [['traceparent', `00-${TRACE_ID}-00f067aa0ba902b7-01`]],
      });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ id: '7', traceId: TRACE_ID });

      const spans = await clientTelemetry.waitForSpans(3);
      const http = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'GET /proxy/:id');
      const client = spans.find((s) => s.kind === SpanKind.CLIENT);
      const grpcServer = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'orders.Orders/Get');
      expect(http).toBeDefined();
      expect(client).toBeDefined();
      expect(grpcServer).toBeDefined();

      expect(http!.spanContext().traceId).toBe(TRACE_ID);
      expect(client!.name).toBe('orders.Orders/Get');
      expect(client!.instrumentationScope.name).toBe('@tracewire/grpc');
      expect(client!.spanContext().traceId).toBe(TRACE_ID);
      expect(client!.parentSpanContext?.spanId).toBe(http!.spanContext().spanId);
      expect(client!.attributes['server.address']).toBe('127.0.0.1');
      expect(client!.attributes[ATTR_RPC_GRPC_STATUS_CODE]).toBe(grpc.status.OK);
      expect(client!.status.code).toBe(SpanStatusCode.UNSET);

      expect(grpcServer!.spanContext().traceId).toBe(TRACE_ID);
      expect(grpcServer!.parentSpanContext?.spanId).toBe(client!.spanContext().spanId);
      expect(grpcServer!.parentSpanContext?.isRemote).toBe(true);

      // On the wire: this call's context (not the stale one the caller put in its Metadata), after
      // the user's interceptor rebuilt the metadata; the user's own header made it through.
      const last = received[received.length - 1]!;
      expect(last.metadata.get('traceparent')).toEqual([`00-${TRACE_ID}-${client!.spanContext().spanId}-01`]);
      expect(last.metadata.get('x-tenant')).toEqual(['acme']);
      expect(last.activeTraceId).toBe(TRACE_ID);
      // The user's interceptor ran before tracewire's: it saw the caller's metadata as given.
      expect(seenByUserInterceptor[seenByUserInterceptor.length - 1]).toBe(STALE);

      const points = await clientTelemetry.points('rpc.client.call.duration');
      expect(points.length).toBeGreaterThan(0);
    });

    it("does not change the caller's Metadata, also across concurrent calls", async () => {
      clientTelemetry.exporter.reset();
      const before = sent.length;
      const results = await Promise.all(['a', 'b', 'c'].map((id) => rawRequest(`${baseUrl}/proxy/${id}`)));
      expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
      const mine = sent.slice(before);
      expect(mine).toHaveLength(3);
      for (const metadata of mine) {
        expect(metadata.getMap()).toEqual({ 'x-tenant': 'acme', traceparent: STALE });
      }
      const spans = await clientTelemetry.waitForSpans(9);
      const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
      const https = spans.filter((s) => s.kind === SpanKind.SERVER && s.name === 'GET /proxy/:id');
      expect(clients).toHaveLength(3);
      // Each call is a child of its own request's span: three distinct traces.
      const httpBySpanId = new Map(https.map((s) => [s.spanContext().spanId, s]));
      for (const c of clients) {
        const parent = httpBySpanId.get(c.parentSpanContext?.spanId ?? '');
        expect(parent?.spanContext().traceId).toBe(c.spanContext().traceId);
      }
      expect(new Set(clients.map((c) => c.spanContext().traceId)).size).toBe(3);
    });
  });
}
