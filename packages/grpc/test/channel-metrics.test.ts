// instrumentGrpcChannel: connection metrics (gRFC A94's grpc.subchannel.*), active calls, and the
// calls waiting beyond the server's SETTINGS_MAX_CONCURRENT_STREAMS, on real grpc-js servers and
// clients with a real SDK meter provider.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { connect as http2Connect, createServer as http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Attributes, Meter, MeterProvider } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram as HistogramValue,
  MetricReader,
  MeterProvider as SdkMeterProvider,
} from '@opentelemetry/sdk-metrics';
import { createTelemetry } from '@tracewire/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ATTR_GRPC_TARGET } from '../src/channel-names.js';
import {
  ATTR_GRPC_DISCONNECT_ERROR,
  instrumentGrpcChannel,
  MAX_CHANNEL_TARGETS,
  METRIC_CHANNEL_ACTIVE_CALLS,
  METRIC_CHANNEL_STREAM_WAIT,
  METRIC_CHANNEL_WAITING_CALLS,
  METRIC_SUBCHANNEL_ATTEMPTS_FAILED,
  METRIC_SUBCHANNEL_ATTEMPTS_SUCCEEDED,
  METRIC_SUBCHANNEL_DISCONNECTIONS,
  METRIC_SUBCHANNEL_OPEN_CONNECTIONS,
  TARGET_OTHER,
} from '../src/index.js';
import {
  closeAll,
  deferred,
  diagMessages,
  getOrder,
  type Order,
  type OrderRequest,
  type OrdersClient,
  startOrders,
} from './harness.js';

// The interceptors of the harness report to this SDK; the channel metrics get their own provider
// per test (a hub per provider: a fresh target table every time).
const telemetry = createTelemetry();
afterAll(() => telemetry.shutdown());
afterEach(async () => {
  await closeAll();
  diagMessages.length = 0;
});

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

interface Point {
  name: string;
  attributes: Attributes;
  value: number;
  histogram?: HistogramValue;
}

/** A real SDK meter provider and its pull reader. */
function metricsSdk(): { provider: SdkMeterProvider; points(name: string): Promise<Point[]> } {
  const reader = new Reader();
  const provider = new SdkMeterProvider({ readers: [reader] });
  return {
    provider,
    async points(name) {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      const out: Point[] = [];
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          if (metric.descriptor.name !== name) continue;
          for (const p of metric.dataPoints as DataPoint<unknown>[]) {
            if (typeof p.value === 'number') out.push({ name, attributes: p.attributes, value: p.value });
            else {
              const histogram = p.value as HistogramValue;
              out.push({ name, attributes: p.attributes, value: histogram.count, histogram });
            }
          }
        }
      }
      return out;
    },
  };
}

type Sdk = ReturnType<typeof metricsSdk>;

