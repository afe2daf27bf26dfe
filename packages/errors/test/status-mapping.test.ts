import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GrpcCode,
  grpcCodeFromHttpStatus,
  grpcCodeName,
  httpStatusFromGrpcCode,
  isGrpcCode,
  isServerError,
} from '../src/index.js';

// google/rpc/code.proto "HTTP Mapping" per code.
const CANONICAL: ReadonlyArray<[GrpcCode, number]> = [
  [GrpcCode.OK, 200],
  [GrpcCode.CANCELLED, 499],
  [GrpcCode.UNKNOWN, 500],
  [GrpcCode.INVALID_ARGUMENT, 400],
  [GrpcCode.DEADLINE_EXCEEDED, 504],
  [GrpcCode.NOT_FOUND, 404],
  [GrpcCode.ALREADY_EXISTS, 409],
  [GrpcCode.PERMISSION_DENIED, 403],
  [GrpcCode.RESOURCE_EXHAUSTED, 429],
  [GrpcCode.FAILED_PRECONDITION, 400],
  [GrpcCode.ABORTED, 409],
  [GrpcCode.OUT_OF_RANGE, 400],
  [GrpcCode.UNIMPLEMENTED, 501],
  [GrpcCode.INTERNAL, 500],
  [GrpcCode.UNAVAILABLE, 503],
  [GrpcCode.DATA_LOSS, 500],
  [GrpcCode.UNAUTHENTICATED, 401],
];

const INVALID: unknown[] = [
  17,
  -1,
  Number.NaN,
  '5',
  undefined,
  null,
  2 ** 53,
  {},
  [],
  1.5,
  Number.POSITIVE_INFINITY,
  Symbol('code'),
  5n,
  () => 5,
  { valueOf: () => 5 },
];

describe('httpStatusFromGrpcCode', () => {
  it('covers all 17 codes', () => {
    expect(CANONICAL).toHaveLength(17);
  });

  it.each(CANONICAL.map(([code, status]) => [grpcCodeName(code), code, status] as const))(
    '%s (%i) -> %i',
    (_name, code, status) => {
      expect(httpStatusFromGrpcCode(code)).toBe(status);
    },
  );

  it.each(INVALID.map((value) => [String(typeof value === 'symbol' ? 'symbol' : value), value]))(
    'maps invalid input %s to 500',
    (_label, value) => {
      expect(httpStatusFromGrpcCode(value)).toBe(500);
    },
  );

  it('never throws, always returns an integer status 200..599', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withBoxedValues: true, withMap: true, withSet: true }),
        (value) => {
          const status = httpStatusFromGrpcCode(value);
          expect(Number.isInteger(status) && status >= 200 && status <= 599).toBe(true);
        },
      ),
    );
  });
});

