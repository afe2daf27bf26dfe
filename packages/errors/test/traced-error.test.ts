import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as errors from '../src/index.js';
import { GrpcCode, isTracedError, TracedError } from '../src/index.js';
import { hostileProxy, inSpan, setupOtel, type TestOtel } from './otel.js';

let otel: TestOtel;
beforeAll(() => {
  otel = setupOtel();
});
afterAll(async () => {
  await otel.shutdown();
});

describe('TracedError: code and status resolution', () => {
  it('defaults to INTERNAL / 500, not exposed', () => {
    const err = new TracedError('boom');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('TracedError');
    expect(err.message).toBe('boom');
    expect(err.code).toBe(GrpcCode.INTERNAL);
    expect(err.httpStatus).toBe(500);
    expect(err.category).toBe('internal');
    expect(err.expose).toBe(false);
    expect(err.stack?.startsWith('TracedError: boom')).toBe(true);
    expect(Object.keys(err)).not.toContain('name');
  });

  it('derives httpStatus from code', () => {
    const err = new TracedError('no user', { code: GrpcCode.NOT_FOUND });
    expect(err.httpStatus).toBe(404);
    expect(err.category).toBe('not_found');
    expect(err.expose).toBe(true);
  });

  it('derives code from httpStatus', () => {
    const err = new TracedError('slow down', { httpStatus: 429 });
    expect(err.code).toBe(GrpcCode.RESOURCE_EXHAUSTED);
    expect(err.category).toBe('rate_limited');
    expect(err.expose).toBe(true);
  });

  it('keeps both when both are given', () => {
    const err = new TracedError('gone', { code: GrpcCode.NOT_FOUND, httpStatus: 410 });
    expect(err.code).toBe(GrpcCode.NOT_FOUND);
    expect(err.httpStatus).toBe(410);
  });

  it.each([200, 302, 399, 600, 1000, 99, 404.5, Number.NaN, -1, '404', null])(
    'replaces invalid httpStatus %s by the mapping of the code',
    (httpStatus) => {
      const withCode = new TracedError('x', {
        code: GrpcCode.PERMISSION_DENIED,
        httpStatus: httpStatus as number,
      });
      expect(withCode.httpStatus).toBe(403);
      const withoutCode = new TracedError('x', { httpStatus: httpStatus as number });
      expect(withoutCode.httpStatus).toBe(500);
      expect(withoutCode.code).toBe(GrpcCode.INTERNAL);
    },
  );

  it.each([GrpcCode.OK, 17, -1, Number.NaN, '5', 2 ** 53])('ignores invalid or OK code %s', (code) => {
    const err = new TracedError('x', { code: code as GrpcCode });
    expect(err.code).toBe(GrpcCode.INTERNAL);
    expect(err.httpStatus).toBe(500);
    const withStatus = new TracedError('x', { code: code as GrpcCode, httpStatus: 404 });
    expect(withStatus.code).toBe(GrpcCode.NOT_FOUND);
  });

  it('always stores a status Node accepts as res.statusCode', () => {
    for (let code = -2; code <= 18; code++) {
      for (const httpStatus of [undefined, 0, 200, 404, 503, 600, 2 ** 31]) {
        const err = new TracedError('x', { code: code as GrpcCode, httpStatus: httpStatus as number });
        expect(Number.isInteger(err.httpStatus) && err.httpStatus >= 400 && err.httpStatus <= 599).toBe(true);
        expect(err.code).not.toBe(GrpcCode.OK);
      }
    }
  });

  it('exposes by default only client errors', () => {
    expect(new TracedError('x', { code: GrpcCode.INVALID_ARGUMENT }).expose).toBe(true);
    expect(new TracedError('x', { code: GrpcCode.CANCELLED }).expose).toBe(true);
    expect(new TracedError('x', { code: GrpcCode.UNAVAILABLE }).expose).toBe(false);
    expect(new TracedError('x', { code: GrpcCode.DEADLINE_EXCEEDED }).expose).toBe(false);
    // 408 maps to DEADLINE_EXCEEDED, a server-class code: not exposed by default.
    expect(new TracedError('x', { httpStatus: 408 }).expose).toBe(false);
    // A 4xx status with a server-class code: status decides the wire, code the default.
    expect(new TracedError('x', { code: GrpcCode.INTERNAL, httpStatus: 400 }).expose).toBe(false);
    expect(new TracedError('x', { code: GrpcCode.NOT_FOUND, category: 'dependency' }).expose).toBe(false);
    expect(new TracedError('x', { code: GrpcCode.INTERNAL, expose: true }).expose).toBe(true);
    expect(new TracedError('x', { code: GrpcCode.NOT_FOUND, expose: false }).expose).toBe(false);
  });

  it('accepts a category override except ok', () => {
    expect(new TracedError('x', { code: GrpcCode.UNAVAILABLE, category: 'dependency' }).category).toBe(
      'dependency',
    );
    expect(new TracedError('x', { code: GrpcCode.UNAVAILABLE, category: 'ok' }).category).toBe('unavailable');
    expect(new TracedError('x', { category: 'nope' as 'ok' }).category).toBe('internal');
  });

  it('passes cause to Error (ES2022) only when given', () => {
    const cause = new Error('root');
    expect(new TracedError('x', { cause }).cause).toBe(cause);
    expect('cause' in new TracedError('x')).toBe(false);
    const undefinedCause = new TracedError('x', { cause: undefined });
    expect(Object.hasOwn(undefinedCause, 'cause')).toBe(true);
    expect(undefinedCause.cause).toBeUndefined();
  });

  it('keeps details, title and type, and omits them when absent', () => {
    const err = new TracedError('x', {
      code: GrpcCode.INVALID_ARGUMENT,
      details: { field: 'email' },
      title: 'Invalid email',
      type: 'https://errors.example.com/invalid-email',
    });
    expect(err.details).toEqual({ field: 'email' });
    expect(err.title).toBe('Invalid email');
    expect(err.type).toBe('https://errors.example.com/invalid-email');
    const bare = new TracedError('x');
    for (const key of ['details', 'title', 'type', 'traceId', 'spanId'])
      expect(Object.hasOwn(bare, key)).toBe(false);
  });

  it('survives hostile options', () => {
    const err = new TracedError('x', hostileProxy() as errors.TracedErrorOptions);
    expect(err.code).toBe(GrpcCode.INTERNAL);
    expect(err.httpStatus).toBe(500);
    const bad = new TracedError(42 as unknown as string, null as unknown as errors.TracedErrorOptions);
    expect(bad.message).toBe('');
  });
});

