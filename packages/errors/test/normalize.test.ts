import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcCode, isTracedError, TracedError, toTracedError, wrapError } from '../src/index.js';
import { hostileProxy, inSpan, setupOtel, type TestOtel, throwingGetters } from './otel.js';

let otel: TestOtel;
beforeAll(() => {
  otel = setupOtel();
});
afterAll(async () => {
  await otel.shutdown();
});

/** An error shaped like the ones `http-errors` (and Koa's ctx.throw) build. */
function httpError(status: number, message: string, expose = status < 500): Error {
  return Object.assign(new Error(message), { status, statusCode: status, expose });
}

/** An error shaped like grpc-js's ServiceError for a call we made. */
function serviceError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), {
    code,
    details,
    metadata: { internalRepr: new Map() },
  });
}

/** An error shaped like a Node system error. */
function systemError(code: string, syscall = 'connect'): Error {
  return Object.assign(new Error(`${syscall} ${code} 10.0.0.1:5432`), { code, errno: -111, syscall });
}

function expectInternal(err: TracedError, cause: unknown): void {
  expect(isTracedError(err)).toBe(true);
  expect(err.code).toBe(GrpcCode.INTERNAL);
  expect(err.httpStatus).toBe(500);
  expect(err.category).toBe('internal');
  expect(err.expose).toBe(false);
  expect(Object.is(err.cause, cause)).toBe(true);
}

describe('toTracedError: odd thrown values', () => {
  const sym = Symbol('thrown');
  const cases: Array<[string, unknown, string]> = [
    ['a string', 'boom', 'Non-error value thrown: "boom"'],
    ['a number', 42, 'Non-error value thrown: 42'],
    ['NaN', Number.NaN, 'Non-error value thrown: NaN'],
    ['a bigint', 10n, 'Non-error value thrown: 10'],
    ['a boolean', false, 'Non-error value thrown: false'],
    ['null', null, 'Non-error value thrown: null'],
    ['undefined', undefined, 'Non-error value thrown: undefined'],
    ['a symbol', sym, 'Non-error value thrown: symbol'],
    ['a function', () => 1, 'Non-error value thrown: function'],
    ['a plain object', { message: 'secret', status: 404 }, 'Non-error object thrown'],
    ['a frozen object', Object.freeze({ status: 418, expose: true }), 'Non-error object thrown'],
    ['an array', [1, 2], 'Non-error object thrown'],
    ['a null-prototype object', Object.create(null), 'Non-error object thrown'],
  ];

  it.each(cases)('normalizes %s to INTERNAL/500 with the value as cause', (_label, value, message) => {
    const err = toTracedError(value);
    expectInternal(err, value);
    expect(err.message).toBe(message);
  });

  it('truncates long thrown strings', () => {
    const err = toTracedError('x'.repeat(10_000));
    expect(err.message.length).toBeLessThan(260);
  });

  it('survives a Proxy whose every trap throws', () => {
    const proxy = hostileProxy();
    const err = toTracedError(proxy);
    expectInternal(err, proxy);
    const errorTarget = hostileProxy(new Error('inside'));
    expectInternal(toTracedError(errorTarget), errorTarget);
  });

  it('survives a revoked Proxy', () => {
    const { proxy, revoke } = Proxy.revocable(new Error('x'), {});
    revoke();
    expectInternal(toTracedError(proxy), proxy);
  });

  it('survives an Error and a plain object with throwing getters', () => {
    const error = throwingGetters(new Error('x'));
    const normalized = toTracedError(error);
    expectInternal(normalized, error);
    expect(normalized.message).toBe('');
    const plain = throwingGetters({});
    expectInternal(toTracedError(plain), plain);
  });

  it('keeps the message of a frozen Error', () => {
    const error = Object.freeze(new Error('frozen'));
    const err = toTracedError(error);
    expectInternal(err, error);
    expect(err.message).toBe('frozen');
  });

  it('never throws and always returns a valid TracedError (property)', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withBoxedValues: true, withMap: true, withSet: true }),
        (value) => {
          const err = toTracedError(value);
          expect(isTracedError(err)).toBe(true);
          expect(err.httpStatus >= 400 && err.httpStatus <= 599).toBe(true);
        },
      ),
    );
  });

  it('returns a TracedError as is', () => {
    const original = new TracedError('x', { code: GrpcCode.NOT_FOUND });
    expect(toTracedError(original)).toBe(original);
  });
});

