import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorTypeOf, GrpcCode, grpcCodeName, TracedError } from '../src/index.js';
import { hostileProxy } from './otel.js';

describe('errorTypeOf', () => {
  it('is the gRPC code name by default and never the message', () => {
    expect(errorTypeOf(new TracedError('user 42 not found', { code: GrpcCode.NOT_FOUND }))).toBe('NOT_FOUND');
    expect(errorTypeOf(new Error('user 42 exploded'))).toBe('INTERNAL');
    expect(errorTypeOf(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('UNAVAILABLE');
    expect(errorTypeOf(hostileProxy())).toBe('INTERNAL');
  });

  it('is the HTTP status string for protocol http', () => {
    expect(errorTypeOf(new TracedError('x', { code: GrpcCode.NOT_FOUND }), 'http')).toBe('404');
    expect(errorTypeOf('boom', 'http')).toBe('500');
  });

  it('stays within a bounded set (property)', () => {
    const names = new Set(Object.keys(GrpcCode).filter((name) => name !== 'OK'));
    fc.assert(
      fc.property(fc.anything({ withBigInt: true }), fc.string(), (value, message) => {
        const err = Object.assign(
          new Error(message),
          typeof value === 'object' && value !== null ? value : { value },
        );
        for (const candidate of [value, err]) {
          expect(names.has(errorTypeOf(candidate))).toBe(true);
          expect(errorTypeOf(candidate, 'http')).toMatch(/^[45]\d\d$/);
        }
      }),
    );
    expect(names.size).toBe(16);
    expect([...names].every((name) => grpcCodeName(GrpcCode[name as keyof typeof GrpcCode]) === name)).toBe(
      true,
    );
  });
});