async function sum(sdk: Sdk, name: string, target: string, filter: (a: Attributes) => boolean = () => true) {
  const points = await sdk.points(name);
  return points
    .filter((p) => p.attributes[ATTR_GRPC_TARGET] === target && filter(p.attributes))
    .reduce((n, p) => n + p.value, 0);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` passes (or fails with its last error after `timeoutMs`). */
async function eventually(check: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}

/**
 * Whether this Node.js publishes `http2.client.stream.created` (added in 2025; older lines of the
 * `engines` range do not): the stream wait metrics exist only where it does.
 */
async function nodePublishesStreamCreated(): Promise<boolean> {
  const server = http2Server((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let seen = false;
  const onCreated = () => {
    seen = true;
  };
  subscribe('http2.client.stream.created', onCreated);
  const session = http2Connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    await new Promise<void>((resolve, reject) => {
      const request = session.request({ ':path': '/' });
      request.on('error', reject);
      request.on('close', () => resolve());
      request.resume();
      request.end();
    });
  } finally {
    unsubscribe('http2.client.stream.created', onCreated);
    session.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return seen;
}

let STREAMS = false;
/** diag output other than the documented "this Node.js does not publish" notice. */
const unexpectedDiag = () => diagMessages.filter((m) => !m.includes('does not publish'));
beforeAll(async () => {
  STREAMS = await nodePublishesStreamCreated();
});

const slowGetOrder = (ms: number): grpc.handleUnaryCall<OrderRequest, Order> =>
  function getOrder(call, callback) {
    setTimeout(() => callback(null, { id: call.request.id ?? '', traceId: '', spanId: '' }), ms);
  };

describe('instrumentGrpcChannel: stream capacity', () => {
  it('counts the calls beyond the server stream limit and how long they waited', async () => {
    const h = await startOrders(telemetry, {
      serverOptions: { 'grpc.max_concurrent_streams': 2 },
      impl: { getOrder: slowGetOrder(200) },
    });
    const sdk = metricsSdk();
    const client = h.newClient();
    const handle = instrumentGrpcChannel(client, { meterProvider: sdk.provider });
    const target = handle.target;
    expect(target).toBe(`dns:///${h.target}`);

    let done = false;
    let peakWaiting = 0;
    let peakActive = 0;
    const sampler = (async () => {
      while (!done) {
        peakWaiting = Math.max(peakWaiting, await sum(sdk, METRIC_CHANNEL_WAITING_CALLS, target));
        peakActive = Math.max(peakActive, await sum(sdk, METRIC_CHANNEL_ACTIVE_CALLS, target));
        await sleep(10);
      }
    })();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => getOrder(client, { id: String(i) })),
    );
    done = true;
    await sampler;
    expect(results.map((r) => r.error?.code ?? 0)).toEqual(Array(10).fill(0));

    expect(peakActive).toBe(10);
    expect(await sum(sdk, METRIC_CHANNEL_ACTIVE_CALLS, target)).toBe(0);
    expect(await sum(sdk, METRIC_SUBCHANNEL_OPEN_CONNECTIONS, target)).toBe(1);
    expect(await sum(sdk, METRIC_SUBCHANNEL_ATTEMPTS_SUCCEEDED, target)).toBe(1);
    expect(await sum(sdk, METRIC_SUBCHANNEL_ATTEMPTS_FAILED, target)).toBe(0);

    if (STREAMS) {
      // One HTTP/2 connection, a limit of 2: 8 of the 10 streams wait, then all of them ran.
      expect(peakWaiting).toBe(8);
      expect(await sum(sdk, METRIC_CHANNEL_WAITING_CALLS, target)).toBe(0);
      const [wait] = (await sdk.points(METRIC_CHANNEL_STREAM_WAIT)).filter(
        (p) => p.attributes[ATTR_GRPC_TARGET] === target,
      );
      const histogram = wait?.histogram;
      expect(histogram?.count).toBe(10);
      // Two streams opened at once; the other eight waited for 1, 2, 3, 4 handler turns (200 ms).
      expect(histogram?.buckets.counts[0]).toBe(2); // the `<= 0` bucket
      const boundaries = histogram?.buckets.boundaries ?? [];
      const over100ms = (histogram?.buckets.counts ?? []).reduce(
        (n, c, i) => (i > 0 && (boundaries[i - 1] ?? 0) >= 0.1 ? n + c : n),
        0,
      );
      expect(over100ms).toBe(8);
      expect(histogram?.max ?? 0).toBeGreaterThanOrEqual(0.7);
      // 2 × (0.2 + 0.4 + 0.6 + 0.8) = 4 s if every handler took exactly 200 ms.
      expect(histogram?.sum ?? 0).toBeGreaterThanOrEqual(3.6);
    } else {
      expect(await sdk.points(METRIC_CHANNEL_WAITING_CALLS)).toEqual([]);
    }

    client.close();
    await eventually(async () => {
      expect(await sum(sdk, METRIC_SUBCHANNEL_OPEN_CONNECTIONS, target)).toBe(0);
      expect(await sum(sdk, METRIC_CHANNEL_ACTIVE_CALLS, target)).toBe(0);
      expect(
        await sum(
          sdk,
          METRIC_SUBCHANNEL_DISCONNECTIONS,
          target,
          (a) => a[ATTR_GRPC_DISCONNECT_ERROR] === 'subchannel shutdown',
        ),
      ).toBe(1);
    });
    expect(unexpectedDiag()).toEqual([]);
  });

  it('a waiting call that is cancelled leaves the waiting count and records no wait', async () => {
    const h = await startOrders(telemetry, {
      serverOptions: { 'grpc.max_concurrent_streams': 1 },
      impl: { getOrder: slowGetOrder(300) },
    });
    const sdk = metricsSdk();
    const client = h.newClient(null);
    const { target } = instrumentGrpcChannel(client, { meterProvider: sdk.provider });
    // Connect first, so both calls get their streams at once.
    expect((await getOrder(client, { id: 'warm' }, undefined, {})).error).toBeNull();
    const first = getOrder(client, { id: '1' });
    const second = new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.getOrder({ id: '2' }, new grpc.Metadata(), {}, (error) => resolve(error));
      setTimeout(() => call.cancel(), 50);
    });
    expect((await second)?.code).toBe(grpc.status.CANCELLED);
    expect((await first).error).toBeNull();
    if (STREAMS) {
      await eventually(async () => {
        expect(await sum(sdk, METRIC_CHANNEL_WAITING_CALLS, target)).toBe(0);
      });
      // The warm-up call and call 1 opened at once; the cancelled call never opened.
      expect(await sum(sdk, METRIC_CHANNEL_STREAM_WAIT, target)).toBe(2);
    }
    expect(unexpectedDiag()).toEqual([]);
  });
});

