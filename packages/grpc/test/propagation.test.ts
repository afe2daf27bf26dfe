// Context propagation through metadata, on both sides.
import * as grpc from '@grpc/grpc-js';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { createTelemetry } from '@tracewire/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { otelGrpcClientInterceptor, otelGrpcServerInterceptor } from '../src/index.js';
import {
  activeIds,
  closeAll,
  deferred,
  GET_ORDER,
  getOrder,
  type OrdersClient,
  startOrders,
} from './harness.js';

const telemetry = createTelemetry();
const tracer = telemetry.tracerProvider.getTracer('test');

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

afterEach(async () => {
  await closeAll();
  telemetry.reset();
});
afterAll(() => telemetry.shutdown());

function servers(spans: ReadableSpan[]): ReadableSpan[] {
  return spans.filter((s) => s.kind === SpanKind.SERVER);
}

describe('client -> server -> nested client', () => {
  it('is one trace with the right parents at every hop', async () => {
    let nested: OrdersClient | undefined;
    const h = await startOrders(telemetry, {
      impl: {
        getOrder(call, callback) {
          if (call.request.mode !== 'nested') {
            callback(null, { id: call.request.id ?? '', ...activeIds() });
            return;
          }
          getOrder(nested!, { id: 'inner' }).then(({ error, response }) => callback(error, response));
        },
      },
    });
    nested = h.newClient();
    const root = tracer.startSpan('root');
    const { error, response } = await context.with(trace.setSpan(context.active(), root), () =>
      getOrder(h.client, { id: 'outer', mode: 'nested' }),
    );
    root.end();
    expect(error).toBeNull();
    const spans = await telemetry.waitForSpans(5);
    const traceIds = new Set(spans.map((s) => s.spanContext().traceId));
    expect(traceIds).toEqual(new Set([root.spanContext().traceId]));

    const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
    const outerClient = clients.find((c) => parentOf(c) === root.spanContext().spanId)!;
    const outerServer = servers(spans).find((s) => parentOf(s) === outerClient.spanContext().spanId)!;
    const innerClient = clients.find((c) => parentOf(c) === outerServer.spanContext().spanId)!;
    const innerServer = servers(spans).find((s) => parentOf(s) === innerClient.spanContext().spanId)!;
    for (const s of [outerClient, outerServer, innerClient, innerServer]) expect(s).toBeDefined();
    expect(outerServer.parentSpanContext?.isRemote).toBe(true);
    // The innermost handler reported the innermost server span as active.
    expect(response?.spanId).toBe(innerServer.spanContext().spanId);
  });
});

describe('reused Metadata', () => {
  it('one object for concurrent calls: each call carries its own parent, the object is not changed', async () => {
    const h = await startOrders(telemetry);
    const shared = new grpc.Metadata();
    shared.set('x-tenant', 'acme');
    const before = shared.toJSON();
    const roots = Array.from({ length: 5 }, (_, i) => tracer.startSpan(`root-${i}`));
    const results = await Promise.all(
      roots.map((root) =>
        context.with(trace.setSpan(context.active(), root), () => getOrder(h.client, { id: 'x' }, shared)),
      ),
    );
    for (const r of roots) r.end();
    expect(results.every((r) => r.error === null)).toBe(true);
    expect(shared.toJSON()).toEqual(before);
    expect(shared.get('traceparent')).toEqual([]);

    const spans = await telemetry.waitForSpans(15);
    for (const [i, root] of roots.entries()) {
      const client = spans.find(
        (s) => s.kind === SpanKind.CLIENT && s.parentSpanContext?.spanId === root.spanContext().spanId,
      );
      const server = servers(spans).find((s) => s.parentSpanContext?.spanId === client?.spanContext().spanId);
      expect(server?.spanContext().traceId).toBe(root.spanContext().traceId);
      // The handler of that very call saw that server span.
      expect(results[i]?.response?.spanId).toBe(server?.spanContext().spanId);
    }
  });

  it('a stale traceparent, tracestate and baggage in the caller metadata are replaced, not forwarded', async () => {
    let seen: { traceparent: unknown; tracestate: unknown; baggage: unknown } | undefined;
    const h = await startOrders(telemetry, {
      impl: {
        getOrder(call, callback) {
          seen = {
            traceparent: call.metadata.get('traceparent'),
            tracestate: call.metadata.get('tracestate'),
            baggage: call.metadata.get('baggage'),
          };
          callback(null, { id: '', ...activeIds() });
        },
      },
    });
    const forwarded = new grpc.Metadata();
    forwarded.set('traceparent', TRACEPARENT);
    forwarded.set('tracestate', 'vendor=stale');
    forwarded.set('baggage', 'user=mallory');
    await getOrder(h.client, { id: '1' }, forwarded);
    const spans = await telemetry.waitForSpans(2);
    const client = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    expect(seen?.traceparent).toEqual([
      `00-${client.spanContext().traceId}-${client.spanContext().spanId}-01`,
    ]);
    expect(client.spanContext().traceId).not.toBe(TRACE_ID);
    expect(seen?.tracestate).toEqual([]);
    expect(seen?.baggage).toEqual([]);
    expect(forwarded.get('traceparent')).toEqual([TRACEPARENT]);
  });
});

