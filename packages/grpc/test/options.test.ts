// Options: method filter, hooks, metadata capture, validation; and bounded metric series.
import * as grpc from '@grpc/grpc-js';
import { context, propagation, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { createTelemetry } from '@tracewire/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type GrpcRequestInfo,
  type GrpcResponseInfo,
  otelGrpcClientInterceptor,
  otelGrpcServerInterceptor,
} from '../src/index.js';
import {
  activeIds,
  closeAll,
  diagMessages,
  GET_ORDER,
  getOrder,
  Orders,
  passthrough,
  rawUnary,
  readAll,
  startOrders,
  sumOf,
  WATCH_ORDERS,
} from './harness.js';

const telemetry = createTelemetry();

afterEach(async () => {
  await closeAll();
  telemetry.reset();
  diagMessages.length = 0;
});
afterAll(() => telemetry.shutdown());

/** A `grpc.health.v1.Health` stand-in (bytes in, bytes out): only its path matters here. */
const health = {
  definition: {
    Check: {
      path: '/grpc.health.v1.Health/Check',
      requestStream: false,
      responseStream: false,
      requestSerialize: passthrough,
      requestDeserialize: passthrough,
      responseSerialize: passthrough,
      responseDeserialize: passthrough,
    },
  } as grpc.ServiceDefinition,
  implementation: {
    Check: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.alloc(0)),
  } as grpc.UntypedServiceImplementation,
};

const METRIC_ATTRIBUTES = new Set([
  'rpc.system.name',
  'rpc.method',
  'rpc.status_code',
  'error.type',
  'server.address',
  'server.port',
]);

describe('unknown methods keep metric series bounded (T43)', () => {
  it('1000 calls to unregistered methods: UNIMPLEMENTED, _OTHER on the client, not recorded by the server', async () => {
    const h = await startOrders(telemetry);
    const generic = h.genericClient();
    for (let batch = 0; batch < 10; batch++) {
      const errors = await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          rawUnary(generic, `/tracewire.test.Orders/Random${batch * 100 + j}`),
        ),
      );
      expect(errors.every((e) => e?.code === grpc.status.UNIMPLEMENTED)).toBe(true);
    }
    const spans = await telemetry.waitForSpans(1000);
    // grpc-js answers unregistered paths before any server interceptor runs.
    expect(spans.filter((s) => s.kind === SpanKind.SERVER)).toHaveLength(0);
    expect(await telemetry.points('rpc.server.call.duration')).toEqual([]);
    const span = spans.find((s) => s.attributes['rpc.method_original'] === 'tracewire.test.Orders/Random5');
    expect(span?.name).toBe('grpc');
    expect(span?.attributes).toMatchObject({ 'rpc.method': '_OTHER', 'rpc.status_code': 'UNIMPLEMENTED' });

    const points = await telemetry.points('rpc.client.call.duration');
    expect(points).toHaveLength(1);
    expect(points[0]?.attributes).toMatchObject({ 'rpc.method': '_OTHER', 'error.type': 'UNIMPLEMENTED' });
    expect(points[0]?.value).toBe(1000);
    expect(await telemetry.points('rpc.client.active_requests')).toHaveLength(1);
    for (const p of await telemetry.collect()) {
      for (const key of Object.keys(p.attributes)) expect(METRIC_ATTRIBUTES.has(key)).toBe(true);
    }
  });

  it('malformed paths are _OTHER from the start, with the path as rpc.method_original', async () => {
    const h = await startOrders(telemetry);
    const generic = h.genericClient();
    expect((await rawUnary(generic, '/no-method'))?.code).toBe(grpc.status.UNIMPLEMENTED);
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.name).toBe('grpc');
    expect(span?.attributes).toMatchObject({ 'rpc.method': '_OTHER', 'rpc.method_original': '/no-method' });
  });

  it('a registered method without implementation is known to the server, _OTHER to the client', async () => {
    const server = new grpc.Server({
      interceptors: [
        otelGrpcServerInterceptor({
          tracerProvider: telemetry.tracerProvider,
          meterProvider: telemetry.meterProvider,
        }),
      ],
    });
    server.addService(Orders.service, {});
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const client = new Orders(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      interceptors: [otelGrpcClientInterceptor({ tracerProvider: telemetry.tracerProvider })],
    });
    try {
      const { error } = await getOrder(client, { id: '1' });
      expect(error?.code).toBe(grpc.status.UNIMPLEMENTED);
      const spans = await telemetry.waitForSpans(2);
      const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER);
      expect(serverSpan?.attributes).toMatchObject({
        'rpc.method': GET_ORDER,
        'error.type': 'UNIMPLEMENTED',
      });
      expect(serverSpan?.status.code).toBe(SpanStatusCode.ERROR);
      const clientSpan = spans.find((s) => s.kind === SpanKind.CLIENT);
      expect(clientSpan?.attributes).toMatchObject({
        'rpc.method': '_OTHER',
        'rpc.method_original': GET_ORDER,
      });
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});