describe('instrumentGrpcChannel: connections', () => {
  for (const mode of ['tryShutdown', 'forceShutdown'] as const) {
    it(`counts the disconnection when the server goes away (${mode}), then the failed attempts`, async () => {
      const h = await startOrders(telemetry);
      const sdk = metricsSdk();
      const client = h.newClient();
      const { target } = instrumentGrpcChannel(client, { meterProvider: sdk.provider });
      expect((await getOrder(client, { id: '1' })).error).toBeNull();
      expect(await sum(sdk, METRIC_SUBCHANNEL_OPEN_CONNECTIONS, target)).toBe(1);
      expect(await sum(sdk, METRIC_SUBCHANNEL_ATTEMPTS_SUCCEEDED, target)).toBe(1);

      if (mode === 'tryShutdown') await new Promise<void>((resolve) => h.server.tryShutdown(() => resolve()));
      else h.server.forceShutdown();
      await eventually(async () => {
        expect(await sum(sdk, METRIC_SUBCHANNEL_DISCONNECTIONS, target)).toBe(1);
        expect(await sum(sdk, METRIC_SUBCHANNEL_OPEN_CONNECTIONS, target)).toBe(0);
      });
      const [disconnection] = (await sdk.points(METRIC_SUBCHANNEL_DISCONNECTIONS)).filter(
        (p) => p.attributes[ATTR_GRPC_TARGET] === target,
      );
      const reason = disconnection?.attributes[ATTR_GRPC_DISCONNECT_ERROR];
      // A graceful shutdown sends GOAWAY NO_ERROR; forceShutdown destroys the sessions (measured:
      // GOAWAY NO_ERROR as well on both lines, but the socket may also just close).
      if (mode === 'tryShutdown') expect(reason).toBe('GOAWAY NO_ERROR');
      else expect(['GOAWAY NO_ERROR', 'GOAWAY CANCEL', 'unknown']).toContain(reason);

      // The port is closed now: calls fail, and so do the connection attempts they trigger.
      const failed = await getOrder(client, { id: '2' }, new grpc.Metadata(), {
        deadline: Date.now() + 3000,
      });
      expect(failed.error?.code).toBe(grpc.status.UNAVAILABLE);
      await eventually(async () => {
        expect(await sum(sdk, METRIC_SUBCHANNEL_ATTEMPTS_FAILED, target)).toBeGreaterThanOrEqual(1);
      });
      expect(await sum(sdk, METRIC_SUBCHANNEL_ATTEMPTS_SUCCEEDED, target)).toBe(1);
      expect(await sum(sdk, METRIC_SUBCHANNEL_OPEN_CONNECTIONS, target)).toBe(0);
      expect(await sum(sdk, METRIC_CHANNEL_ACTIVE_CALLS, target)).toBe(0);
      client.close();
      expect(unexpectedDiag()).toEqual([]);
    });
  }

  it('counts a failed attempt for a channel to a port nobody listens on', async () => {
    // A port that was just free: bind a server, note the port, shut it down.
    const h = await startOrders(telemetry);
    const deadTarget = h.target;
    h.server.forceShutdown();
    const sdk = metricsSdk();
    const client = new grpc.Client(deadTarget, grpc.credentials.createInsecure());
    const { target } = instrumentGrpcChannel(client, { meterProvider: sdk.provider });
    const error = await new Promise<Error | undefined>((resolve) =>
      client.waitForReady(Date.now() + 1000, (e) => resolve(e)),
    );
    expect(error).toBeInstanceOf(Error);
    expect(await sum(sdk, METRIC_SUBCHANNEL_ATTEMPTS_FAILED, target)).toBeGreaterThanOrEqual(1);
    expect(await sum(sdk, METRIC_SUBCHANNEL_ATTEMPTS_SUCCEEDED, target)).toBe(0);
    expect(await sum(sdk, METRIC_SUBCHANNEL_OPEN_CONNECTIONS, target)).toBe(0);
    client.close();
  });

  it('a connection open before instrumenting counts as open, and is released by handle.close()', async () => {
    const h = await startOrders(telemetry);
    const client = h.newClient(null);
    expect((await getOrder(client, { id: '1' })).error).toBeNull();
    const sdk = metricsSdk();
    const handle = instrumentGrpcChannel(client, { meterProvider: sdk.provider });
    const target = handle.target;
    expect(instrumentGrpcChannel(client, { meterProvider: sdk.provider })).toBe(handle);
    expect(await sum(sdk, METRIC_SUBCHANNEL_OPEN_CONNECTIONS, target)).toBe(1);
    expect(await sum(sdk, METRIC_SUBCHANNEL_ATTEMPTS_SUCCEEDED, target)).toBe(0);
    handle.close();
    handle.close();
    expect(await sum(sdk, METRIC_SUBCHANNEL_OPEN_CONNECTIONS, target)).toBe(0);
    // Not measured any more.
    client.close();
    await sleep(50);
    expect(await sum(sdk, METRIC_SUBCHANNEL_DISCONNECTIONS, target)).toBe(0);
  });
});

