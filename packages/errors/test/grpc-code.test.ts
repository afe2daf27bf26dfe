import { describe, expect, it } from 'vitest';
import { GrpcCode, grpcCodeName, isGrpcCode } from '../src/index.js';

const NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

describe('GrpcCode', () => {
  it('has the 17 canonical codes with their canonical values', () => {
    expect(Object.keys(GrpcCode)).toEqual(NAMES);
    NAMES.forEach((name, value) => {
      expect(GrpcCode[name as keyof typeof GrpcCode]).toBe(value);
    });
  });

  it('is frozen', () => {
    expect(Object.isFrozen(GrpcCode)).toBe(true);
    expect(() => {
      (GrpcCode as Record<string, number>).OK = 5;
    }).toThrow(TypeError);
  });
});

describe('grpcCodeName', () => {
  it('names every code', () => {
    NAMES.forEach((name, value) => {
      expect(grpcCodeName(value)).toBe(name);
    });
  });

  it.each([17, -1, Number.NaN, '5', undefined, null, 2 ** 53, 1.5, {}, Symbol('x'), 5n])(
    'falls back to UNKNOWN for %s',
    (input) => {
      expect(grpcCodeName(input)).toBe('UNKNOWN');
    },
  );
});

describe('isGrpcCode', () => {
  it('accepts exactly the integers 0..16', () => {
    for (let i = -5; i <= 25; i++) expect(isGrpcCode(i)).toBe(i >= 0 && i <= 16);
  });

  it.each(['5', 5.5, Number.NaN, Number.POSITIVE_INFINITY, null, undefined, {}, [5], 5n])(
    'rejects %s',
    (input) => {
      expect(isGrpcCode(input)).toBe(false);
    },
  );
});