describe('ignore', () => {
  it('health checks are ignored by default on both sides', async () => {
    const h = await startOrders(telemetry, { services: [health] });
    expect(await rawUnary(h.genericClient(), '/grpc.health.v1.Health/Check')).toBeNull();
    await getOrder(h.client, { id: '1' });
    const spans = await telemetry.waitForSpans(2);
    expect(spans.map((s) => s.name)).toEqual([GET_ORDER, GET_ORDER]);
    expect(await sumOf(telemetry, 'rpc.server.call.duration')).toBe(1);
  });

  it('ignore: [] traces health checks', async () => {
    const h = await startOrders(telemetry, { services: [health], server: { ignore: [] } });
    expect(await rawUnary(h.genericClient({ ignore: [] }), '/grpc.health.v1.Health/Check')).toBeNull();
    const spans = await telemetry.waitForSpans(2);
    expect(spans.map((s) => s.name)).toEqual(['grpc.health.v1.Health/Check', 'grpc.health.v1.Health/Check']);
  });

  it.each([
    ['an exact name', GET_ORDER],
    ['an exact path', `/${GET_ORDER}`],
    ['a service wildcard', 'tracewire.test.Orders/*'],
    ['a RegExp', /GetOrder$/],
    ['a predicate', (method: string) => method === GET_ORDER],
  ])('%s', async (_name, matcher) => {
    const h = await startOrders(telemetry, { server: { ignore: matcher }, client: { ignore: [matcher] } });
    await getOrder(h.client, { id: '1' });
    await readAll(h.client.watchOrders({ count: 1 }, new grpc.Metadata(), {}));
    // Everything but the ignored methods is traced: WatchOrders, unless the service is ignored.
    const expected = typeof matcher === 'string' && matcher.endsWith('*') ? [] : [WATCH_ORDERS, WATCH_ORDERS];
    await telemetry.waitForSpans(expected.length);
    await new Promise((r) => setTimeout(r, 20));
    expect(telemetry.spans().map((s) => s.name)).toEqual(expected);
    expect(await sumOf(telemetry, 'rpc.server.call.duration')).toBe(expected.length / 2);
  });

  it('a throwing predicate does not ignore, and is reported once', async () => {
    const h = await startOrders(telemetry, {
      server: {
        ignore: () => {
          throw new Error('bad predicate');
        },
      },
    });
    for (let i = 0; i < 3; i++) expect((await getOrder(h.client, { id: '1' })).error).toBeNull();
    await telemetry.waitForSpans(6);
    expect(diagMessages.filter((m) => m.includes('ignore hook threw'))).toHaveLength(1);
  });
});

