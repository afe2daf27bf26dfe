// No SDK and no context manager: the server interceptor takes its idle path (no span, no metric, no
// context). Error statuses still carry the caller's trace id, and registering a context manager
// (or an SDK) switches calls back to the full path from the next call on.
import * as grpc from '@grpc/grpc-js';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { otelGrpcServerInterceptor } from '../src/index.js';
import { defaultImpl, diagMessages, getOrder, Orders, type OrdersImpl } from './harness.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

let server: grpc.Server;
let client: InstanceType<typeof Orders>;

beforeAll(async () => {
  context.disable();
  trace.disable();
  metrics.disable();
  propagation.disable();
  const impl: OrdersImpl = {
    ...defaultImpl,
    getOrder(call, callback) {
      if (call.request.mode === 'fail') {
        const trailers = new grpc.Metadata();
        trailers.set('x-app', 'kept');
        callback({ code: grpc.status.NOT_FOUND, details: 'no such order', metadata: trailers });
      } else {
        defaultImpl.getOrder(call, callback);
      }
    },
  };
  server = new grpc.Server({ interceptors: [otelGrpcServerInterceptor()] });
  server.addService(Orders.service, impl as unknown as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  client = new Orders(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});
afterAll(() => {
  client.close();
  server.forceShutdown();
  context.disable();
});

const withTraceparent = (): grpc.Metadata => {
  const m = new grpc.Metadata();
  m.set('traceparent', TRACEPARENT);
  return m;
};

it('an error status carries the caller trace id, its own trailers and details unchanged', async () => {
  const { error } = await getOrder(client, { id: '1', mode: 'fail' }, withTraceparent());
  expect(error?.code).toBe(grpc.status.NOT_FOUND);
  expect(error?.details).toBe('no such order');
  expect(error?.metadata.get('trace-id')).toEqual([TRACE_ID]);
  expect(error?.metadata.get('x-app')).toEqual(['kept']);
});

it('no trace context sent, no trace id; OK statuses pass through', async () => {
  const { error } = await getOrder(client, { id: '1', mode: 'fail' });
  expect(error?.code).toBe(grpc.status.NOT_FOUND);
  expect(error?.metadata.get('trace-id')).toEqual([]);
  expect(error?.metadata.get('x-app')).toEqual(['kept']);
  const ok = await getOrder(client, { id: '2' }, withTraceparent());
  expect(ok.error).toBeNull();
  // No context manager: the handler sees no span.
  expect(ok.response?.traceId).toBe('');
  expect(diagMessages).toEqual([]);
});

it('a context manager registered later is used from the next call on', async () => {
  const manager = new AsyncLocalStorageContextManager();
  manager.enable();
  context.setGlobalContextManager(manager);
  const { error, response } = await getOrder(client, { id: '3' }, withTraceparent());
  expect(error).toBeNull();
  expect(response?.traceId).toBe(TRACE_ID);
});
