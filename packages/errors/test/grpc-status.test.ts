import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcCode, TRACE_ID_METADATA_KEY, TracedError, toGrpcStatus, wrapError } from '../src/index.js';
import { hostileProxy, inSpan, setupOtel, type TestOtel, throwingGetters } from './otel.js';

let otel: TestOtel;
beforeAll(() => {
  otel = setupOtel();
});
afterAll(async () => {
  await otel.shutdown();
});

// grpc-js src/metadata.ts: legal keys and legal values of non-binary keys.
const LEGAL_KEY = /^[0-9a-z_.-]+$/;
const LEGAL_VALUE = /^[ -~]*$/;

function expectValidMetadata(metadata: Record<string, string>): void {
  for (const [key, value] of Object.entries(metadata)) {
    expect(key).toMatch(LEGAL_KEY);
    expect(key.endsWith('-bin')).toBe(false);
    expect(typeof value).toBe('string');
    expect(value).toMatch(LEGAL_VALUE);
  }
}

describe('toGrpcStatus', () => {
  it('exports the trace id key', () => {
    expect(TRACE_ID_METADATA_KEY).toBe('trace-id');
    expect(TRACE_ID_METADATA_KEY).toMatch(LEGAL_KEY);
  });

  it('sends the message of an exposed client error', () => {
    const err = new TracedError('user 42 not found', { code: GrpcCode.NOT_FOUND });
    expect(toGrpcStatus(err)).toEqual({
      code: GrpcCode.NOT_FOUND,
      details: 'user 42 not found',
      metadata: {},
    });
  });

  it('sends only the code name for server errors and non-exposed errors', () => {
    const server = new TracedError('db 10.1.2.3 down', { code: GrpcCode.UNAVAILABLE, expose: true });
    expect(toGrpcStatus(server)).toEqual({
      code: GrpcCode.UNAVAILABLE,
      details: 'UNAVAILABLE',
      metadata: {},
    });
    const hidden = new TracedError('policy 7b', { code: GrpcCode.PERMISSION_DENIED, expose: false });
    expect(toGrpcStatus(hidden).details).toBe('PERMISSION_DENIED');
    expect(toGrpcStatus(new Error('secret'))).toEqual({
      code: GrpcCode.INTERNAL,
      details: 'INTERNAL',
      metadata: {},
    });
    // A 4xx status with a server-class code (408 -> DEADLINE_EXCEEDED) is not exposed either.
    expect(toGrpcStatus(new TracedError('slow client', { httpStatus: 408, expose: true })).details).toBe(
      'DEADLINE_EXCEEDED',
    );
  });

  it('never forwards upstream ServiceError details', () => {
    const upstream = Object.assign(new Error('3 INVALID_ARGUMENT: bad shard key k-7'), {
      code: GrpcCode.INVALID_ARGUMENT,
      details: 'bad shard key k-7',
      metadata: {},
    });
    expect(toGrpcStatus(upstream)).toEqual({ code: GrpcCode.INTERNAL, details: 'INTERNAL', metadata: {} });
    const unavailable = Object.assign(new Error('14 UNAVAILABLE: no healthy upstream'), {
      code: GrpcCode.UNAVAILABLE,
      details: 'no healthy upstream',
      metadata: {},
    });
    expect(toGrpcStatus(unavailable)).toMatchObject({ code: GrpcCode.UNAVAILABLE, details: 'UNAVAILABLE' });
  });

  it('puts the trace id of the failure in metadata', () => {
    const err = inSpan(otel.tracer, 'origin', () => new TracedError('x', { code: GrpcCode.INTERNAL }));
    const wrapped = inSpan(otel.tracer, 'handler', () => wrapError(err, 'y'));
    const status = inSpan(otel.tracer, 'handler', () => toGrpcStatus(wrapped));
    expect(status.metadata).toEqual({ [TRACE_ID_METADATA_KEY]: err.traceId });
    const fromActive = inSpan(otel.tracer, 'handler', ({ traceId }) => ({
      s: toGrpcStatus('boom'),
      traceId,
    }));
    expect(fromActive.s.metadata[TRACE_ID_METADATA_KEY]).toBe(fromActive.traceId);
  });

  it('caps long exposed messages', () => {
    const err = new TracedError('x'.repeat(10_000), { code: GrpcCode.INVALID_ARGUMENT });
    expect(toGrpcStatus(err).details.length).toBe(1024);
  });

  it('ignores a forged, invalid trace id on a branded object', () => {
    const forged = {
      [Symbol.for('tracewire.error.TracedError')]: true,
      code: 5,
      httpStatus: 404,
      message: 'x',
      expose: true,
      traceId: 'bad\nvalue\u00ff',
      spanId: 'also bad',
    };
    const status = toGrpcStatus(forged);
    expect(status.metadata).toEqual({});
    expect(status.code).toBe(5);
  });

  it('never throws for hostile values', () => {
    for (const value of [hostileProxy(), throwingGetters(new Error('x')), Symbol('s'), undefined]) {
      const status = toGrpcStatus(value);
      expect(status.code).toBe(GrpcCode.INTERNAL);
      expectValidMetadata(status.metadata);
    }
  });

  it('always returns a non-OK code and grpc-js-valid metadata (property)', () => {
    const arbitraryError = fc.oneof(
      fc.anything({ withBigInt: true }),
      fc
        .record({
          message: fc.string({ unit: 'binary' }),
          code: fc.oneof(fc.integer({ min: -2, max: 20 }), fc.string()),
          status: fc.integer({ min: 0, max: 700 }),
          expose: fc.boolean(),
          details: fc.string({ unit: 'binary' }),
        })
        .map(({ message, ...rest }) => Object.assign(new Error(message), rest)),
      fc
        .record({
          message: fc.string({ unit: 'binary' }),
          code: fc.constantFrom(...Object.values(GrpcCode)),
          expose: fc.option(fc.boolean(), { nil: undefined }),
        })
        .map(({ message, code, expose }) => new TracedError(message, { code, expose })),
    );
    fc.assert(
      fc.property(arbitraryError, fc.boolean(), (err, insideSpan) => {
        const status = insideSpan ? inSpan(otel.tracer, 'prop', () => toGrpcStatus(err)) : toGrpcStatus(err);
        expect(status.code).toBeGreaterThanOrEqual(1);
        expect(status.code).toBeLessThanOrEqual(16);
        expect(typeof status.details).toBe('string');
        expectValidMetadata(status.metadata);
      }),
      { numRuns: 500 },
    );
  });
});