describe('instrumentGrpcChannel: hostile conditions', () => {
  it('10,000 distinct targets keep the series bounded', async () => {
    const sdk = metricsSdk();
    const clients: grpc.Client[] = [];
    try {
      // Channels are lazy: nothing connects until a call (or tryToConnect). `ipv4:` targets need no
      // DNS resolver per channel.
      for (let i = 0; i < 10_000; i++) {
        const client = new grpc.Client(`ipv4:127.0.0.1:${20_000 + i}`, grpc.credentials.createInsecure());
        clients.push(client);
        const handle = instrumentGrpcChannel(client, { meterProvider: sdk.provider });
        if (i >= MAX_CHANNEL_TARGETS) expect(handle.target).toBe(TARGET_OTHER);
      }
      const points = await sdk.points(METRIC_CHANNEL_ACTIVE_CALLS);
      const targets = new Set(points.map((p) => p.attributes[ATTR_GRPC_TARGET]));
      expect(points.length).toBe(MAX_CHANNEL_TARGETS + 1);
      expect(targets.size).toBe(MAX_CHANNEL_TARGETS + 1);
      expect(targets.has(TARGET_OTHER)).toBe(true);
      expect(diagMessages.filter((m) => m.includes('channel targets'))).toHaveLength(1);
    } finally {
      for (const client of clients) client.close();
    }
    // Closed channels report 0 under their (bounded) targets.
    const points = await sdk.points(METRIC_CHANNEL_ACTIVE_CALLS);
    expect(points.length).toBe(MAX_CHANNEL_TARGETS + 1);
    expect(points.every((p) => p.value === 0)).toBe(true);
  });

  it('a channel closed in the middle of a call', async () => {
    const entered = deferred();
    const h = await startOrders(telemetry, {
      impl: {
        getOrder(call, callback) {
          entered.resolve();
          setTimeout(() => callback(null, { id: call.request.id ?? '', traceId: '', spanId: '' }), 300);
        },
      },
    });
    const sdk = metricsSdk();
    const client: OrdersClient = h.newClient();
    const { target } = instrumentGrpcChannel(client, { meterProvider: sdk.provider });
    const call = getOrder(client, { id: '1' });
    // The call is on the connection (the handler runs) when the channel is closed.
    await entered.promise;
    expect(await sum(sdk, METRIC_CHANNEL_ACTIVE_CALLS, target)).toBe(1);
    client.close();
    const result = await call;
    // grpc-js lets a call already on a connection finish after close().
    expect(result.error).toBeNull();
    await eventually(async () => {
      expect(await sum(sdk, METRIC_SUBCHANNEL_OPEN_CONNECTIONS, target)).toBe(0);
      expect(await sum(sdk, METRIC_CHANNEL_ACTIVE_CALLS, target)).toBe(0);
      expect(await sum(sdk, METRIC_SUBCHANNEL_DISCONNECTIONS, target)).toBe(1);
      if (STREAMS) expect(await sum(sdk, METRIC_CHANNEL_STREAM_WAIT, target)).toBe(1);
    });
    expect(await sum(sdk, METRIC_CHANNEL_WAITING_CALLS, target)).toBe(0);
    expect(unexpectedDiag()).toEqual([]);
  });

  it('a throwing meter provider or instruments do not break calls', async () => {
    const h = await startOrders(telemetry, {
      serverOptions: { 'grpc.max_concurrent_streams': 2 },
      impl: { getOrder: slowGetOrder(20) },
    });
    const boom = () => {
      throw new Error('boom');
    };
    const throwingProvider = { getMeter: boom } as unknown as MeterProvider;
    const meterOf = (instrument: object) =>
      ({
        createCounter: () => instrument,
        createUpDownCounter: () => instrument,
        createHistogram: () => instrument,
        createGauge: () => instrument,
        createObservableUpDownCounter: () => instrument,
        createObservableCounter: () => instrument,
        createObservableGauge: () => instrument,
        addBatchObservableCallback: boom,
        removeBatchObservableCallback: boom,
      }) as unknown as Meter;
    // A meter whose observable instrument cannot take a callback, and one whose instruments throw.
    const noCallbacks = meterOf({ add: boom, record: boom, addCallback: boom, removeCallback: boom });
    const throwingAdd = meterOf({ add: boom, record: boom, addCallback: () => {}, removeCallback: () => {} });
    const providers = [
      throwingProvider,
      { getMeter: () => noCallbacks } as unknown as MeterProvider,
      { getMeter: () => throwingAdd } as unknown as MeterProvider,
    ];
    for (const provider of providers) {
      const client = h.newClient(null);
      instrumentGrpcChannel(client, { meterProvider: provider });
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => getOrder(client, { id: String(i) })),
      );
      expect(results.map((r) => r.error)).toEqual(Array(6).fill(null));
      client.close();
      await sleep(20);
    }
    // Reported through diag, rate-limited.
    expect(diagMessages.some((m) => m.includes('boom'))).toBe(true);
  });

  it('rejects what is not a client or channel, and bad options, at creation', () => {
    expect(() => instrumentGrpcChannel({} as unknown as grpc.Client)).toThrow(TypeError);
    expect(() => instrumentGrpcChannel(null as unknown as grpc.Client)).toThrow(TypeError);
    const client = new grpc.Client('127.0.0.1:1', grpc.credentials.createInsecure());
    try {
      expect(() => instrumentGrpcChannel(client, { meterProvider: {} as unknown as MeterProvider })).toThrow(
        TypeError,
      );
      expect(() => instrumentGrpcChannel(client, 'x' as never)).toThrow(TypeError);
      // A channel works as well as a client.
      const sdk = metricsSdk();
      const handle = instrumentGrpcChannel(client.getChannel(), { meterProvider: sdk.provider });
      expect(instrumentGrpcChannel(client, { meterProvider: sdk.provider })).toBe(handle);
    } finally {
      client.close();
    }
  });

  it('a channel without channelz still gets its connection metrics', async () => {
    const h = await startOrders(telemetry);
    const sdk = metricsSdk();
    const client = h.newClient(null, { 'grpc.enable_channelz': 0 });
    const { target } = instrumentGrpcChannel(client, { meterProvider: sdk.provider });
    expect((await getOrder(client, { id: '1' })).error).toBeNull();
    expect(await sum(sdk, METRIC_SUBCHANNEL_OPEN_CONNECTIONS, target)).toBe(1);
    expect(await sum(sdk, METRIC_SUBCHANNEL_ATTEMPTS_SUCCEEDED, target)).toBe(1);
    expect(await sum(sdk, METRIC_CHANNEL_WAITING_CALLS, target)).toBe(0);
    expect(diagMessages.some((m) => m.includes('grpc.enable_channelz: 0'))).toBe(true);
    client.close();
  });
});
