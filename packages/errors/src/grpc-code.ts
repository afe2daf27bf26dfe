/**
 * The 17 canonical gRPC status codes.
 *
 * Values and names follow `google.rpc.Code` (googleapis `google/rpc/code.proto`) and the gRPC
 * status code list (grpc/grpc `doc/statuscodes.md`). The object is frozen so no caller can
 * change the meaning of a code for everybody else in the process.
 *
 * @example
 * ```ts
 * import { GrpcCode } from '@tracewire/errors';
 * throw new TracedError('no such user', { code: GrpcCode.NOT_FOUND });
 * ```
 */
export const GrpcCode: {
  readonly OK: 0;
  readonly CANCELLED: 1;
  readonly UNKNOWN: 2;
  readonly INVALID_ARGUMENT: 3;
  readonly DEADLINE_EXCEEDED: 4;
  readonly NOT_FOUND: 5;
  readonly ALREADY_EXISTS: 6;
  readonly PERMISSION_DENIED: 7;
  readonly RESOURCE_EXHAUSTED: 8;
  readonly FAILED_PRECONDITION: 9;
  readonly ABORTED: 10;
  readonly OUT_OF_RANGE: 11;
  readonly UNIMPLEMENTED: 12;
  readonly INTERNAL: 13;
  readonly UNAVAILABLE: 14;
  readonly DATA_LOSS: 15;
  readonly UNAUTHENTICATED: 16;
} = Object.freeze({
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const);

/**
 * A canonical gRPC status code: one of the numbers `0..16` in {@link GrpcCode}.
 *
 * @example
 * ```ts
 * const code: GrpcCode = GrpcCode.UNAVAILABLE; // 14
 * ```
 */
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** Names indexed by code; kept as data so the name lookup never walks the object. */
const NAMES: readonly string[] = Object.freeze(Object.keys(GrpcCode));

/**
 * Whether `value` is one of the 17 canonical gRPC codes (an integer `0..16`).
 *
 * Strings such as `'5'` are rejected on purpose: gRPC codes travel as numbers in every API we
 * adapt (grpc-js `status`, `ServiceError.code`), and a string usually means a different field.
 *
 * @example
 * ```ts
 * isGrpcCode(5); // true
 * isGrpcCode('5'); // false
 * ```
 */
export function isGrpcCode(value: unknown): value is GrpcCode {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 16;
}

/**
 * The canonical upper-case name of a gRPC code, e.g. `'NOT_FOUND'` for `5`.
 * Anything that is not a canonical code yields `'UNKNOWN'`, so the result always belongs to a
 * closed set of 17 names (safe as a low-cardinality telemetry value).
 *
 * @example
 * ```ts
 * grpcCodeName(GrpcCode.NOT_FOUND); // 'NOT_FOUND'
 * grpcCodeName(42); // 'UNKNOWN'
 * ```
 */
export function grpcCodeName(code: unknown): string {
  return isGrpcCode(code) ? (NAMES[code] ?? 'UNKNOWN') : 'UNKNOWN';
}
