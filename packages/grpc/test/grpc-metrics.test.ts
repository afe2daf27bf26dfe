// gRPC's own metric names (gRFC A66, `metricConventions: 'grpc' | 'both'`): every instrument with its
// type, unit, bucket boundaries and attributes as A66 lists them, `other` for unregistered methods,
// message sizes, and both conventions at once. Runs on every tested grpc-js line.
import * as grpc from '@grpc/grpc-js';
import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type HistogramMetricData,
  MeterProvider,
  type MetricData,
  MetricReader,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import { createTelemetry } from '@tracewire/testing';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { otelGrpcClientInterceptor, otelGrpcServerInterceptor } from '../src/index.js';
import { canonicalTarget } from '../src/internal/target.js';
import { GRPC_LATENCY_BUCKETS, GRPC_SIZE_BUCKETS, RPC_DURATION_BUCKETS } from '../src/semconv.js';
import {
  closeAll,
  diagMessages,
  GET_ORDER,
  getOrder,
  type Order,
  type OrderRequest,
  Orders,
  rawUnary,
  readAll,
  startOrders,
  UPLOAD_ORDERS,
  WATCH_ORDERS,
} from './harness.js';

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const telemetry = createTelemetry();
let reader: Reader;
let meterProvider: MeterProvider;

beforeEach(() => {
  reader = new Reader();
  meterProvider = new MeterProvider({ readers: [reader] });
});
afterEach(async () => {
  await closeAll();
  telemetry.reset();
  await meterProvider.shutdown();
  diagMessages.length = 0;
});
afterAll(() => telemetry.shutdown());

async function collect(): Promise<Map<string, MetricData>> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const out = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      expect(out.has(metric.descriptor.name), `${metric.descriptor.name} created once`).toBe(false);
      out.set(metric.descriptor.name, metric);
    }
  }
  return out;
}

/** The single metric `name`, checked against its A66 type and unit. */
function instrument<T extends MetricData>(
  metrics: Map<string, MetricData>,
  name: string,
  type: DataPointType,
  unit: string,
): T {
  const m = metrics.get(name);
  expect(m, name).toBeDefined();
  expect(m!.dataPointType, `${name} type`).toBe(type);
  expect(m!.descriptor.unit, `${name} unit`).toBe(unit);
  return m as T;
}

function sumPoints(m: SumMetricData): { attributes: Attributes; value: number }[] {
  return m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value }));
}

function histogramPoints(
  m: HistogramMetricData,
): { attributes: Attributes; count: number; sum: number | undefined; boundaries: number[] }[] {
  return m.dataPoints.map((p) => ({
    attributes: p.attributes,
    count: p.value.count,
    sum: p.value.sum,
    boundaries: p.value.buckets.boundaries,
  }));
}

const serverNames = [
  'grpc.server.call.started',
  'grpc.server.call.duration',
  'grpc.server.call.sent_total_compressed_message_size',
  'grpc.server.call.rcvd_total_compressed_message_size',
];
const clientNames = [
  'grpc.client.attempt.started',
  'grpc.client.attempt.duration',
  'grpc.client.call.duration',
  'grpc.client.attempt.sent_total_compressed_message_size',
  'grpc.client.attempt.rcvd_total_compressed_message_size',
];
const otelNames = [
  'rpc.server.call.duration',
  'rpc.server.active_requests',
  'rpc.client.call.duration',
  'rpc.client.active_requests',
];

const service = Orders.service as unknown as Record<
  string,
  {
    requestSerialize(v: OrderRequest): Buffer;
    responseSerialize(v: Partial<Order> | { count: number }): Buffer;
  }
>;
const requestSize = (method: string, request: OrderRequest): number =>
  service[method]!.requestSerialize(request).length;
const responseSize = (method: string, response: Partial<Order> | { count: number }): number =>
  service[method]!.responseSerialize(response).length;