describe('hooks', () => {
  it('see the call on both sides, for each call kind', async () => {
    const seen: string[] = [];
    const record = (side: string) => ({
      requestHook: (_span: unknown, info: GrpcRequestInfo) => {
        expect(info.metadata).toBeInstanceOf(grpc.Metadata);
        seen.push(`${side} request ${info.kind} ${info.method} ${info.path}`);
      },
      responseHook: (_span: unknown, info: GrpcResponseInfo) =>
        seen.push(`${side} response ${info.kind} ${info.code}`),
    });
    const h = await startOrders(telemetry, { server: record('server'), client: record('client') });
    await getOrder(h.client, { id: '1' });
    await readAll(h.client.watchOrders({ count: 1 }, new grpc.Metadata(), {}));
    await telemetry.waitForSpans(4);
    expect(seen.sort()).toEqual(
      [
        `client request unary ${GET_ORDER} /${GET_ORDER}`,
        `server request unary ${GET_ORDER} /${GET_ORDER}`,
        'client response unary 0',
        'server response unary 0',
        `client request server_stream ${WATCH_ORDERS} /${WATCH_ORDERS}`,
        `server request server_stream ${WATCH_ORDERS} /${WATCH_ORDERS}`,
        'client response server_stream 0',
        'server response server_stream 0',
      ].sort(),
    );
  });

  it('that throw change nothing for the call and are reported once per hook (T38)', async () => {
    const throwing = {
      requestHook: () => {
        throw new Error('request hook bug');
      },
      responseHook: () => {
        throw new Error('response hook bug');
      },
      publicEndpoint: () => {
        throw new Error('predicate bug');
      },
    };
    const { publicEndpoint, ...clientHooks } = throwing;
    const h = await startOrders(telemetry, { server: throwing, client: clientHooks });
    for (let i = 0; i < 3; i++) {
      const { error, response } = await getOrder(h.client, { id: String(i) });
      expect(error).toBeNull();
      expect(response?.id).toBe(String(i));
    }
    const spans = await telemetry.waitForSpans(6);
    expect(spans.every((s) => s.attributes['rpc.status_code'] === 'OK')).toBe(true);
    expect(await sumOf(telemetry, 'rpc.server.active_requests')).toBe(0);
    expect(await sumOf(telemetry, 'rpc.client.active_requests')).toBe(0);
    // Server and client each report each hook once (rate-limited per interceptor).
    expect(diagMessages.filter((m) => m.includes('requestHook hook threw'))).toHaveLength(2);
    expect(diagMessages.filter((m) => m.includes('responseHook hook threw'))).toHaveLength(2);
    expect(diagMessages.filter((m) => m.includes('publicEndpoint predicate threw'))).toHaveLength(1);
    // A throwing publicEndpoint predicate is the safe side: treated as public.
    expect(
      spans.filter((s) => s.kind === SpanKind.SERVER).every((s) => s.parentSpanContext === undefined),
    ).toBe(true);
  });
});

describe('metadata capture (T45)', () => {
  it('captures nothing by default, whatever the metadata', async () => {
    // As much as Node's HTTP/2 server accepts by default (128 header pairs, 64 KB): grpc-js
    // has no option to raise those, so 500 keys or 100 KB never reach an interceptor.
    let baggage: unknown;
    const h = await startOrders(telemetry, {
      impl: {
        getOrder(_call, callback) {
          baggage = propagation.getBaggage(context.active())?.getAllEntries().length;
          callback(null, { id: '1', ...activeIds() });
        },
      },
    });
    const md = new grpc.Metadata();
    for (let i = 0; i < 100; i++) md.set(`x-key-${i}`, `value-${i}`);
    md.set('authorization', 'Bearer secret');
    md.set('trace-bin', Buffer.from([1, 2, 3]));
    md.set('baggage', Array.from({ length: 2000 }, (_, i) => `k${i}=${'v'.repeat(20)}`).join(','));
    // Sent by an uninstrumented caller (the client interceptor would not forward that baggage).
    const { error } = await getOrder(h.newClient(null), { id: '1' }, md);
    expect(error).toBeNull();
    const spans = await telemetry.waitForSpans(1);
    for (const span of spans) {
      const keys = Object.keys(span.attributes);
      expect(keys.filter((k) => k.startsWith('rpc.request.') || k.startsWith('rpc.response.'))).toEqual([]);
      expect(JSON.stringify(span.attributes)).not.toContain('secret');
    }
    // The core propagator's budget: at most 180 baggage members.
    expect(baggage).toBeGreaterThan(0);
    expect(baggage).toBeLessThanOrEqual(180);
  });

  it('captures allow-listed keys only, values capped, binary values skipped', async () => {
    const capture = { request: ['X-Tenant', 'x-long', 'trace-bin'], response: ['x-served-by'] };
    const h = await startOrders(telemetry, {
      server: { captureMetadata: capture },
      client: { captureMetadata: capture },
      impl: {
        getOrder(call, callback) {
          const initial = new grpc.Metadata();
          initial.set('x-served-by', 'node-1');
          call.sendMetadata(initial);
          callback(null, { id: '1', ...activeIds() });
        },
      },
    });
    const md = new grpc.Metadata();
    md.add('x-tenant', 'acme');
    md.add('x-tenant', 'globex');
    md.set('x-long', 'y'.repeat(5000));
    md.set('trace-bin', Buffer.from([1, 2, 3]));
    md.set('authorization', 'Bearer secret');
    await getOrder(h.client, { id: '1' }, md);
    const spans = await telemetry.waitForSpans(2);
    for (const span of spans) {
      // Node's HTTP/2 server joins a repeated header into one value.
      expect(span.attributes['rpc.request.metadata.x-tenant']).toEqual(
        span.kind === SpanKind.SERVER ? ['acme, globex'] : ['acme', 'globex'],
      );
      expect(span.attributes['rpc.request.metadata.x-long']).toEqual(['y'.repeat(1024)]);
      expect(span.attributes['rpc.request.metadata.trace-bin']).toBeUndefined();
      expect(span.attributes['rpc.response.metadata.x-served-by']).toEqual(['node-1']);
      expect(JSON.stringify(span.attributes)).not.toContain('secret');
    }
  });
});

