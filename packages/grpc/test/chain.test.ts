// The server and client interceptors in chains of interceptors that pass every event and every
// send on asynchronously (one before, one after): each call kind gets the same answers as the same
// chain without tracewire, the handler runs in the call's SERVER span, the caller's callbacks in
// the caller's context, and a cancelled stream still ends its span once.
import * as grpc from '@grpc/grpc-js';
import { context, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { createTelemetry } from '@tracewire/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { otelGrpcClientInterceptor, otelGrpcServerInterceptor } from '../src/index.js';
import {
  asCallbackError,
  defaultImpl,
  deferred,
  getOrder,
  type Order,
  type OrderRequest,
  Orders,
  type OrdersClient,
  readAll,
  sumOf,
} from './harness.js';

const telemetry = createTelemetry();
const servers: grpc.Server[] = [];
const clients: grpc.Client[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) s.forceShutdown();
  telemetry.reset();
});
afterAll(() => telemetry.shutdown());

/** An interceptor that passes every event and every send on from a later turn of the event loop. */
function deferring(seen: string[], name: string): grpc.ServerInterceptor {
  return (_descriptor, call) => {
    const later =
      (what: string) =>
      <T>(value: T, next: (value: T) => void): void => {
        setImmediate(() => {
          seen.push(`${name}:${what}`);
          next(value);
        });
      };
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata(later('metadata'))
      .withOnReceiveMessage(later('message'))
      .withOnReceiveHalfClose((next) => setImmediate(next))
      .build();
    const responder = new grpc.ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendMetadata(later('sendMetadata'))
      .withSendMessage(later('sendMessage'))
      .withSendStatus(later('sendStatus'))
      .build();
    return new grpc.ServerInterceptingCall(call, responder);
  };
}

const impl = {
  ...defaultImpl,
  getOrder(call: grpc.ServerUnaryCall<OrderRequest, Order>, callback: grpc.sendUnaryData<Order>): void {
    if (call.request.mode === 'fail') {
      const trailer = new grpc.Metadata();
      trailer.set('x-why', 'asked to');
      callback({ code: grpc.status.FAILED_PRECONDITION, details: 'no such order', metadata: trailer });
      return;
    }
    defaultImpl.getOrder(call, callback);
  },
};

