import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CATEGORIES, errorCategory, GrpcCode, isErrorCategory } from '../src/index.js';

describe('errorCategory', () => {
  it.each([
    [GrpcCode.OK, 'ok'],
    [GrpcCode.CANCELLED, 'cancelled'],
    [GrpcCode.UNKNOWN, 'internal'],
    [GrpcCode.INVALID_ARGUMENT, 'invalid_request'],
    [GrpcCode.DEADLINE_EXCEEDED, 'timeout'],
    [GrpcCode.NOT_FOUND, 'not_found'],
    [GrpcCode.ALREADY_EXISTS, 'conflict'],
    [GrpcCode.PERMISSION_DENIED, 'forbidden'],
    [GrpcCode.RESOURCE_EXHAUSTED, 'rate_limited'],
    [GrpcCode.FAILED_PRECONDITION, 'invalid_request'],
    [GrpcCode.ABORTED, 'conflict'],
    [GrpcCode.OUT_OF_RANGE, 'invalid_request'],
    [GrpcCode.UNIMPLEMENTED, 'unimplemented'],
    [GrpcCode.INTERNAL, 'internal'],
    [GrpcCode.UNAVAILABLE, 'unavailable'],
    [GrpcCode.DATA_LOSS, 'internal'],
    [GrpcCode.UNAUTHENTICATED, 'unauthenticated'],
  ] as const)('code %i -> %s', (code, category) => {
    expect(errorCategory(code)).toBe(category);
  });

  it('is internal for anything else and always in ERROR_CATEGORIES', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true }), (value) => {
        const category = errorCategory(value);
        expect(ERROR_CATEGORIES).toContain(category);
        if (typeof value !== 'number') expect(category).toBe('internal');
      }),
    );
  });
});

describe('ERROR_CATEGORIES', () => {
  it('is the closed, frozen set', () => {
    expect([...ERROR_CATEGORIES].sort()).toEqual(
      [
        'ok',
        'invalid_request',
        'unauthenticated',
        'forbidden',
        'not_found',
        'conflict',
        'rate_limited',
        'cancelled',
        'timeout',
        'unimplemented',
        'unavailable',
        'internal',
        'dependency',
      ].sort(),
    );
    expect(Object.isFrozen(ERROR_CATEGORIES)).toBe(true);
    expect(new Set(ERROR_CATEGORIES).size).toBe(ERROR_CATEGORIES.length);
  });

  it('isErrorCategory recognises members only', () => {
    for (const category of ERROR_CATEGORIES) expect(isErrorCategory(category)).toBe(true);
    for (const other of ['', 'Internal', 'error', 42, null, undefined])
      expect(isErrorCategory(other)).toBe(false);
  });
});
