// payments: a gRPC service guarded by a small pool of connections to the card network. When more
// charges arrive than the pool can serve, they queue; callers with a deadline give up.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { otelGrpcServerInterceptor, toGrpcServiceError } from '@tracewire/grpc';
import { ConcurrencyPool, PoolAbandonedError } from './pool.js';
import { type ChargeReply, type ChargeRequest, loadPayments } from './proto.js';
import { envInt, sleep, startService } from './shared.js';

const service = await startService('payments');
const { log } = service;
const tracer = trace.getTracer('demo-payments');

const pool = new ConcurrencyPool('card-network', envInt('PAYMENTS_POOL_SIZE', 4));
const authorizeMs = envInt('PAYMENTS_AUTHORIZE_MS', 60);

async function charge(request: ChargeRequest, signal: AbortSignal): Promise<ChargeReply> {
  const before = pool.snapshot();
  log.info(
    { orderId: request.orderId, amountCents: request.amountCents, pool: before },
    before.inUse >= before.size ? 'charge queued: no free card-network connection' : 'charge received',
  );
  const release = await tracer.startActiveSpan('payments.pool acquire', async (span) => {
    span.setAttributes({
      'payments.pool.name': pool.name,
      'payments.pool.size': before.size,
      'payments.pool.in_use': before.inUse,
      'payments.pool.pending': before.pending,
    });
    const started = performance.now();
    try {
      return await pool.acquire(signal);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      span.setAttribute('error.type', 'PoolAbandonedError');
      throw error;
    } finally {
      span.setAttribute('payments.pool.wait_ms', Math.round(performance.now() - started));
      span.end();
    }
  });
  try {
    if (signal.aborted) throw new PoolAbandonedError('call cancelled while waiting for a pool connection');
    await tracer.startActiveSpan('card-network authorize', async (span) => {
      await sleep(authorizeMs * (0.8 + Math.random() * 0.4));
      span.end();
    });
    const paymentId = randomUUID();
    log.info({ orderId: request.orderId, paymentId }, 'charge authorized');
    return { paymentId, status: 'AUTHORIZED' };
  } finally {
    release();
  }
}

const Payments = loadPayments();
const server = new grpc.Server({ interceptors: [otelGrpcServerInterceptor()] });
server.addService(Payments.service, {
  Charge(call: grpc.ServerUnaryCall<ChargeRequest, ChargeReply>, callback: grpc.sendUnaryData<ChargeReply>) {
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort());
    charge(call.request, abort.signal).then(
      (reply) => callback(null, reply),
      (error: unknown) => {
        if (error instanceof PoolAbandonedError) {
          const waited = pool.snapshot();
          log.warn(
            { orderId: call.request.orderId, pool: waited },
            'charge abandoned: the caller gave up (deadline) while waiting for a pool connection',
          );
        } else {
          log.error({ err: error, orderId: call.request.orderId }, 'charge failed');
        }
        callback(toGrpcServiceError(error));
      },
    );
  },
});

const port = await new Promise<number>((resolve, reject) => {
  server.bindAsync(
    `127.0.0.1:${envInt('PAYMENTS_PORT', 0)}`,
    grpc.ServerCredentials.createInsecure(),
    (error, bound) => (error ? reject(error) : resolve(bound)),
  );
});
service.ready({ port, poolSize: pool.size });
service.onShutdown(() => {
  server.forceShutdown();
});
