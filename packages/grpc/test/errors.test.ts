// Errors thrown or passed to callbacks: the status the client gets, what it may read, the trace id.
import * as grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { GrpcCode, TracedError } from '@tracewire/errors';
import { createTelemetry } from '@tracewire/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { toGrpcServiceError } from '../src/index.js';
import { activeIds, asCallbackError, closeAll, getOrder, type OrdersImpl, startOrders } from './harness.js';

const telemetry = createTelemetry();

afterEach(async () => {
  await closeAll();
  telemetry.reset();
});
afterAll(() => telemetry.shutdown());

/** Runs one unary call whose handler answers with `answer` and returns what the client saw. */
async function answerWith(getOrderImpl: OrdersImpl['getOrder']) {
  const h = await startOrders(telemetry, { impl: { getOrder: getOrderImpl } });
  const { error } = await getOrder(h.client, { id: '7' });
  const spans = await telemetry.waitForSpans(2);
  const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
  const client = spans.find((s) => s.kind === SpanKind.CLIENT)!;
  return { error: error!, server, client };
}

describe('TracedError round trip', () => {
  it('a client-class TracedError: its code and message reach the client, with the trace id', async () => {
    const { error, server, client } = await answerWith((call, callback) =>
      callback(
        asCallbackError(new TracedError(`order ${call.request.id} not found`, { code: GrpcCode.NOT_FOUND })),
      ),
    );
    expect(error.code).toBe(grpc.status.NOT_FOUND);
    expect(error.details).toBe('order 7 not found');
    expect(error.metadata.get('trace-id')).toEqual([server.spanContext().traceId]);
    expect(server.spanContext().traceId).toBe(client.spanContext().traceId);
  });

  it('a server-class TracedError: its code and message, as grpc-js sends them', async () => {
    const { error, server } = await answerWith((_call, callback) =>
      callback(
        asCallbackError(new TracedError('db at 10.0.0.5 refused user=admin', { code: GrpcCode.INTERNAL })),
      ),
    );
    expect(error.code).toBe(grpc.status.INTERNAL);
    expect(error.details).toBe('db at 10.0.0.5 refused user=admin');
    expect(error.metadata.get('trace-id')).toEqual([server.spanContext().traceId]);
    expect(server.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'db at 10.0.0.5 refused user=admin',
    });
  });

  it('with redactErrorDetails: its code, never its message; the span keeps it', async () => {
    const h = await startOrders(telemetry, {
      server: { redactErrorDetails: true },
      impl: {
        getOrder: (_call, callback) =>
          callback(
            asCallbackError(
              new TracedError('db at 10.0.0.5 refused user=admin', { code: GrpcCode.INTERNAL }),
            ),
          ),
      },
    });
    const { error } = await getOrder(h.client, { id: '7' });
    const [server] = (await telemetry.waitForSpans(2)).filter((s) => s.kind === SpanKind.SERVER);
    expect(error?.code).toBe(grpc.status.INTERNAL);
    expect(error?.details).toBe('INTERNAL');
    expect(error?.message).not.toContain('10.0.0.5');
    expect(error?.metadata.get('trace-id')).toEqual([server!.spanContext().traceId]);
    expect(server!.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'db at 10.0.0.5 refused user=admin',
    });
  });

  it('a TracedError created with an HTTP status maps to its gRPC code', async () => {
    const { error } = await answerWith((_call, callback) =>
      callback(asCallbackError(new TracedError('slow down', { httpStatus: 429 }))),
    );
    expect(error.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(error.details).toBe('slow down');
  });
});

