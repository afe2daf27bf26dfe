import { GrpcCode, isGrpcCode } from './grpc-code.js';

/**
 * Every error category, in a fixed order. A small closed set so it can be used as a metric or
 * span attribute value without cardinality concerns.
 *
 * @example
 * ```ts
 * for (const category of ERROR_CATEGORIES) counter.add(0, { 'error.category': category });
 * ```
 */
export const ERROR_CATEGORIES = [
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
] as const;
Object.freeze(ERROR_CATEGORIES);

/**
 * A coarse, protocol-neutral error category.
 *
 * `dependency` is never derived from a code alone: {@link toTracedError} assigns it to failures of
 * a call *we* made (network errors, upstream gRPC errors, HTTP client errors), and applications
 * can set it through the `category` option of `TracedError`.
 *
 * @example
 * ```ts
 * const category: ErrorCategory = errorCategory(GrpcCode.NOT_FOUND); // 'not_found'
 * ```
 */
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

/** Category per code; typed data, indexed by the code. */
const CATEGORY_BY_CODE: Readonly<Record<GrpcCode, ErrorCategory>> = Object.freeze({
  [GrpcCode.OK]: 'ok',
  [GrpcCode.CANCELLED]: 'cancelled',
  [GrpcCode.UNKNOWN]: 'internal',
  [GrpcCode.INVALID_ARGUMENT]: 'invalid_request',
  [GrpcCode.DEADLINE_EXCEEDED]: 'timeout',
  [GrpcCode.NOT_FOUND]: 'not_found',
  [GrpcCode.ALREADY_EXISTS]: 'conflict',
  [GrpcCode.PERMISSION_DENIED]: 'forbidden',
  [GrpcCode.RESOURCE_EXHAUSTED]: 'rate_limited',
  // FAILED_PRECONDITION and OUT_OF_RANGE both answer 400: the request cannot be served as sent.
  [GrpcCode.FAILED_PRECONDITION]: 'invalid_request',
  // ABORTED is a concurrency conflict (code.proto), which HTTP also reports as 409 Conflict.
  [GrpcCode.ABORTED]: 'conflict',
  [GrpcCode.OUT_OF_RANGE]: 'invalid_request',
  [GrpcCode.UNIMPLEMENTED]: 'unimplemented',
  [GrpcCode.INTERNAL]: 'internal',
  [GrpcCode.UNAVAILABLE]: 'unavailable',
  // DATA_LOSS is unrecoverable and ours to fix; it is an internal failure for the caller.
  [GrpcCode.DATA_LOSS]: 'internal',
  [GrpcCode.UNAUTHENTICATED]: 'unauthenticated',
});

/**
 * The category of a gRPC code. Anything that is not a canonical code is `internal` (it maps to
 * HTTP 500). Never throws.
 *
 * @example
 * ```ts
 * errorCategory(GrpcCode.RESOURCE_EXHAUSTED); // 'rate_limited'
 * errorCategory(99); // 'internal'
 * ```
 */
export function errorCategory(code: unknown): ErrorCategory {
  return isGrpcCode(code) ? CATEGORY_BY_CODE[code] : 'internal';
}

/**
 * Whether `value` is one of {@link ERROR_CATEGORIES}.
 *
 * @example
 * ```ts
 * isErrorCategory('timeout'); // true
 * ```
 */
export function isErrorCategory(value: unknown): value is ErrorCategory {
  return typeof value === 'string' && (ERROR_CATEGORIES as readonly string[]).includes(value);
}