describe('incoming trace context on the server', () => {
  async function serverSpanFor(metadata: grpc.Metadata, options = {}): Promise<ReadableSpan> {
    const h = await startOrders(telemetry, { server: options, client: null });
    const { error } = await getOrder(h.client, { id: '1' }, metadata);
    expect(error).toBeNull();
    const [span] = await telemetry.waitForSpans(1);
    return span!;
  }

  it('a valid traceparent is continued', async () => {
    const md = new grpc.Metadata();
    md.set('traceparent', TRACEPARENT);
    md.set('tracestate', 'congo=t61rcWkgMzE');
    const span = await serverSpanFor(md);
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(span.spanContext().traceState?.get('congo')).toBe('t61rcWkgMzE');
  });

  it('a repeated traceparent restarts the trace', async () => {
    const md = new grpc.Metadata();
    md.add('traceparent', TRACEPARENT);
    md.add('traceparent', `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`);
    const span = await serverSpanFor(md);
    expect(span.spanContext().traceId).not.toBe(TRACE_ID);
    expect(span.spanContext().traceId).not.toBe('a'.repeat(32));
    expect(span.parentSpanContext).toBeUndefined();
  });

  it.each([
    ['uppercase', `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`],
    ['version ff', `ff-${TRACE_ID}-${PARENT_ID}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT_ID}-01`],
    ['trailing data', `${TRACEPARENT}-extra`],
  ])('an invalid traceparent (%s) restarts the trace', async (_name, value) => {
    const md = new grpc.Metadata();
    md.set('traceparent', value);
    const span = await serverSpanFor(md);
    expect(span.spanContext().traceId).not.toBe(TRACE_ID);
    expect(span.parentSpanContext).toBeUndefined();
  });

  it('publicEndpoint: a new root linked to the caller, and no baggage', async () => {
    let baggage: unknown = 'unset';
    const h = await startOrders(telemetry, {
      server: { publicEndpoint: true },
      client: null,
      impl: {
        getOrder(_call, callback) {
          baggage = propagation.getBaggage(context.active());
          callback(null, { id: '', ...activeIds() });
        },
      },
    });
    const md = new grpc.Metadata();
    md.set('traceparent', TRACEPARENT);
    md.set('baggage', 'user=alice');
    await getOrder(h.client, { id: '1' }, md);
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.spanContext().traceId).not.toBe(TRACE_ID);
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.links.map((l) => l.context.spanId)).toEqual([PARENT_ID]);
    expect(baggage).toBeUndefined();
  });

  it('without incoming context the span is a root, even if the server was started inside a span', async () => {
    const startup = tracer.startSpan('startup');
    const h = await context.with(trace.setSpan(context.active(), startup), () =>
      startOrders(telemetry, { client: null }),
    );
    startup.end();
    await getOrder(h.client, { id: '1' });
    const spans = await telemetry.waitForSpans(2);
    const server = servers(spans)[0];
    expect(server?.parentSpanContext).toBeUndefined();
    expect(server?.spanContext().traceId).not.toBe(startup.spanContext().traceId);
  });
});

describe('baggage', () => {
  async function baggageSeenByServer(propagateBaggage: boolean | undefined): Promise<unknown> {
    const seen = deferred<unknown>();
    const h = await startOrders(telemetry, {
      client: { propagateBaggage },
      impl: {
        getOrder(call, callback) {
          seen.resolve(call.metadata.get('baggage'));
          callback(null, { id: '', ...activeIds() });
        },
      },
    });
    const bag = propagation.createBaggage({ tenant: { value: 'acme' } });
    await context.with(propagation.setBaggage(context.active(), bag), () => getOrder(h.client, { id: '1' }));
    return seen.promise;
  }

  it('is not sent by default (T12)', async () => {
    expect(await baggageSeenByServer(undefined)).toEqual([]);
  });

  it('is sent with propagateBaggage: true', async () => {
    expect(await baggageSeenByServer(true)).toEqual(['tenant=acme']);
  });
});

describe('suppressed tracing', () => {
  it('calls made with tracing suppressed (exporters) get no client span and send no traceparent', async () => {
    const seen = deferred<unknown>();
    const h = await startOrders(telemetry, {
      server: null,
      impl: {
        getOrder(call, callback) {
          seen.resolve(call.metadata.get('traceparent'));
          callback(null, { id: '', ...activeIds() });
        },
      },
    });
    const suppressed = context
      .active()
      .setValue(Symbol.for('OpenTelemetry SDK Context Key SUPPRESS_TRACING'), true);
    const { error } = await context.with(suppressed, () => getOrder(h.client, { id: '1' }));
    expect(error).toBeNull();
    expect(await seen.promise).toEqual([]);
    expect(telemetry.spans()).toEqual([]);
  });
});

describe('double registration', () => {
  it('two server interceptors and two client interceptors still give one span per side', async () => {
    const providers = { tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider };
    const h = await startOrders(telemetry, {
      serverInterceptors: [otelGrpcServerInterceptor(providers)],
      clientInterceptors: [otelGrpcClientInterceptor(providers)],
    });
    const { error } = await getOrder(h.client, { id: '1' });
    expect(error).toBeNull();
    const spans = await telemetry.waitForSpans(2);
    await new Promise((r) => setTimeout(r, 20));
    expect(telemetry.spans().map((s) => [s.kind, s.name])).toEqual([
      [SpanKind.SERVER, GET_ORDER],
      [SpanKind.CLIENT, GET_ORDER],
    ]);
    expect(spans[0]?.parentSpanContext?.spanId).toBe(spans[1]?.spanContext().spanId);
  });
});