describe('other errors', () => {
  it('a plain Error passed to the callback: UNKNOWN with its message (grpc-js)', async () => {
    const { error, server } = await answerWith((_call, callback) =>
      callback(new Error('connect ECONNREFUSED 10.1.2.3:5432')),
    );
    expect(error.code).toBe(grpc.status.UNKNOWN);
    expect(error.details).toBe('connect ECONNREFUSED 10.1.2.3:5432');
    expect(server.attributes['error.type']).toBe('UNKNOWN');
  });

  it('an explicit client-class status object keeps its details', async () => {
    const { error, server } = await answerWith((_call, callback) =>
      callback({ code: grpc.status.INVALID_ARGUMENT, details: 'id must be numeric' }),
    );
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toBe('id must be numeric');
    expect(error.metadata.get('trace-id')).toEqual([server.spanContext().traceId]);
  });

  it('a non-canonical code reaches the client as sent, and is UNKNOWN in telemetry', async () => {
    const { error, server } = await answerWith((_call, callback) =>
      callback({ code: 42 as grpc.status, details: 'what' }),
    );
    expect(error.code).toBe(42);
    expect(error.details).toBe('what');
    expect(error.metadata.get('trace-id')).toEqual([server.spanContext().traceId]);
    expect(server.attributes['rpc.status_code']).toBe('UNKNOWN');
    expect(server.attributes['rpc.grpc.status_code']).toBe(GrpcCode.UNKNOWN);
  });

  it('the trailers an application passes are copied, never changed', async () => {
    const trailers = new grpc.Metadata();
    trailers.set('x-retry-after', '5');
    const { error } = await answerWith((_call, callback) =>
      callback({ code: grpc.status.UNAVAILABLE, details: 'overloaded', metadata: trailers }),
    );
    expect(error.metadata.get('x-retry-after')).toEqual(['5']);
    expect(error.metadata.get('trace-id')).toHaveLength(1);
    expect(trailers.toJSON()).toEqual({ 'x-retry-after': ['5'] });
  });

  it('OK responses carry no trace-id trailer', async () => {
    const h = await startOrders(telemetry);
    const trailers = await new Promise<grpc.Metadata>((resolve) => {
      const call = h.client.getOrder({ id: '1' }, new grpc.Metadata(), {}, () => {});
      call.on('status', (status: grpc.StatusObject) => resolve(status.metadata));
    });
    expect(trailers.get('trace-id')).toEqual([]);
  });
});

describe('toGrpcServiceError', () => {
  it('follows the error model: http-errors status, expose, INTERNAL for the rest, trace id', async () => {
    const cases: [unknown, grpc.status, string][] = [
      [
        Object.assign(new Error('Gone for good'), { status: 404, expose: true }),
        grpc.status.NOT_FOUND,
        'Gone for good',
      ],
      [
        new TracedError('hidden', { code: GrpcCode.NOT_FOUND, expose: false }),
        grpc.status.NOT_FOUND,
        'NOT_FOUND',
      ],
      [new Error('boom at 10.0.0.1'), grpc.status.INTERNAL, 'INTERNAL'],
      ['a string', grpc.status.INTERNAL, 'INTERNAL'],
    ];
    for (const [thrown, code, details] of cases) {
      const { error, server } = await answerWith((_call, callback) => callback(toGrpcServiceError(thrown)));
      expect(error.code).toBe(code);
      expect(error.details).toBe(details);
      expect(error.metadata.get('trace-id')).toEqual([server.spanContext().traceId]);
      await closeAll();
      telemetry.reset();
    }
  });

  it('never throws and returns a grpc-js ServiceError shape', () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    for (const value of [undefined, null, 42n, Symbol('x'), revoked.proxy]) {
      const e = toGrpcServiceError(value);
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toBe(grpc.status.INTERNAL);
      expect(e.metadata).toBeInstanceOf(grpc.Metadata);
    }
  });

  it('used in a stream: the status of the error model', async () => {
    const h = await startOrders(telemetry, {
      impl: {
        watchOrders(call) {
          call.write({ id: '1', ...activeIds() });
          call.emit('error', toGrpcServiceError(new TracedError('no more', { code: GrpcCode.OUT_OF_RANGE })));
        },
      },
    });
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      const stream = h.client.watchOrders({}, new grpc.Metadata(), {});
      stream.on('data', () => {});
      stream.on('error', resolve);
    });
    expect(error.code).toBe(grpc.status.OUT_OF_RANGE);
    expect(error.details).toBe('no more');
  });
});