describe('toTracedError: classification', () => {
  it('trusts http-errors style errors (status, statusCode, expose)', () => {
    const notFound = httpError(404, 'User not found');
    const err = toTracedError(notFound);
    expect(err.httpStatus).toBe(404);
    expect(err.code).toBe(GrpcCode.NOT_FOUND);
    expect(err.category).toBe('not_found');
    expect(err.expose).toBe(true);
    expect(err.message).toBe('User not found');
    expect(err.cause).toBe(notFound);
  });

  it('keeps http-errors expose=false and 5xx statuses', () => {
    const hidden = toTracedError(httpError(403, 'internal policy 7 says no', false));
    expect(hidden.httpStatus).toBe(403);
    expect(hidden.expose).toBe(false);
    const server = toTracedError(httpError(503, 'db down'));
    expect(server.httpStatus).toBe(503);
    expect(server.code).toBe(GrpcCode.UNAVAILABLE);
    expect(server.expose).toBe(false);
  });

  it('accepts either status or statusCode with expose, but not disagreeing ones', () => {
    const onlyStatus = Object.assign(new Error('x'), { status: 409, expose: true });
    expect(toTracedError(onlyStatus).httpStatus).toBe(409);
    const onlyStatusCode = Object.assign(new Error('x'), { statusCode: 401, expose: true });
    expect(toTracedError(onlyStatusCode).code).toBe(GrpcCode.UNAUTHENTICATED);
    const disagreeing = Object.assign(new Error('x'), { status: 404, statusCode: 400, expose: true });
    expect(toTracedError(disagreeing).httpStatus).toBe(500);
  });

  it('does not trust status-carrying errors without a boolean expose', () => {
    const upstream = Object.assign(new Error('Request failed with status code 404'), {
      status: 404,
      response: { status: 404, data: 'upstream body' },
    });
    const err = toTracedError(upstream);
    expect(err.httpStatus).toBe(500);
    expect(err.code).toBe(GrpcCode.INTERNAL);
    expect(err.category).toBe('dependency');
    expect(err.expose).toBe(false);

    const custom = Object.assign(new Error('nope'), { statusCode: 404 });
    expect(toTracedError(custom)).toMatchObject({ httpStatus: 500, category: 'internal', expose: false });
    expect(toTracedError(Object.assign(new Error('x'), { status: 404, expose: 'true' })).httpStatus).toBe(
      500,
    );
  });

  it('does not trust non-Error objects shaped like http-errors', () => {
    const fake = { status: 404, statusCode: 404, expose: true, message: 'hi' };
    expect(toTracedError(fake)).toMatchObject({ httpStatus: 500, code: GrpcCode.INTERNAL, expose: false });
    expect(toTracedError({ status: 418 }).httpStatus).toBe(500);
  });

  it.each([
    [GrpcCode.OK, GrpcCode.INTERNAL, 500, 'dependency'],
    [GrpcCode.CANCELLED, GrpcCode.CANCELLED, 499, 'cancelled'],
    [GrpcCode.UNKNOWN, GrpcCode.INTERNAL, 500, 'dependency'],
    [GrpcCode.INVALID_ARGUMENT, GrpcCode.INTERNAL, 500, 'dependency'],
    [GrpcCode.DEADLINE_EXCEEDED, GrpcCode.DEADLINE_EXCEEDED, 504, 'dependency'],
    [GrpcCode.NOT_FOUND, GrpcCode.INTERNAL, 500, 'dependency'],
    [GrpcCode.ALREADY_EXISTS, GrpcCode.INTERNAL, 500, 'dependency'],
    [GrpcCode.PERMISSION_DENIED, GrpcCode.INTERNAL, 500, 'dependency'],
    [GrpcCode.RESOURCE_EXHAUSTED, GrpcCode.UNAVAILABLE, 503, 'dependency'],
    [GrpcCode.FAILED_PRECONDITION, GrpcCode.INTERNAL, 500, 'dependency'],
    [GrpcCode.ABORTED, GrpcCode.INTERNAL, 500, 'dependency'],
    [GrpcCode.OUT_OF_RANGE, GrpcCode.INTERNAL, 500, 'dependency'],
    [GrpcCode.UNIMPLEMENTED, GrpcCode.INTERNAL, 500, 'dependency'],
    [GrpcCode.INTERNAL, GrpcCode.INTERNAL, 500, 'dependency'],
    [GrpcCode.UNAVAILABLE, GrpcCode.UNAVAILABLE, 503, 'dependency'],
    [GrpcCode.DATA_LOSS, GrpcCode.INTERNAL, 500, 'dependency'],
    [GrpcCode.UNAUTHENTICATED, GrpcCode.INTERNAL, 500, 'dependency'],
  ] as const)(
    'maps an upstream gRPC ServiceError %i to %i / %i (%s), never exposed',
    (upstream, code, status, category) => {
      const err = toTracedError(serviceError(upstream, 'upstream secret details'));
      expect(err.code).toBe(code);
      expect(err.httpStatus).toBe(status);
      expect(err.category).toBe(category);
      expect(err.expose).toBe(false);
    },
  );

  it('needs the full ServiceError shape (details string and metadata object)', () => {
    expect(toTracedError(Object.assign(new Error('x'), { code: 14 })).code).toBe(GrpcCode.INTERNAL);
    expect(toTracedError(Object.assign(new Error('x'), { code: 14, details: 'd' })).code).toBe(
      GrpcCode.INTERNAL,
    );
    expect(toTracedError({ code: 14, details: 'd', metadata: {} }).code).toBe(GrpcCode.INTERNAL);
  });

  it.each([
    ['ECONNREFUSED', GrpcCode.UNAVAILABLE, 503],
    ['ECONNRESET', GrpcCode.UNAVAILABLE, 503],
    ['ENOTFOUND', GrpcCode.UNAVAILABLE, 503],
    ['EAI_AGAIN', GrpcCode.UNAVAILABLE, 503],
    ['EHOSTUNREACH', GrpcCode.UNAVAILABLE, 503],
    ['EPIPE', GrpcCode.UNAVAILABLE, 503],
    ['UND_ERR_SOCKET', GrpcCode.UNAVAILABLE, 503],
    ['ETIMEDOUT', GrpcCode.DEADLINE_EXCEEDED, 504],
    ['UND_ERR_CONNECT_TIMEOUT', GrpcCode.DEADLINE_EXCEEDED, 504],
    ['UND_ERR_HEADERS_TIMEOUT', GrpcCode.DEADLINE_EXCEEDED, 504],
  ] as const)('maps system error %s to %i / %i, category dependency', (code, grpcCode, status) => {
    const err = toTracedError(systemError(code));
    expect(err).toMatchObject({ code: grpcCode, httpStatus: status, category: 'dependency', expose: false });
  });

  it.each(['ENOENT', 'EACCES', 'EMFILE', 'EADDRINUSE', 'ERR_INVALID_ARG_TYPE'])(
    'maps local error code %s to INTERNAL/internal',
    (code) => {
      expect(toTracedError(systemError(code, 'open'))).toMatchObject({
        code: GrpcCode.INTERNAL,
        httpStatus: 500,
        category: 'internal',
      });
    },
  );

  it('maps AbortError to CANCELLED / 499', () => {
    const controller = new AbortController();
    controller.abort();
    const domAbort = controller.signal.reason;
    expect(toTracedError(domAbort)).toMatchObject({
      code: GrpcCode.CANCELLED,
      httpStatus: 499,
      category: 'cancelled',
    });
    const nodeAbort = Object.assign(new Error('The operation was aborted'), {
      name: 'AbortError',
      code: 'ABORT_ERR',
    });
    expect(toTracedError(nodeAbort)).toMatchObject({ code: GrpcCode.CANCELLED, expose: false });
  });

  it('maps TimeoutError (AbortSignal.timeout) to DEADLINE_EXCEEDED / 504', async () => {
    const signal = AbortSignal.timeout(1);
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
    expect(toTracedError(signal.reason)).toMatchObject({
      code: GrpcCode.DEADLINE_EXCEEDED,
      httpStatus: 504,
      category: 'timeout',
    });
  });

  it('classifies a generic Error by a network failure in its cause chain (fetch failed)', () => {
    const fetchFailed = new TypeError('fetch failed', { cause: systemError('ECONNREFUSED') });
    expect(toTracedError(fetchFailed)).toMatchObject({
      code: GrpcCode.UNAVAILABLE,
      httpStatus: 503,
      category: 'dependency',
      message: 'fetch failed',
    });
  });

  it('never adopts a client-facing 4xx from the cause chain', () => {
    const wrapped = new Error('render failed', { cause: httpError(404, 'nope') });
    expect(toTracedError(wrapped)).toMatchObject({ code: GrpcCode.INTERNAL, httpStatus: 500 });
    const tracedWrapped = new Error('render failed', {
      cause: new TracedError('nope', { code: GrpcCode.NOT_FOUND }),
    });
    expect(toTracedError(tracedWrapped)).toMatchObject({
      code: GrpcCode.INTERNAL,
      httpStatus: 500,
      expose: false,
    });
    const server = new Error('outer', { cause: new TracedError('inner', { code: GrpcCode.UNAVAILABLE }) });
    expect(toTracedError(server)).toMatchObject({
      code: GrpcCode.UNAVAILABLE,
      httpStatus: 503,
      message: 'outer',
    });
  });

  it('captures the active span when normalizing a foreign error', () => {
    const { err, ids } = inSpan(otel.tracer, 'request', (ids) => ({
      err: toTracedError(new Error('x')),
      ids,
    }));
    expect(err.traceId).toBe(ids.traceId);
    expect(err.spanId).toBe(ids.spanId);
  });
});