describe('isServerError', () => {
  const SERVER = [
    GrpcCode.UNKNOWN,
    GrpcCode.DEADLINE_EXCEEDED,
    GrpcCode.UNIMPLEMENTED,
    GrpcCode.INTERNAL,
    GrpcCode.UNAVAILABLE,
    GrpcCode.DATA_LOSS,
  ];

  it('is true exactly for the six server-class codes', () => {
    for (const [code] of CANONICAL) expect(isServerError(code)).toBe((SERVER as number[]).includes(code));
  });

  it.each(INVALID.map((value) => [String(typeof value === 'symbol' ? 'symbol' : value), value]))(
    'treats invalid input %s as a server error',
    (_label, value) => {
      expect(isServerError(value)).toBe(true);
    },
  );

  it('agrees with httpStatusFromGrpcCode(c) >= 500 for every integer', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -100, max: 100 }), fc.integer(), fc.maxSafeInteger()),
        (code) => {
          expect(isServerError(code)).toBe(httpStatusFromGrpcCode(code) >= 500);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('agrees with httpStatusFromGrpcCode(c) >= 500 for arbitrary values', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything({ withBigInt: true }), fc.double(), fc.string()), (value) => {
        expect(isServerError(value)).toBe(httpStatusFromGrpcCode(value) >= 500);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('grpcCodeFromHttpStatus', () => {
  const DOCUMENTED: ReadonlyArray<[number, GrpcCode]> = [
    [200, GrpcCode.OK],
    [201, GrpcCode.OK],
    [204, GrpcCode.OK],
    [400, GrpcCode.INVALID_ARGUMENT],
    [401, GrpcCode.UNAUTHENTICATED],
    [403, GrpcCode.PERMISSION_DENIED],
    [404, GrpcCode.NOT_FOUND],
    [405, GrpcCode.INVALID_ARGUMENT],
    [408, GrpcCode.DEADLINE_EXCEEDED],
    [409, GrpcCode.ALREADY_EXISTS],
    [410, GrpcCode.NOT_FOUND],
    [412, GrpcCode.FAILED_PRECONDITION],
    [413, GrpcCode.INVALID_ARGUMENT],
    [415, GrpcCode.INVALID_ARGUMENT],
    [416, GrpcCode.OUT_OF_RANGE],
    [418, GrpcCode.INVALID_ARGUMENT],
    [422, GrpcCode.INVALID_ARGUMENT],
    [428, GrpcCode.FAILED_PRECONDITION],
    [429, GrpcCode.RESOURCE_EXHAUSTED],
    [451, GrpcCode.INVALID_ARGUMENT],
    [499, GrpcCode.CANCELLED],
    [500, GrpcCode.INTERNAL],
    [501, GrpcCode.UNIMPLEMENTED],
    [502, GrpcCode.INTERNAL],
    [503, GrpcCode.UNAVAILABLE],
    [504, GrpcCode.DEADLINE_EXCEEDED],
    [505, GrpcCode.INTERNAL],
    [599, GrpcCode.INTERNAL],
  ];

  it.each(DOCUMENTED.map(([status, code]) => [status, grpcCodeName(code), code] as const))(
    '%i -> %s',
    (status, _name, code) => {
      expect(grpcCodeFromHttpStatus(status)).toBe(code);
    },
  );

  it.each([
    100,
    101,
    199,
    300,
    301,
    304,
    399,
    600,
    999,
    0,
    -404,
    404.5,
    Number.NaN,
    '404',
    undefined,
    null,
    {},
    404n,
  ])('maps %s (1xx, 3xx, invalid) to UNKNOWN', (status) => {
    expect(grpcCodeFromHttpStatus(status)).toBe(GrpcCode.UNKNOWN);
  });

  it('is NOT the grpc client-side table (404 is not UNIMPLEMENTED, 400 is not INTERNAL)', () => {
    expect(grpcCodeFromHttpStatus(404)).not.toBe(GrpcCode.UNIMPLEMENTED);
    expect(grpcCodeFromHttpStatus(400)).not.toBe(GrpcCode.INTERNAL);
    expect(grpcCodeFromHttpStatus(429)).not.toBe(GrpcCode.UNAVAILABLE);
  });

  it('round-trips every status the forward table produces', () => {
    for (const [, status] of CANONICAL) {
      expect(httpStatusFromGrpcCode(grpcCodeFromHttpStatus(status))).toBe(status);
    }
  });

  it('is a left inverse for every code with a status of its own', () => {
    const shared = new Set([400, 409, 500]);
    for (const [code, status] of CANONICAL) {
      if (!shared.has(status)) expect(grpcCodeFromHttpStatus(status)).toBe(code);
    }
  });

  it('only the documented statuses are shared by several codes', () => {
    const counts = new Map<number, number>();
    for (const [, status] of CANONICAL) counts.set(status, (counts.get(status) ?? 0) + 1);
    const shared = [...counts].filter(([, n]) => n > 1).map(([s]) => s);
    expect(shared.sort()).toEqual([400, 409, 500]);
  });

  it('maps 4xx to client codes and 5xx to server codes (408 is the one documented exception)', () => {
    for (let status = 400; status <= 599; status++) {
      const code = grpcCodeFromHttpStatus(status);
      expect(code).not.toBe(GrpcCode.OK);
      expect(code).not.toBe(GrpcCode.UNKNOWN);
      if (status === 408) expect(isServerError(code)).toBe(true);
      else expect(isServerError(code)).toBe(status >= 500);
    }
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true }), (value) => {
        expect(isGrpcCode(grpcCodeFromHttpStatus(value))).toBe(true);
      }),
    );
  });
});