describe('validation', () => {
  it.each([
    [{ tracerProvider: {} }, /tracerProvider/],
    [{ ignore: [42] }, /ignore/],
    [{ requestHook: 'x' }, /requestHook/],
    [{ captureMetadata: ['x-tenant'] }, /captureMetadata/],
    [{ captureMetadata: { request: 'x-tenant' } }, /captureMetadata.request/],
    [{ publicEndpoint: 'yes' }, /publicEndpoint/],
    [{ redactErrorDetails: 'yes' }, /redactErrorDetails must be a boolean or a function/],
    [{ redactErrorDetails: null }, /redactErrorDetails must be a boolean or a function/],
    [{ officialServerSpan: 'mine' }, /officialServerSpan must be 'reuse' or 'own'/],
    [{ officialClientSpan: 'own' }, /officialClientSpan applies to the client interceptor only/],
  ])('server options %j throw a TypeError at creation', (options, message) => {
    expect(() => otelGrpcServerInterceptor(options as never)).toThrow(TypeError);
    expect(() => otelGrpcServerInterceptor(options as never)).toThrow(message);
  });

  it.each([
    [{ target: 50051 }, /target/],
    [{ propagateBaggage: 'yes' }, /propagateBaggage/],
    [{ publicEndpoint: true }, /server interceptor only/],
    [{ redactErrorDetails: true }, /redactErrorDetails applies to the server interceptor only/],
    [{ officialClientSpan: 'both' }, /officialClientSpan must be 'reuse' or 'own'/],
    [{ officialServerSpan: 'own' }, /officialServerSpan applies to the server interceptor only/],
    ['nope', /options must be an object/],
  ])('client options %j throw a TypeError at creation', (options, message) => {
    expect(() => otelGrpcClientInterceptor(options as never)).toThrow(message);
  });
});

describe('server.address on the client', () => {
  it.each([
    ['orders.internal:50051', { 'server.address': 'orders.internal', 'server.port': 50051 }],
    ['dns:///orders.internal:443', { 'server.address': 'orders.internal', 'server.port': 443 }],
    ['dns://8.8.8.8/orders.internal:8443', { 'server.address': 'orders.internal', 'server.port': 8443 }],
    ['[::1]:50051', { 'server.address': '::1', 'server.port': 50051 }],
    ['unix:///run/orders.sock', { 'server.address': '/run/orders.sock' }],
    ['ipv4:10.0.0.1:50051,10.0.0.2:50051', { 'server.address': 'ipv4:10.0.0.1:50051,10.0.0.2:50051' }],
    ['zk://zookeeper:2181/orders', { 'server.address': 'zk://zookeeper:2181/orders' }],
  ] as [string, Record<string, string | number>][])('target %s', async (target, expected) => {
    const h = await startOrders(telemetry, { client: { target } });
    await getOrder(h.client, { id: '1' });
    const spans = await telemetry.waitForSpans(2);
    const client = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    expect(client.attributes['server.address']).toBe(expected['server.address']);
    expect(client.attributes['server.port']).toBe(expected['server.port']);
    const [point] = await telemetry.points('rpc.client.call.duration');
    expect(point?.attributes['server.address']).toBe(expected['server.address']);
  });
});
