// orders: a NestJS service (OtelModule). For each order it checks stock with `inventory` (fetch),
// stores the order in Postgres (@tracewire/pg), and charges it with `payments` (gRPC, with a
// deadline). A payment that misses its deadline becomes a 504 problem+json. The payments client is
// one grpc-js channel (one HTTP/2 connection); `instrumentGrpcChannel` reports its connection, its
// calls, and the calls waiting for a stream beyond what payments accepts at a time.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Body, Controller, HttpCode, Inject, Injectable, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcCode, TracedError, wrapError } from '@tracewire/errors';
import { instrumentGrpcChannel, otelGrpcClientInterceptor } from '@tracewire/grpc';
import { requestLogger } from '@tracewire/logger';
import { OtelModule, Span } from '@tracewire/nest';
import type pg from 'pg';
import { type Database, openDatabase } from './database.js';
import { type ChargeReply, type ChargeRequest, loadPayments } from './proto.js';
import { envInt, startService } from './shared.js';

const service = await startService('orders');
const { log } = service;

const INVENTORY_URL = `http://127.0.0.1:${envInt('INVENTORY_PORT')}`;
const PAYMENTS_TARGET = `127.0.0.1:${envInt('PAYMENTS_PORT')}`;
const PAYMENTS_DEADLINE_MS = envInt('PAYMENTS_DEADLINE_MS', 250);

const PG_POOL = Symbol('PG_POOL');
const PAYMENTS = Symbol('PAYMENTS');

interface PaymentsClient extends grpc.Client {
  Charge(
    request: ChargeRequest,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply?: ChargeReply) => void,
  ): grpc.ClientUnaryCall;
}

interface OrderInput {
  sku?: unknown;
  quantity?: unknown;
}

const PRICES: Record<string, number> = { 'SKU-TEE': 1900, 'SKU-MUG': 1200, 'SKU-CAP': 1500 };

@Injectable()
class OrdersService {
  constructor(
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    @Inject(PAYMENTS) private readonly payments: PaymentsClient,
  ) {}

  @Span('OrdersService.placeOrder')
  async placeOrder(input: OrderInput): Promise<{ orderId: string; status: string; paymentId: string }> {
    const sku = typeof input.sku === 'string' ? input.sku : '';
    const quantity = typeof input.quantity === 'number' ? input.quantity : 1;
    const price = PRICES[sku];
    if (price === undefined) {
      throw new TracedError(`unknown sku ${sku}`, { code: GrpcCode.INVALID_ARGUMENT });
    }
    const orderId = randomUUID();
    log.info({ orderId, sku, quantity }, 'placing order');

    await this.checkStock(sku);
    const amountCents = price * quantity;
    await this.pool.query(
      'INSERT INTO demo_orders (id, sku, quantity, amount_cents, status) VALUES ($1, $2, $3, $4, $5)',
      [orderId, sku, quantity, amountCents, 'pending'],
    );

    let reply: ChargeReply;
    const started = performance.now();
    try {
      reply = await this.charge({ orderId, amountCents });
    } catch (error) {
      const waitedMs = Math.round(performance.now() - started);
      log.error(
        { err: error, orderId, deadlineMs: PAYMENTS_DEADLINE_MS, waitedMs },
        'payment call failed; marking the order payment_failed',
      );
      await this.pool.query('UPDATE demo_orders SET status = $1 WHERE id = $2', ['payment_failed', orderId]);
      throw wrapError(error, 'the payment could not be authorized in time');
    }
    await this.pool.query('UPDATE demo_orders SET status = $1 WHERE id = $2', ['paid', orderId]);
    log.info({ orderId, paymentId: reply.paymentId }, 'order paid');
    return { orderId, status: 'paid', paymentId: reply.paymentId };
  }

  private async checkStock(sku: string): Promise<void> {
    const response = await fetch(`${INVENTORY_URL}/stock/${encodeURIComponent(sku)}`, {
      signal: AbortSignal.timeout(2000),
    });
    if (!response.ok) {
      throw new TracedError(`inventory answered ${response.status}`, { code: GrpcCode.FAILED_PRECONDITION });
    }
    await response.json();
  }

  private charge(request: ChargeRequest): Promise<ChargeReply> {
    return new Promise((resolve, reject) => {
      this.payments.Charge(request, { deadline: Date.now() + PAYMENTS_DEADLINE_MS }, (error, reply) => {
        if (error) reject(error);
        else resolve(reply as ChargeReply);
      });
    });
  }
}

@Controller('orders')
class OrdersController {
  constructor(@Inject(OrdersService) private readonly orders: OrdersService) {}

  @Post()
  @HttpCode(201)
  create(@Body() body: OrderInput): Promise<object> {
    return this.orders.placeOrder(body ?? {});
  }
}

const database: Database = await openDatabase(process.env.DATABASE_URL);
const Payments = loadPayments();
const paymentsClient = new Payments(PAYMENTS_TARGET, grpc.credentials.createInsecure(), {
  interceptors: [otelGrpcClientInterceptor({ target: PAYMENTS_TARGET })],
}) as unknown as PaymentsClient;
// Channel metrics: grpc.subchannel.open_connections, tracewire.grpc.channel.calls.active,
// tracewire.grpc.channel.calls.waiting_for_stream and tracewire.grpc.channel.stream.wait_duration.
instrumentGrpcChannel(paymentsClient);

@Module({
  imports: [OtelModule.forRoot({ problemDetails: true })], // problem+json with the traceId
  controllers: [OrdersController],
  providers: [
    OrdersService,
    { provide: PG_POOL, useValue: database.pool },
    { provide: PAYMENTS, useValue: paymentsClient },
  ],
})
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
app.use(requestLogger({ logger: log, accessLog: true }));
await app.listen(envInt('ORDERS_PORT', 0), '127.0.0.1');
const port = (app.getHttpServer().address() as AddressInfo).port;
service.ready({ port, database: database.description, paymentsDeadlineMs: PAYMENTS_DEADLINE_MS });
service.onShutdown(async () => {
  await app.close();
  paymentsClient.close();
  await database.close();
});