describe('metricConventions option', () => {
  it('is validated when the interceptor is created', () => {
    for (const bad of ['OTEL', 'a66', '', 1, null, true, ['grpc']]) {
      expect(() => otelGrpcServerInterceptor({ metricConventions: bad as never })).toThrow(TypeError);
      expect(() => otelGrpcClientInterceptor({ metricConventions: bad as never })).toThrow(TypeError);
    }
    expect(() => otelGrpcServerInterceptor({ metricConventions: 'OTEL' as never })).toThrow(
      /metricConventions must be 'otel', 'grpc' or 'both', got "OTEL"/,
    );
    for (const ok of ['otel', 'grpc', 'both', undefined] as const) {
      expect(() => otelGrpcServerInterceptor({ metricConventions: ok })).not.toThrow();
      expect(() => otelGrpcClientInterceptor({ metricConventions: ok })).not.toThrow();
    }
  });

  it("defaults to 'otel': no grpc.* instrument", async () => {
    const h = await startOrders(telemetry, { server: { meterProvider }, client: { meterProvider } });
    expect((await getOrder(h.client, { id: '1' })).error).toBeNull();
    await telemetry.waitForSpans(2);
    const names = [...(await collect()).keys()].sort();
    expect(names).toEqual([...otelNames].sort());
  });
});

