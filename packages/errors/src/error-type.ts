import { grpcCodeName } from './grpc-code.js';
import { snapshotTracedError } from './internal/snapshot.js';
import { toTracedError } from './normalize.js';

/**
 * A low-cardinality value for the OpenTelemetry `error.type` attribute (semconv "error.type":
 * predictable, low cardinality). Never the error message. Never throws.
 *
 * - `protocol: 'grpc'` (default): the gRPC code name after normalization, one of 16 names
 *   (`'NOT_FOUND'`, `'INTERNAL'`, ... never `'OK'`);
 * - `protocol: 'http'`: the HTTP status as a string, `'400'`..`'599'`, as semconv recommends
 *   for HTTP spans.
 *
 * @example
 * ```ts
 * span.setAttribute('error.type', errorTypeOf(err)); // e.g. 'UNAVAILABLE'
 * ```
 */
export function errorTypeOf(err: unknown, protocol: 'grpc' | 'http' = 'grpc'): string {
  try {
    const s = snapshotTracedError(toTracedError(err));
    return protocol === 'http' ? String(s.httpStatus) : grpcCodeName(s.code);
  } catch {
    return protocol === 'http' ? '500' : 'INTERNAL';
  }
}