describe('cause chains', () => {
  it('is safe with a self-referencing cause', () => {
    const self = new Error('self');
    (self as { cause?: unknown }).cause = self;
    expectInternal(toTracedError(self), self);
    const wrapped = wrapError(self, 'outer');
    expect(wrapped.cause).toBe(self);
    expect(wrapped.code).toBe(GrpcCode.INTERNAL);
  });

  it('is safe with a two-element cycle of TracedErrors', () => {
    const a = new TracedError('a', { code: GrpcCode.NOT_FOUND });
    const b = new TracedError('b', { code: GrpcCode.ABORTED, cause: a });
    Object.defineProperty(a, 'cause', { value: b });
    expect(wrapError(a, 'outer').code).toBe(GrpcCode.NOT_FOUND);
  });

  it('is bounded on a 10k-deep chain', () => {
    let chain: Error = systemError('ECONNREFUSED');
    for (let i = 0; i < 10_000; i++) chain = new Error(`level ${i}`, { cause: chain });
    const start = performance.now();
    const err = toTracedError(chain);
    const wrapped = wrapError(chain, 'outer');
    expect(performance.now() - start).toBeLessThan(1000);
    // The network error is 10k links down: beyond the depth limit, so it is not seen.
    expect(err.code).toBe(GrpcCode.INTERNAL);
    expect(wrapped.code).toBe(GrpcCode.INTERNAL);
  });

  it('finds classifications within the depth limit', () => {
    let chain: Error = systemError('ETIMEDOUT');
    for (let i = 0; i < 10; i++) chain = new Error(`level ${i}`, { cause: chain });
    expect(toTracedError(chain).code).toBe(GrpcCode.DEADLINE_EXCEEDED);
  });

  it('survives a cause getter that throws', () => {
    const err = new Error('x');
    Object.defineProperty(err, 'cause', {
      get() {
        throw new Error('no');
      },
    });
    expect(toTracedError(err).code).toBe(GrpcCode.INTERNAL);
    expect(wrapError(err, 'y').code).toBe(GrpcCode.INTERNAL);
  });
});

