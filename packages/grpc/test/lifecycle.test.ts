// End paths: deadline, client cancel, channel close, server shutdown, and many calls. Each call ends
// its span exactly once per side, records one duration and returns the in-flight counter to zero.
import * as grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { createTelemetry } from '@tracewire/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  activeIds,
  closeAll,
  deferred,
  diagMessages,
  getOrder,
  type Harness,
  type OrderRequest,
  readAll,
  startOrders,
  sumOf,
} from './harness.js';

const telemetry = createTelemetry();

afterEach(async () => {
  await closeAll();
  telemetry.reset();
  diagMessages.length = 0;
});
afterAll(() => telemetry.shutdown());

function one(spans: ReadableSpan[], kind: SpanKind): ReadableSpan {
  const matching = spans.filter((s) => s.kind === kind);
  expect(matching).toHaveLength(1);
  return matching[0]!;
}

async function histogram(name: string): Promise<{ count: number; sum: number }> {
  const points = await telemetry.points(name);
  return {
    count: points.reduce((n, p) => n + p.value, 0),
    sum: points.reduce((n, p) => n + (p.sum ?? 0), 0),
  };
}

/** Lets pending callbacks (nextTick, immediates, I/O) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}

describe('deadline (T39)', () => {
  // 150 ms rather than less: client and server share one event loop, and on a loaded 2-core machine a
  // stall longer than the deadline lets the RST_STREAM reach the server with the HEADERS, so grpc-js
  // never starts the call there (no server span, legitimately).
  it('a 150 ms client deadline against a 700 ms handler', async () => {
    const late = deferred<unknown[]>();
    const h = await startOrders(telemetry, {
      impl: {
        getOrder(_call, callback) {
          setTimeout(() => {
            const thrown: unknown[] = [];
            try {
              callback(null, { id: 'late', ...activeIds() });
            } catch (error) {
              thrown.push(error);
            }
            late.resolve(thrown);
          }, 700);
        },
      },
    });
    const { error } = await getOrder(h.client, { id: '1' }, new grpc.Metadata(), {
      deadline: Date.now() + 150,
    });
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);

    const spans = await telemetry.waitForSpans(2);
    const client = one(spans, SpanKind.CLIENT);
    expect(client.status.code).toBe(SpanStatusCode.ERROR);
    expect(client.attributes).toMatchObject({
      'rpc.grpc.status_code': 4,
      'rpc.status_code': 'DEADLINE_EXCEEDED',
      'error.type': 'DEADLINE_EXCEEDED',
    });
    const clientDuration = await histogram('rpc.client.call.duration');
    expect(clientDuration.count).toBe(1);
    // Seconds, and ended at the deadline rather than when the handler finished.
    expect(clientDuration.sum).toBeGreaterThanOrEqual(0.14);
    expect(clientDuration.sum).toBeLessThan(0.65);

    const server = one(spans, SpanKind.SERVER);
    expect(server.status.code).toBe(SpanStatusCode.ERROR);
    expect(server.attributes['rpc.status_code']).toBe('DEADLINE_EXCEEDED');
    expect(await sumOf(telemetry, 'rpc.server.active_requests')).toBe(0);
    expect(await sumOf(telemetry, 'rpc.client.active_requests')).toBe(0);

    // The late callback neither throws nor touches the ended span.
    expect(await late.promise).toEqual([]);
    await settle();
    expect(telemetry.spans()).toHaveLength(2);
    expect((await histogram('rpc.server.call.duration')).count).toBe(1);
    expect(await sumOf(telemetry, 'rpc.server.active_requests')).toBe(0);
    expect(diagMessages).toEqual([]);
  });
});

describe('client cancel', () => {
  it('of an infinite server stream: server span ends CANCELLED, in-flight back to 0, later writes do not throw', async () => {
    const afterCancel = deferred<{ thrown: unknown[]; writes: number }>();
    const h = await startOrders(telemetry, {
      impl: {
        watchOrders(call) {
          const thrown: unknown[] = [];
          let cancelled = false;
          let writesAfterCancel = 0;
          call.on('cancelled', () => {
            cancelled = true;
          });
          const timer = setInterval(() => {
            try {
              call.write({ id: 'tick', ...activeIds() });
            } catch (error) {
              thrown.push(error);
            }
            if (cancelled && ++writesAfterCancel === 3) {
              clearInterval(timer);
              afterCancel.resolve({ thrown, writes: writesAfterCancel });
            }
          }, 2);
        },
      },
    });
    const stream = h.client.watchOrders({}, new grpc.Metadata(), {});
    let received = 0;
    stream.on('data', () => {
      if (++received === 3) stream.cancel();
    });
    const { error } = await readAll(stream);
    expect(error?.code).toBe(grpc.status.CANCELLED);

    const spans = await telemetry.waitForSpans(2);
    const server = one(spans, SpanKind.SERVER);
    expect(server.attributes['rpc.status_code']).toBe('CANCELLED');
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    const client = one(spans, SpanKind.CLIENT);
    expect(client.attributes['rpc.status_code']).toBe('CANCELLED');
    expect(client.status.code).toBe(SpanStatusCode.ERROR);
    expect(await sumOf(telemetry, 'rpc.server.active_requests')).toBe(0);
    expect(await sumOf(telemetry, 'rpc.client.active_requests')).toBe(0);

    expect(await afterCancel.promise).toEqual({ thrown: [], writes: 3 });
    await settle();
    expect(telemetry.spans()).toHaveLength(2);
    expect((await histogram('rpc.server.call.duration')).count).toBe(1);
    expect((await histogram('rpc.client.call.duration')).count).toBe(1);
    expect(diagMessages).toEqual([]);
  });

  it('of a unary call in flight', async () => {
    const cancelled = deferred();
    const h = await startOrders(telemetry, {
      impl: {
        getOrder(call) {
          call.on('cancelled', () => cancelled.resolve());
        },
      },
    });
    const error = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = h.client.getOrder({ id: '1' }, new grpc.Metadata(), {}, (e) => resolve(e));
      setTimeout(() => call.cancel(), 20);
    });
    expect(error?.code).toBe(grpc.status.CANCELLED);
    await cancelled.promise;
    const spans = await telemetry.waitForSpans(2);
    expect(one(spans, SpanKind.SERVER).attributes['rpc.status_code']).toBe('CANCELLED');
    expect(one(spans, SpanKind.CLIENT).attributes['error.type']).toBe('CANCELLED');
    expect(await sumOf(telemetry, 'rpc.server.active_requests')).toBe(0);
  });
});

describe('statuses grpc-js sends by itself (T44)', () => {
  it('a message above grpc.max_receive_message_length: the span records RESOURCE_EXHAUSTED, not CANCELLED', async () => {
    let handlerCalled = false;
    const h = await startOrders(telemetry, {
      serverOptions: { 'grpc.max_receive_message_length': 64 },
      impl: {
        getOrder(_call, callback) {
          handlerCalled = true;
          callback(null, { id: '', ...activeIds() });
        },
      },
    });
    const { error } = await getOrder(h.client, { id: 'x'.repeat(1000) });
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(handlerCalled).toBe(false);
    const spans = await telemetry.waitForSpans(2);
    const server = one(spans, SpanKind.SERVER);
    expect(server.attributes['rpc.status_code']).toBe('RESOURCE_EXHAUSTED');
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    expect(JSON.stringify(server.attributes)).not.toContain('xxxx');
    expect(one(spans, SpanKind.CLIENT).attributes['rpc.status_code']).toBe('RESOURCE_EXHAUSTED');
    expect(await sumOf(telemetry, 'rpc.server.active_requests')).toBe(0);
  });
});

describe('connection loss', () => {
  async function chatUntilFirstEcho(h: Harness, client = h.client) {
    const stream = client.chat(new grpc.Metadata(), {});
    const done = readAll(stream);
    const first = deferred();
    stream.once('data', () => first.resolve());
    stream.write({ id: 'a' });
    await first.promise;
    return { stream, done };
  }

  it('channel.close() mid-bidi: the open call completes normally, each side ends once with OK', async () => {
    const h = await startOrders(telemetry);
    const client = h.newClient();
    const { stream, done } = await chatUntilFirstEcho(h, client);
    client.getChannel().close();
    stream.write({ id: 'b' });
    stream.end();
    const { messages, error } = await done;
    expect(error).toBeUndefined();
    expect(messages.map((m) => m.id)).toEqual(['a', 'b']);
    const spans = await telemetry.waitForSpans(2);
    expect(one(spans, SpanKind.SERVER).attributes['rpc.status_code']).toBe('OK');
    expect(one(spans, SpanKind.CLIENT).attributes['rpc.status_code']).toBe('OK');
    await settle();
    expect(telemetry.spans()).toHaveLength(2);
    expect(await sumOf(telemetry, 'rpc.server.active_requests')).toBe(0);
    expect(await sumOf(telemetry, 'rpc.client.active_requests')).toBe(0);
    // A new call on the closed channel throws synchronously (grpc-js): unchanged by the
    // interceptor, and no span is left open since a span only starts when the call starts.
    expect(() => client.getOrder({ id: 'x' }, new grpc.Metadata(), {}, () => {})).toThrow(/shut down/);
    await settle();
    expect(telemetry.spans()).toHaveLength(2);
    expect(await sumOf(telemetry, 'rpc.client.active_requests')).toBe(0);
  });

  it('server.forceShutdown() mid-bidi: both spans end once, the server one CANCELLED', async () => {
    const h = await startOrders(telemetry);
    const { done } = await chatUntilFirstEcho(h);
    h.server.forceShutdown();
    const { error } = await done;
    expect(error).toBeDefined();
    const spans = await telemetry.waitForSpans(2);
    const server = one(spans, SpanKind.SERVER);
    expect(server.attributes['rpc.status_code']).toBe('CANCELLED');
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    const client = one(spans, SpanKind.CLIENT);
    expect(client.status.code).toBe(SpanStatusCode.ERROR);
    expect(client.attributes['rpc.grpc.status_code']).toBe(error?.code);
    await settle();
    expect(telemetry.spans()).toHaveLength(2);
    expect(await sumOf(telemetry, 'rpc.server.active_requests')).toBe(0);
    expect(await sumOf(telemetry, 'rpc.client.active_requests')).toBe(0);
  });
});

describe('many calls (T41)', () => {
  it('1000 client-streaming and bidi calls, some failing: one end each, counters balanced', async () => {
    const h = await startOrders(telemetry, {
      impl: {
        uploadOrders(call, callback) {
          let count = 0;
          call.on('data', (r: OrderRequest) => {
            count++;
            if (r.mode === 'fail') callback({ code: grpc.status.INTERNAL, details: 'db' });
          });
          call.on('end', () => callback(null, { count }));
        },
      },
    });
    const upload = (i: number) =>
      new Promise<void>((resolve) => {
        const stream = h.client.uploadOrders(new grpc.Metadata(), {}, () => resolve());
        stream.write({ id: String(i), mode: i % 10 === 0 ? 'fail' : '' });
        stream.end();
      });
    const chat = async (i: number) => {
      const stream = h.client.chat(new grpc.Metadata(), {});
      const done = readAll(stream);
      stream.write({ id: String(i) });
      stream.end();
      await done;
    };
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          j % 2 === 0 ? upload(batch * 100 + j) : chat(batch * 100 + j),
        ),
      );
    }
    await telemetry.waitForSpans(2000, 10_000);
    await settle();
    expect(telemetry.spans()).toHaveLength(2000);
    expect((await histogram('rpc.server.call.duration')).count).toBe(1000);
    expect((await histogram('rpc.client.call.duration')).count).toBe(1000);
    expect(await sumOf(telemetry, 'rpc.server.active_requests')).toBe(0);
    expect(await sumOf(telemetry, 'rpc.client.active_requests')).toBe(0);
    const failed = await sumOf(
      telemetry,
      'rpc.server.call.duration',
      (p) => p.attributes['error.type'] === 'INTERNAL',
    );
    // Every 10th call is an upload that fails: 100 of them.
    expect(failed).toBe(100);
  });

  it('adds no listeners to the call objects the handlers see', async () => {
    const counts = async (server: null | undefined) => {
      const seen = deferred<Record<string, number>>();
      const h = await startOrders(telemetry, {
        server,
        impl: {
          chat(call) {
            const names = ['error', 'cancelled', 'data', 'end', 'finish', 'close'];
            seen.resolve(Object.fromEntries(names.map((n) => [n, call.listenerCount(n)])));
            call.on('data', () => {});
            call.on('end', () => call.end());
          },
        },
      });
      const stream = h.client.chat(new grpc.Metadata(), {});
      const done = readAll(stream);
      stream.end();
      await done;
      await h.close();
      return seen.promise;
    };
    expect(await counts(undefined)).toEqual(await counts(null));
  });
});
