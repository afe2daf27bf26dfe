import { GrpcCode, isGrpcCode } from './grpc-code.js';
import { isIntegerIn } from './internal/checks.js';

/**
 * The canonical gRPC code -> HTTP status table.
 *
 * Source: googleapis `google/rpc/code.proto`, where each `google.rpc.Code` documents its "HTTP
 * Mapping"; grpc-gateway (`runtime.HTTPStatusFromCode`) and Envoy's grpc-json transcoder use the
 * same table. 499 is the nginx "Client Closed Request" status used by code.proto for CANCELLED.
 */
const HTTP_STATUS_BY_CODE: Readonly<Record<GrpcCode, number>> = Object.freeze({
  [GrpcCode.OK]: 200,
  [GrpcCode.CANCELLED]: 499,
  [GrpcCode.UNKNOWN]: 500,
  [GrpcCode.INVALID_ARGUMENT]: 400,
  [GrpcCode.DEADLINE_EXCEEDED]: 504,
  [GrpcCode.NOT_FOUND]: 404,
  [GrpcCode.ALREADY_EXISTS]: 409,
  [GrpcCode.PERMISSION_DENIED]: 403,
  [GrpcCode.RESOURCE_EXHAUSTED]: 429,
  [GrpcCode.FAILED_PRECONDITION]: 400,
  [GrpcCode.ABORTED]: 409,
  [GrpcCode.OUT_OF_RANGE]: 400,
  [GrpcCode.UNIMPLEMENTED]: 501,
  [GrpcCode.INTERNAL]: 500,
  [GrpcCode.UNAVAILABLE]: 503,
  [GrpcCode.DATA_LOSS]: 500,
  [GrpcCode.UNAUTHENTICATED]: 401,
});

/**
 * The HTTP status for a gRPC code, per the canonical `google.rpc.Code` mapping
 * (googleapis `google/rpc/code.proto`, as used by grpc-gateway and Envoy).
 *
 * | code | status | | code | status |
 * |---|---|---|---|---|
 * | OK | 200 | | ABORTED | 409 |
 * | CANCELLED | 499 | | OUT_OF_RANGE | 400 |
 * | UNKNOWN | 500 | | UNIMPLEMENTED | 501 |
 * | INVALID_ARGUMENT | 400 | | INTERNAL | 500 |
 * | DEADLINE_EXCEEDED | 504 | | UNAVAILABLE | 503 |
 * | NOT_FOUND | 404 | | DATA_LOSS | 500 |
 * | ALREADY_EXISTS | 409 | | UNAUTHENTICATED | 401 |
 * | PERMISSION_DENIED | 403 | | FAILED_PRECONDITION | 400 |
 * | RESOURCE_EXHAUSTED | 429 | | | |
 *
 * Anything that is not a canonical code (17, -1, NaN, `'5'`, `undefined`, objects...) maps to 500:
 * a value we cannot interpret is our own failure. Never throws.
 *
 * @example
 * ```ts
 * httpStatusFromGrpcCode(GrpcCode.NOT_FOUND); // 404
 * httpStatusFromGrpcCode('5'); // 500
 * ```
 */
export function httpStatusFromGrpcCode(code: unknown): number {
  return isGrpcCode(code) ? HTTP_STATUS_BY_CODE[code] : 500;
}

/**
 * Where several codes share one HTTP status in the forward table, the code the inverse picks.
 * - 400 (INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE): INVALID_ARGUMENT, the generic
 *   "the request itself is wrong" code; the other two make stronger claims (about system state,
 *   about a range) that a bare 400 does not carry.
 * - 409 (ALREADY_EXISTS, ABORTED): ALREADY_EXISTS. code.proto tells clients to retry ABORTED at a
 *   higher level; a bare 409 gives no such promise, and the most common REST use of 409 is a
 *   duplicate create. Choosing the non-retryable code is the conservative reading.
 * - 500 (UNKNOWN, INTERNAL, DATA_LOSS): INTERNAL. DATA_LOSS claims unrecoverable data loss, and
 *   UNKNOWN is for errors from another address space; a server answering 500 means INTERNAL.
 */
const PREFERRED_CODE_FOR_SHARED_STATUS: Readonly<Record<number, GrpcCode>> = Object.freeze({
  400: GrpcCode.INVALID_ARGUMENT,
  409: GrpcCode.ALREADY_EXISTS,
  500: GrpcCode.INTERNAL,
});

/**
 * Statuses the forward table never produces but whose meaning has an obvious gRPC code.
 * - 408 Request Timeout -> DEADLINE_EXCEEDED: the server stopped waiting (RFC 9110 §15.5.9). This
 *   is the one 4xx that maps to a server-class code; the TracedError keeps 408 on the wire.
 * - 410 Gone -> NOT_FOUND: the resource is not there (RFC 9110 §15.5.11).
 * - 412 Precondition Failed, 428 Precondition Required -> FAILED_PRECONDITION (RFC 9110 §15.5.13,
 *   RFC 6585 §3): exactly "the system is not in the state the request requires".
 * - 416 Range Not Satisfiable -> OUT_OF_RANGE (RFC 9110 §15.5.17).
 */