async function start(traced: boolean): Promise<{ client: OrdersClient; seen: string[] }> {
  const seen: string[] = [];
  const interceptors = [deferring(seen, 'before')];
  if (traced) {
    interceptors.push(
      otelGrpcServerInterceptor({
        tracerProvider: telemetry.tracerProvider,
        meterProvider: telemetry.meterProvider,
      }),
    );
  }
  interceptors.push(deferring(seen, 'after'));
  const server = new grpc.Server({ interceptors });
  servers.push(server);
  server.addService(Orders.service, impl as unknown as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const client = new Orders(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  clients.push(client);
  return { client, seen };
}

/** What a client sees of each call kind, without the trace ids the handler reports. */
async function script(client: OrdersClient) {
  const strip = (o: Order | undefined) => (o === undefined ? undefined : { id: o.id });
  const ok = await getOrder(client, { id: '7' });
  const failed = await getOrder(client, { id: '8', mode: 'fail' });
  const upload = await new Promise<{ error: grpc.ServiceError | null; count?: number }>((resolve) => {
    const call = client.uploadOrders(new grpc.Metadata(), {}, (error, summary) =>
      resolve({ error, count: summary?.count }),
    );
    for (let i = 0; i < 3; i++) call.write({ id: String(i) });
    call.end();
  });
  const watched = await readAll<Order>(client.watchOrders({ count: 3 }, new grpc.Metadata(), {}));
  const chat = client.chat(new grpc.Metadata(), {});
  const chatted = readAll<Order>(chat);
  for (let i = 0; i < 3; i++) chat.write({ id: `c${i}` });
  chat.end();
  const chatResult = await chatted;
  return {
    ok: { error: ok.error, response: strip(ok.response) },
    failed: {
      code: failed.error?.code,
      details: failed.error?.details,
      why: failed.error?.metadata.get('x-why'),
    },
    upload,
    watched: { ...watched, messages: watched.messages.map(strip) },
    chat: { ...chatResult, messages: chatResult.messages.map(strip) },
    ids: [ok.response, ...watched.messages, ...chatResult.messages].map((o) => o?.traceId ?? ''),
  };
}

describe('the server interceptor between interceptors that defer every step', () => {
  it('answers every call kind as the same chain without it, with the handler in the SERVER span', async () => {
    const bare = await start(false);
    const expected = await script(bare.client);
    const traced = await start(true);
    const got = await script(traced.client);

    const { ids: bareIds, ...bareRest } = expected;
    const { ids: tracedIds, ...tracedRest } = got;
    expect(tracedRest).toEqual(bareRest);
    expect(bareRest.ok.response).toEqual({ id: '7' });
    expect(bareRest.failed).toEqual({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'no such order',
      why: ['asked to'],
    });
    expect(bareRest.upload.count).toBe(3);
    expect(bareRest.chat.messages).toHaveLength(3);
    // The deferring interceptors saw the same steps in both chains, as often (grpc-js 1.10 passes
    // no separate sendMetadata to interceptors when a message goes first; 1.14 does).
    const tally = (seen: string[]) =>
      Object.fromEntries([...new Set(seen)].sort().map((k) => [k, seen.filter((x) => x === k).length]));
    expect(tally(traced.seen)).toEqual(tally(bare.seen));
    for (const step of ['metadata', 'message', 'sendMessage', 'sendStatus']) {
      expect(traced.seen).toContain(`before:${step}`);
      expect(traced.seen).toContain(`after:${step}`);
    }

    const spans = (await telemetry.waitForSpans(5)).filter((s) => s.kind === SpanKind.SERVER);
    expect(spans).toHaveLength(5);
    // The handler saw a span of the call it served (ids reported from inside the handler).
    expect(bareIds.every((id) => id === '')).toBe(true);
    const serverTraceIds = new Set(spans.map((s) => s.spanContext().traceId));
    for (const id of tracedIds) expect(serverTraceIds.has(id)).toBe(true);
    const failedSpan = spans.find((s) => s.attributes['rpc.status_code'] === 'FAILED_PRECONDITION');
    expect(failedSpan).toBeDefined();
    expect(await sumOf(telemetry, 'rpc.server.active_requests')).toBe(0);
    expect(await sumOf(telemetry, 'rpc.server.call.duration')).toBe(5);
  });

  it('a bidi stream the client cancels midway ends its span once and the handler sees the cancel', async () => {
    const cancelled = deferred();
    const seen = deferred();
    const server = new grpc.Server({
      interceptors: [
        deferring([], 'before'),
        otelGrpcServerInterceptor({
          tracerProvider: telemetry.tracerProvider,
          meterProvider: telemetry.meterProvider,
        }),
        deferring([], 'after'),
      ],
    });
    servers.push(server);
    server.addService(Orders.service, {
      ...impl,
      chat(call: grpc.ServerDuplexStream<OrderRequest, Order>) {
        call.on('data', (r: OrderRequest) => {
          call.write({ id: r.id ?? '', traceId: '', spanId: '' });
          seen.resolve();
        });
        call.on('cancelled', () => cancelled.resolve());
      },
    } as unknown as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const client = new Orders(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    clients.push(client);
    const chat = client.chat(new grpc.Metadata(), {});
    const ended = readAll<Order>(chat);
    chat.write({ id: 'x' });
    await seen.promise;
    chat.cancel();
    const result = await ended;
    expect(asCallbackError(result.error as Error).code).toBe(grpc.status.CANCELLED);
    await cancelled.promise;
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.attributes['rpc.status_code']).toBe('CANCELLED');
    await new Promise((r) => setTimeout(r, 50));
    expect(telemetry.spans()).toHaveLength(1);
    expect(await sumOf(telemetry, 'rpc.server.active_requests')).toBe(0);
  });
});

/** A client interceptor that passes every step on from a later turn of the event loop. */
function deferringClient(seen: string[], name: string): grpc.Interceptor {
  return (options, nextCall) => {
    const later =
      (what: string) =>
      <T>(value: T, next: (value: T) => void): void => {
        setImmediate(() => {
          seen.push(`${name}:${what}`);
          next(value);
        });
      };
    const listener = new grpc.ListenerBuilder()
      .withOnReceiveMetadata(later('metadata'))
      .withOnReceiveMessage(later('message'))
      .withOnReceiveStatus(later('status'))
      .build();
    const requester = new grpc.RequesterBuilder()
      .withStart((metadata, _listener, next) => setImmediate(() => next(metadata, listener)))
      .withSendMessage(later('sendMessage'))
      .withHalfClose((next) => setImmediate(next))
      .build();
    return new grpc.InterceptingCall(nextCall(options), requester);
  };
}

describe('the client interceptor between interceptors that defer every step', () => {
  it('gives the caller the same answers as the same chain without it, in the caller context', async () => {
    const server = new grpc.Server();
    servers.push(server);
    server.addService(Orders.service, impl as unknown as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const clientFor = (traced: boolean, seen: string[]): OrdersClient => {
      const interceptors = [deferringClient(seen, 'before')];
      if (traced) interceptors.push(otelGrpcClientInterceptor({ tracerProvider: telemetry.tracerProvider }));
      interceptors.push(deferringClient(seen, 'after'));
      const client = new Orders(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { interceptors });
      clients.push(client);
      return client;
    };
    const bareSeen: string[] = [];
    const expected = await script(clientFor(false, bareSeen));

    const parent = telemetry.tracerProvider.getTracer('test').startSpan('caller');
    const tracedSeen: string[] = [];
    const tracedClient = clientFor(true, tracedSeen);
    const inCaller: boolean[] = [];
    const got = await context.with(trace.setSpan(ROOT_CONTEXT, parent), async () => {
      const result = await script(tracedClient);
      // Callbacks and stream events ran in the caller's context: a unary callback and a stream's
      // 'data' event, checked from inside them.
      await new Promise<void>((resolve) => {
        tracedClient.getOrder({ id: 'ctx' }, new grpc.Metadata(), {}, () => {
          inCaller.push(trace.getActiveSpan() === parent);
          resolve();
        });
      });
      await new Promise<void>((resolve) => {
        const stream = tracedClient.watchOrders({ count: 2 }, new grpc.Metadata(), {});
        stream.on('data', () => inCaller.push(trace.getActiveSpan() === parent));
        stream.on('end', () => resolve());
      });
      return result;
    });
    parent.end();

    expect(got).toEqual(expected);
    expect(expected.failed.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(inCaller).toEqual([true, true, true]);
    const tally = (seen: string[]) =>
      Object.fromEntries([...new Set(seen)].sort().map((k) => [k, seen.filter((x) => x === k).length]));
    // The traced chain made two more calls (the context checks): compare the steps' kinds.
    expect(Object.keys(tally(tracedSeen))).toEqual(Object.keys(tally(bareSeen)));
    const spans = (await telemetry.waitForSpans(8)).filter((s) => s.kind === SpanKind.CLIENT);
    expect(spans).toHaveLength(7);
    for (const span of spans) expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(spans.filter((s) => s.attributes['rpc.status_code'] === 'FAILED_PRECONDITION')).toHaveLength(1);
  });
});

describe('rpc.*.active_requests with several interceptors on one meter', () => {
  it('two clients of one target (each with its own interceptor) and two servers add into the same series', async () => {
    const release = deferred();
    const arrived: (() => void)[] = [];
    const started = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (arrived.length >= n ? resolve() : setTimeout(check, 5));
        check();
      });
    const providers = { tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider };
    const slow = {
      ...impl,
      getOrder(_call: unknown, callback: grpc.sendUnaryData<Order>) {
        arrived.push(() => undefined);
        void release.promise.then(() => callback(null, { id: 'x', traceId: '', spanId: '' }));
      },
    };
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const server = new grpc.Server({ interceptors: [otelGrpcServerInterceptor(providers)] });
      servers.push(server);
      server.addService(Orders.service, slow as unknown as grpc.UntypedServiceImplementation);
      ports.push(
        await new Promise<number>((resolve, reject) =>
          server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
            e ? reject(e) : resolve(p),
          ),
        ),
      );
    }
    // Two clients of the first server, each with an interceptor of its own, and one of the second.
    const target = `127.0.0.1:${ports[0]}`;
    const mk = (t: string) => {
      const client = new Orders(t, grpc.credentials.createInsecure(), {
        interceptors: [otelGrpcClientInterceptor({ ...providers, target: t })],
      });
      clients.push(client);
      return client;
    };
    const calls = [
      getOrder(mk(target), { id: '1' }),
      getOrder(mk(target), { id: '2' }),
      getOrder(mk(target), { id: '3' }),
      getOrder(mk(`127.0.0.1:${ports[1]}`), { id: '4' }),
    ];
    await started(4);
    const client = await telemetry.points('rpc.client.active_requests');
    const server = await telemetry.points('rpc.server.active_requests');
    const toFirst = client.filter((p) => p.attributes['server.port'] === ports[0]);
    expect(toFirst).toHaveLength(1);
    expect(toFirst[0]?.value).toBe(3);
    expect(client.reduce((n, p) => n + p.value, 0)).toBe(4);
    // Both servers serve the same method: one series, 4 calls in flight.
    expect(server).toHaveLength(1);
    expect(server[0]?.value).toBe(4);
    release.resolve();
    await Promise.all(calls);
    expect((await telemetry.points('rpc.client.active_requests')).every((p) => p.value === 0)).toBe(true);
    expect((await telemetry.points('rpc.server.active_requests')).every((p) => p.value === 0)).toBe(true);
  });
});
