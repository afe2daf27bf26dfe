// payments: a gRPC service that authorizes charges with the card network. Its server accepts at
// most PAYMENTS_MAX_STREAMS calls at a time on a connection (`grpc.max_concurrent_streams`, sent
// to clients as HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS): a client's further calls wait in its own
// HTTP/2 session for a free stream, before payments ever sees them. Under the sale's load that
// wait outlives the callers' deadline. The demo adds no metric of its own: what shows the wait is
// tracewire's channel and RPC metrics in `orders` and here.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';
import { otelGrpcServerInterceptor, toGrpcServiceError } from '@tracewire/grpc';
import { type ChargeReply, type ChargeRequest, loadPayments } from './proto.js';
import { envInt, sleep, startService } from './shared.js';

const service = await startService('payments');
const { log } = service;
const tracer = trace.getTracer('demo-payments');

const maxStreams = envInt('PAYMENTS_MAX_STREAMS', 4);
const authorizeMs = envInt('PAYMENTS_AUTHORIZE_MS', 60);

async function charge(request: ChargeRequest): Promise<ChargeReply> {
  log.info({ orderId: request.orderId, amountCents: request.amountCents }, 'charge received');
  await tracer.startActiveSpan('card-network authorize', async (span) => {
    await sleep(authorizeMs * (0.8 + Math.random() * 0.4));
    span.end();
  });
  const paymentId = randomUUID();
  log.info({ orderId: request.orderId, paymentId }, 'charge authorized');
  return { paymentId, status: 'AUTHORIZED' };
}

const Payments = loadPayments();
const server = new grpc.Server({
  interceptors: [otelGrpcServerInterceptor()],
  // The capacity limit of this incident: at most `maxStreams` calls per connection at a time.
  'grpc.max_concurrent_streams': maxStreams,
});
server.addService(Payments.service, {
  Charge(call: grpc.ServerUnaryCall<ChargeRequest, ChargeReply>, callback: grpc.sendUnaryData<ChargeReply>) {
    call.on('cancelled', () =>
      log.warn({ orderId: call.request.orderId }, 'charge cancelled by the caller (deadline)'),
    );
    charge(call.request).then(
      (reply) => callback(null, reply),
      (error: unknown) => {
        log.error({ err: error, orderId: call.request.orderId }, 'charge failed');
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
service.ready({ port, maxConcurrentStreams: maxStreams });
service.onShutdown(() => {
  server.forceShutdown();
});