describe('wrapError', () => {
  it('keeps the innermost trace and span id across spans and traces', () => {
    const inner = inSpan(
      otel.tracer,
      'db-call',
      () => new TracedError('row missing', { code: GrpcCode.NOT_FOUND }),
    );
    const { middle, outer, outerIds } = inSpan(otel.tracer, 'service', (outerIds) => {
      const middle = wrapError(inner, 'loading user');
      const outer = wrapError(new Error('plain in between', { cause: middle }), 'handler failed');
      return { middle, outer, outerIds };
    });
    expect(inner.traceId).toBeDefined();
    expect(middle.traceId).toBe(inner.traceId);
    expect(middle.spanId).toBe(inner.spanId);
    expect(outer.traceId).toBe(inner.traceId);
    expect(outer.spanId).toBe(inner.spanId);
    expect(outer.spanId).not.toBe(outerIds.spanId);
    expect(outer.traceId).not.toBe(outerIds.traceId);
  });

  it('uses the active span when nothing in the chain has ids', () => {
    const inner = new TracedError('outside any span', { code: GrpcCode.NOT_FOUND });
    expect(inner.traceId).toBeUndefined();
    const { wrapped, ids } = inSpan(otel.tracer, 'handler', (ids) => ({
      wrapped: wrapError(inner, 'x'),
      ids,
    }));
    expect(wrapped.traceId).toBe(ids.traceId);
    expect(wrapped.spanId).toBe(ids.spanId);
  });

  it('keeps the ids of the deepest TracedError that has them', () => {
    const deepest = inSpan(otel.tracer, 'a', () => new TracedError('a'));
    const middle = inSpan(otel.tracer, 'b', () => new TracedError('b', { cause: deepest }));
    const noIds = new TracedError('c', { cause: middle });
    const wrapped = wrapError(noIds, 'd');
    expect(wrapped.spanId).toBe(deepest.spanId);
  });

  it('omits ids when neither the chain nor the context has any', () => {
    const wrapped = wrapError(new Error('x'), 'y');
    expect(Object.hasOwn(wrapped, 'traceId')).toBe(false);
    expect(Object.hasOwn(wrapped, 'spanId')).toBe(false);
  });

  it('inherits code and status from the nearest TracedError', () => {
    const inner = new TracedError('x', { code: GrpcCode.NOT_FOUND });
    const reclassified = wrapError(inner, 'conflict', { code: GrpcCode.ABORTED });
    expect(reclassified).toMatchObject({ code: GrpcCode.ABORTED, httpStatus: 409, category: 'conflict' });
    const again = wrapError(reclassified, 'outer');
    expect(again).toMatchObject({ code: GrpcCode.ABORTED, httpStatus: 409, message: 'outer' });
    const statusOnly = wrapError(inner, 'gone', { httpStatus: 410 });
    expect(statusOnly).toMatchObject({ code: GrpcCode.NOT_FOUND, httpStatus: 410 });
  });

  it('inherits status and code together (non-canonical pairs survive)', () => {
    const inner = new TracedError('gone', { code: GrpcCode.NOT_FOUND, httpStatus: 410 });
    expect(wrapError(inner, 'x')).toMatchObject({ code: GrpcCode.NOT_FOUND, httpStatus: 410 });
  });

  it('classifies a foreign cause with the toTracedError rules', () => {
    const wrapped = wrapError(systemError('ECONNREFUSED'), 'could not reach billing');
    expect(wrapped).toMatchObject({
      code: GrpcCode.UNAVAILABLE,
      httpStatus: 503,
      category: 'dependency',
      expose: false,
      message: 'could not reach billing',
    });
    expect(wrapError(httpError(404, 'no'), 'missing')).toMatchObject({ httpStatus: 404, expose: true });
    expect(wrapError('a string', 'x')).toMatchObject({ code: GrpcCode.INTERNAL, cause: 'a string' });
  });

  it('lets options decide expose and details, and always sets cause to err', () => {
    const inner = new TracedError('x', { code: GrpcCode.INVALID_ARGUMENT });
    const wrapped = wrapError(inner, 'bad input', {
      expose: false,
      details: { field: 'a' },
      cause: 'ignored',
    });
    expect(wrapped.expose).toBe(false);
    expect(wrapped.details).toEqual({ field: 'a' });
    expect(wrapped.cause).toBe(inner);
  });

  it('never throws', () => {
    expect(wrapError(hostileProxy(), 'x').code).toBe(GrpcCode.INTERNAL);
    expect(wrapError(new Error('x'), 'y', hostileProxy() as never).code).toBe(GrpcCode.INTERNAL);
    fc.assert(
      fc.property(fc.anything({ withBigInt: true }), fc.anything(), (err, options) => {
        const wrapped = wrapError(err, 'm', options as never);
        expect(isTracedError(wrapped)).toBe(true);
      }),
    );
  });
});