const EXTRA_CODES_BY_STATUS: Readonly<Record<number, GrpcCode>> = Object.freeze({
  408: GrpcCode.DEADLINE_EXCEEDED,
  410: GrpcCode.NOT_FOUND,
  412: GrpcCode.FAILED_PRECONDITION,
  416: GrpcCode.OUT_OF_RANGE,
  428: GrpcCode.FAILED_PRECONDITION,
});

/** The inverse table, derived from the forward table so the two cannot drift apart. */
const CODE_BY_HTTP_STATUS: ReadonlyMap<number, GrpcCode> = buildInverse();

function buildInverse(): ReadonlyMap<number, GrpcCode> {
  const inverse = new Map<number, GrpcCode>();
  for (let code = 0; code <= 16; code++) {
    if (!isGrpcCode(code)) continue;
    const status = HTTP_STATUS_BY_CODE[code];
    if (!inverse.has(status)) inverse.set(status, PREFERRED_CODE_FOR_SHARED_STATUS[status] ?? code);
  }
  for (const [status, code] of Object.entries(EXTRA_CODES_BY_STATUS)) inverse.set(Number(status), code);
  return inverse;
}

/**
 * The gRPC code for an HTTP status, used on the *server side* to classify an error that carries an
 * HTTP status (e.g. `new TracedError(msg, { httpStatus: 404 })`).
 *
 * This is NOT gRPC's client-side HTTP->gRPC table (grpc/grpc `doc/http-grpc-status-mapping.md`),
 * which maps e.g. 404 -> UNIMPLEMENTED and 400 -> INTERNAL because it describes a proxy answering
 * instead of a gRPC server, and which says servers must not use it. Here a status the application
 * chose is translated to the code that the canonical forward table maps back to that status:
 *
 * - exact inverses of {@link httpStatusFromGrpcCode}: 200 OK, 401 UNAUTHENTICATED,
 *   403 PERMISSION_DENIED, 404 NOT_FOUND, 429 RESOURCE_EXHAUSTED, 499 CANCELLED,
 *   501 UNIMPLEMENTED, 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED;
 * - shared statuses: 400 -> INVALID_ARGUMENT, 409 -> ALREADY_EXISTS, 500 -> INTERNAL;
 * - extras: 408 -> DEADLINE_EXCEEDED, 410 -> NOT_FOUND, 412 and 428 -> FAILED_PRECONDITION,
 *   416 -> OUT_OF_RANGE;
 * - any other 4xx -> INVALID_ARGUMENT (RFC 9110 §15.5: the client seems to have erred; we cannot
 *   claim FAILED_PRECONDITION's "fix the system state first" without knowing it);
 * - any other 5xx -> INTERNAL; any other 2xx -> OK;
 * - 1xx, 3xx and anything that is not an integer 100..599 -> UNKNOWN.
 *
 * Invariant (tested): for every status 400..599 except 408, the returned code is a server error
 * ({@link isServerError}) exactly when the status is >= 500. Never throws.
 *
 * @example
 * ```ts
 * grpcCodeFromHttpStatus(404); // GrpcCode.NOT_FOUND
 * grpcCodeFromHttpStatus(422); // GrpcCode.INVALID_ARGUMENT
 * grpcCodeFromHttpStatus('404'); // GrpcCode.UNKNOWN
 * ```
 */
export function grpcCodeFromHttpStatus(status: unknown): GrpcCode {
  if (!isIntegerIn(status, 100, 599)) return GrpcCode.UNKNOWN;
  const exact = CODE_BY_HTTP_STATUS.get(status);
  if (exact !== undefined) return exact;
  if (status >= 200 && status <= 299) return GrpcCode.OK;
  if (status >= 400 && status <= 499) return GrpcCode.INVALID_ARGUMENT;
  if (status >= 500) return GrpcCode.INTERNAL;
  return GrpcCode.UNKNOWN;
}

/**
 * Whether a gRPC code is a server error: exactly the codes whose HTTP status is >= 500
 * (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS). Anything that is
 * not a canonical code is a server error too, since it maps to 500.
 *
 * This is also the set the OpenTelemetry semantic conventions for gRPC server spans mark as
 * errors (semconv "rpc-spans", gRPC status: server span status), so span status and HTTP status
 * agree. Never throws.
 *
 * @example
 * ```ts
 * isServerError(GrpcCode.UNAVAILABLE); // true
 * isServerError(GrpcCode.NOT_FOUND); // false
 * ```
 */
export function isServerError(code: unknown): boolean {
  return httpStatusFromGrpcCode(code) >= 500;
}