describe("metricConventions: 'grpc' (gRFC A66)", () => {
  it('a unary call: every instrument, unit, bucket set and attribute of A66', async () => {
    const h = await startOrders(telemetry, {
      server: { meterProvider, metricConventions: 'grpc' },
      client: { meterProvider, metricConventions: 'grpc' },
    });
    const request = { id: '12345' };
    const { error, response } = await getOrder(h.client, request);
    expect(error).toBeNull();
    await telemetry.waitForSpans(2);
    const metrics = await collect();
    // Exactly the A66 instruments: no rpc.* in this mode.
    expect([...metrics.keys()].sort()).toEqual([...serverNames, ...clientNames].sort());

    const method = { 'grpc.method': GET_ORDER };
    const target = { 'grpc.target': `dns:///127.0.0.1:${h.port}` };
    const ok = { 'grpc.status': 'OK' };
    // What the client serialized: protobufjs writes the fields the request object has.
    const reqBytes = requestSize('GetOrder', request);
    const resBytes = responseSize('GetOrder', response!);
    expect(reqBytes).toBeGreaterThan(0);
    expect(resBytes).toBeGreaterThan(32);

    // Server
    expect(sumPoints(instrument(metrics, 'grpc.server.call.started', DataPointType.SUM, '{call}'))).toEqual([
      { attributes: method, value: 1 },
    ]);
    const serverDuration = histogramPoints(
      instrument(metrics, 'grpc.server.call.duration', DataPointType.HISTOGRAM, 's'),
    );
    expect(serverDuration).toMatchObject([{ attributes: { ...method, ...ok }, count: 1 }]);
    expect(serverDuration[0]!.boundaries).toEqual([...GRPC_LATENCY_BUCKETS]);
    for (const [name, bytes] of [
      ['grpc.server.call.sent_total_compressed_message_size', resBytes],
      ['grpc.server.call.rcvd_total_compressed_message_size', reqBytes],
    ] as const) {
      const points = histogramPoints(instrument(metrics, name, DataPointType.HISTOGRAM, 'By'));
      expect(points, name).toEqual([
        { attributes: { ...method, ...ok }, count: 1, sum: bytes, boundaries: [...GRPC_SIZE_BUCKETS] },
      ]);
    }

    // Client
    expect(
      sumPoints(instrument(metrics, 'grpc.client.attempt.started', DataPointType.SUM, '{attempt}')),
    ).toEqual([{ attributes: { ...method, ...target }, value: 1 }]);
    for (const name of ['grpc.client.attempt.duration', 'grpc.client.call.duration']) {
      const points = histogramPoints(instrument(metrics, name, DataPointType.HISTOGRAM, 's'));
      expect(points, name).toMatchObject([{ attributes: { ...method, ...target, ...ok }, count: 1 }]);
      expect(points[0]!.boundaries).toEqual([...GRPC_LATENCY_BUCKETS]);
    }
    for (const [name, bytes] of [
      ['grpc.client.attempt.sent_total_compressed_message_size', reqBytes],
      ['grpc.client.attempt.rcvd_total_compressed_message_size', resBytes],
    ] as const) {
      const points = histogramPoints(instrument(metrics, name, DataPointType.HISTOGRAM, 'By'));
      expect(points, name).toEqual([
        {
          attributes: { ...method, ...target, ...ok },
          count: 1,
          sum: bytes,
          boundaries: [...GRPC_SIZE_BUCKETS],
        },
      ]);
    }
    expect(diagMessages).toEqual([]);
  });

  it('grpc.status is the code name of the status sent / received', async () => {
    const h = await startOrders(telemetry, {
      server: { meterProvider, metricConventions: 'grpc' },
      client: { meterProvider, metricConventions: 'grpc' },
      impl: {
        getOrder(call, callback) {
          if (call.request.mode === 'slow')
            setTimeout(() => callback(null, { id: 'late', traceId: '', spanId: '' }), 300);
          else callback({ code: grpc.status.NOT_FOUND, details: 'no such order' });
        },
      },
    });
    expect((await getOrder(h.client, { id: '1' })).error?.code).toBe(grpc.status.NOT_FOUND);
    const late = await getOrder(h.client, { id: '2', mode: 'slow' }, new grpc.Metadata(), {
      deadline: Date.now() + 50,
    });
    expect(late.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await telemetry.waitForSpans(4);
    const metrics = await collect();
    const statuses = (name: string) =>
      histogramPoints(metrics.get(name) as HistogramMetricData)
        .map((p) => p.attributes['grpc.status'])
        .sort();
    expect(statuses('grpc.server.call.duration')).toEqual(['DEADLINE_EXCEEDED', 'NOT_FOUND']);
    expect(statuses('grpc.client.attempt.duration')).toEqual(['DEADLINE_EXCEEDED', 'NOT_FOUND']);
    expect(statuses('grpc.client.call.duration')).toEqual(['DEADLINE_EXCEEDED', 'NOT_FOUND']);
  });

  it("an unregistered method is 'other' on the client and never reaches the server's", async () => {
    const h = await startOrders(telemetry, {
      server: { meterProvider, metricConventions: 'grpc' },
      client: null,
    });
    const generic = h.genericClient({ meterProvider, metricConventions: 'grpc', target: h.target });
    for (let i = 0; i < 2; i++) {
      expect((await rawUnary(generic, '/tracewire.test.Orders/NoSuchMethod'))?.code).toBe(
        grpc.status.UNIMPLEMENTED,
      );
    }
    const metrics = await collect();
    // grpc-js answers UNIMPLEMENTED before any server interceptor runs: nothing server-side.
    for (const name of serverNames) expect(metrics.has(name), name).toBe(false);
    const target = `dns:///${h.target}`;
    for (const name of clientNames.slice(1)) {
      expect(
        histogramPoints(metrics.get(name) as HistogramMetricData).map((p) => [p.attributes, p.count]),
        name,
      ).toEqual([[{ 'grpc.method': 'other', 'grpc.target': target, 'grpc.status': 'UNIMPLEMENTED' }, 2]]);
    }
    // The first attempt is counted before the answer, under the name; once the server said
    // UNIMPLEMENTED, the path is `other` from the start.
    expect(
      sumPoints(metrics.get('grpc.client.attempt.started') as SumMetricData).sort((a, b) =>
        String(a.attributes['grpc.method']).localeCompare(String(b.attributes['grpc.method'])),
      ),
    ).toEqual([
      { attributes: { 'grpc.method': 'other', 'grpc.target': target }, value: 1 },
      {
        attributes: { 'grpc.method': 'tracewire.test.Orders/NoSuchMethod', 'grpc.target': target },
        value: 1,
      },
    ]);
  });

  it('message sizes add up over streams, on both sides', async () => {
    const h = await startOrders(telemetry, {
      server: { meterProvider, metricConventions: 'grpc' },
      client: { meterProvider, metricConventions: 'grpc' },
    });
    // Client streaming: three requests of the same size.
    const requests = [{ id: 'a1' }, { id: 'b2' }, { id: 'c3' }];
    const summary = await new Promise<{ count: number }>((resolve, reject) => {
      const stream = h.client.uploadOrders(new grpc.Metadata(), {}, (error, value) =>
        error ? reject(error) : resolve(value as { count: number }),
      );
      for (const r of requests) stream.write(r);
      stream.end();
    });
    expect(summary.count).toBe(3);
    // Server streaming: three responses.
    const { messages, error } = await readAll(h.client.watchOrders({ count: 3 }, new grpc.Metadata(), {}));
    expect(error).toBeUndefined();
    expect(messages).toHaveLength(3);
    await telemetry.waitForSpans(4);
    const metrics = await collect();

    const uploadSent = requests.reduce((n, r) => n + requestSize('UploadOrders', r), 0);
    const uploadReply = responseSize('UploadOrders', summary);
    const watchRequest = requestSize('WatchOrders', { count: 3 });
    const watchReplies = messages.reduce((n, m) => n + responseSize('WatchOrders', m as Order), 0);
    const sums = (name: string) =>
      Object.fromEntries(
        histogramPoints(metrics.get(name) as HistogramMetricData).map((p) => [
          p.attributes['grpc.method'],
          [p.count, p.sum],
        ]),
      );
    expect(sums('grpc.client.attempt.sent_total_compressed_message_size')).toEqual({
      [UPLOAD_ORDERS]: [1, uploadSent],
      [WATCH_ORDERS]: [1, watchRequest],
    });
    expect(sums('grpc.server.call.rcvd_total_compressed_message_size')).toEqual({
      [UPLOAD_ORDERS]: [1, uploadSent],
      [WATCH_ORDERS]: [1, watchRequest],
    });
    expect(sums('grpc.server.call.sent_total_compressed_message_size')).toEqual({
      [UPLOAD_ORDERS]: [1, uploadReply],
      [WATCH_ORDERS]: [1, watchReplies],
    });
    expect(sums('grpc.client.attempt.rcvd_total_compressed_message_size')).toEqual({
      [UPLOAD_ORDERS]: [1, uploadReply],
      [WATCH_ORDERS]: [1, watchReplies],
    });
  });

  it("grpc.target is the canonical target, 'other' without the target option", () => {
    expect(canonicalTarget('orders:50051')).toBe('dns:///orders:50051');
    expect(canonicalTarget('localhost:50051')).toBe('dns:///localhost:50051');
    expect(canonicalTarget('dns:///orders.internal:443')).toBe('dns:///orders.internal:443');
    expect(canonicalTarget('unix:///run/orders.sock')).toBe('unix:///run/orders.sock');
    expect(canonicalTarget('ipv4:10.0.0.1:50051')).toBe('ipv4:10.0.0.1:50051');
    expect(canonicalTarget('[::1]:50051')).toBe('dns:///[::1]:50051');
    expect(canonicalTarget(undefined)).toBe('other');
    expect(canonicalTarget('x'.repeat(1000))).toHaveLength(256 + 'dns:///'.length);
  });
});

describe("metricConventions: 'both'", () => {
  it('records both conventions, each instrument once per call', async () => {
    const h = await startOrders(telemetry, {
      server: { meterProvider, metricConventions: 'both' },
      client: { meterProvider, metricConventions: 'both' },
    });
    for (let i = 0; i < 3; i++) expect((await getOrder(h.client, { id: String(i) })).error).toBeNull();
    await telemetry.waitForSpans(6);
    const metrics = await collect();
    expect([...metrics.keys()].sort()).toEqual([...otelNames, ...serverNames, ...clientNames].sort());
    for (const name of [
      'rpc.server.call.duration',
      'rpc.client.call.duration',
      ...serverNames.slice(1),
      ...clientNames.slice(1),
    ]) {
      const points = histogramPoints(metrics.get(name) as HistogramMetricData);
      expect(
        points.reduce((n, p) => n + p.count, 0),
        name,
      ).toBe(3);
    }
    expect(sumPoints(metrics.get('grpc.server.call.started') as SumMetricData)[0]?.value).toBe(3);
    expect(sumPoints(metrics.get('grpc.client.attempt.started') as SumMetricData)[0]?.value).toBe(3);
    for (const name of ['rpc.server.active_requests', 'rpc.client.active_requests']) {
      expect(sumPoints(metrics.get(name) as SumMetricData)[0]?.value, name).toBe(0);
    }
    // Each convention keeps its own names, attributes and buckets.
    const rpc = histogramPoints(metrics.get('rpc.server.call.duration') as HistogramMetricData)[0]!;
    expect(rpc.attributes).toEqual({
      'rpc.system.name': 'grpc',
      'rpc.method': GET_ORDER,
      'rpc.status_code': 'OK',
    });
    expect(rpc.boundaries).toEqual([...RPC_DURATION_BUCKETS]);
    const a66 = histogramPoints(metrics.get('grpc.server.call.duration') as HistogramMetricData)[0]!;
    expect(a66.attributes).toEqual({ 'grpc.method': GET_ORDER, 'grpc.status': 'OK' });
    expect(a66.boundaries).toEqual([...GRPC_LATENCY_BUCKETS]);
  });
});