describe('TracedError: trace context capture', () => {
  it('captures trace and span id of the active span at construction', () => {
    const { err, ids } = inSpan(otel.tracer, 'handler', (ids) => ({ err: new TracedError('x'), ids }));
    expect(err.traceId).toBe(ids.traceId);
    expect(err.spanId).toBe(ids.spanId);
    expect(err.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('captures across await inside an async span', async () => {
    const { err, ids } = await otel.tracer.startActiveSpan('async', async (span) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const err = new TracedError('x');
      span.end();
      return { err, ids: span.spanContext() };
    });
    expect(err.traceId).toBe(ids.traceId);
    expect(err.spanId).toBe(ids.spanId);
  });

  it('does not change when the error is used later in another span', () => {
    const err = inSpan(otel.tracer, 'first', () => new TracedError('x'));
    const other = inSpan(otel.tracer, 'second', (ids) => ids);
    expect(err.spanId).not.toBe(other.spanId);
    expect(err.traceId).not.toBe(other.traceId);
  });

  it('omits the properties outside any span', () => {
    const err = new TracedError('x');
    expect(Object.hasOwn(err, 'traceId')).toBe(false);
    expect(Object.hasOwn(err, 'spanId')).toBe(false);
    expect('traceId' in err).toBe(false);
  });

  it('omits the properties for an invalid (all-zero) span context', () => {
    const nonRecording = trace.wrapSpanContext({
      traceId: '0'.repeat(32),
      spanId: '0'.repeat(16),
      traceFlags: 0,
    });
    const err = context.with(trace.setSpan(ROOT_CONTEXT, nonRecording), () => new TracedError('x'));
    expect(Object.hasOwn(err, 'traceId')).toBe(false);
    expect(Object.hasOwn(err, 'spanId')).toBe(false);
    expect(JSON.stringify(err)).not.toContain('0000000000000000');
  });

  it('captures a valid remote (non-recording) span context', () => {
    const remote = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 0, isRemote: true };
    const err = context.with(trace.setSpanContext(ROOT_CONTEXT, remote), () => new TracedError('x'));
    expect(err.traceId).toBe('a'.repeat(32));
    expect(err.spanId).toBe('b'.repeat(16));
  });
});

describe('isTracedError and the brand', () => {
  it('recognises instances and rejects look-alikes', () => {
    expect(isTracedError(new TracedError('x'))).toBe(true);
    expect(isTracedError(new Error('x'))).toBe(false);
    expect(
      isTracedError({ code: 13, httpStatus: 500, message: 'x', expose: false, name: 'TracedError' }),
    ).toBe(false);
    for (const value of [null, undefined, 'TracedError', 13, Symbol('x')])
      expect(isTracedError(value)).toBe(false);
  });

  it('puts the brand under Symbol.for and keeps it out of enumeration', () => {
    const err = new TracedError('x');
    const brand = Symbol.for('tracewire.error.TracedError');
    expect((err as unknown as Record<symbol, unknown>)[brand]).toBe(true);
    expect(Object.keys(err)).not.toContain(brand.toString());
    expect(Object.getOwnPropertyDescriptor(err, brand)?.enumerable).toBe(false);
  });

  it('rejects branded objects whose fields are unusable', () => {
    const brand = Symbol.for('tracewire.error.TracedError');
    const base = { [brand]: true, code: 5, httpStatus: 404, message: 'x', expose: true };
    expect(isTracedError(base)).toBe(true);
    expect(isTracedError({ ...base, code: 0 })).toBe(false);
    expect(isTracedError({ ...base, code: 99 })).toBe(false);
    expect(isTracedError({ ...base, httpStatus: 200 })).toBe(false);
    expect(isTracedError({ ...base, message: 1 })).toBe(false);
    expect(isTracedError({ ...base, expose: 'yes' })).toBe(false);
    expect(isTracedError({ ...base, [brand]: 'true' })).toBe(false);
  });

  it('never throws for Proxies, revoked Proxies and throwing getters', () => {
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    const getter = Object.defineProperty({}, Symbol.for('tracewire.error.TracedError'), {
      get() {
        throw new Error('getter');
      },
    });
    for (const value of [hostileProxy(), hostileProxy(new TracedError('x')), revocable.proxy, getter]) {
      expect(isTracedError(value)).toBe(false);
    }
  });

  it('recognises a TracedError from a second copy of the module (another install)', async () => {
    // A query string makes Vite evaluate the same source file as a separate module instance: a
    // second TracedError class and isTracedError, which is what two installed copies of the
    // package look like at runtime (same Symbol.for brand, different class identity).
    const specifier = '../src/traced-error.ts?second-copy';
    const copy = (await import(/* @vite-ignore */ specifier)) as typeof import('../src/traced-error.js');
    expect(copy.TracedError).not.toBe(TracedError);
    const foreign = inSpan(
      otel.tracer,
      'other-copy',
      () => new copy.TracedError('from the other copy', { code: GrpcCode.NOT_FOUND }),
    );
    expect(foreign).not.toBeInstanceOf(TracedError);
    expect(isTracedError(foreign)).toBe(true);
    expect(copy.isTracedError(new TracedError('ours'))).toBe(true);
    expect(errors.toTracedError(foreign)).toBe(foreign);
    expect(errors.toProblemDetails(foreign)).toMatchObject({
      status: 404,
      detail: 'from the other copy',
      traceId: foreign.traceId,
    });
    const wrapped = errors.wrapError(foreign, 'outer');
    expect(wrapped.code).toBe(GrpcCode.NOT_FOUND);
    expect(wrapped.spanId).toBe(foreign.spanId);
  });
});
