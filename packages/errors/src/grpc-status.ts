import { type GrpcCode, grpcCodeName } from './grpc-code.js';
import { truncate } from './internal/safe.js';
import { snapshotTracedError } from './internal/snapshot.js';
import { activeSpanIds } from './internal/span-context.js';
import { toTracedError } from './normalize.js';
import { isServerError } from './status-mapping.js';

/**
 * The metadata key under which {@link toGrpcStatus} reports the trace id.
 *
 * @example
 * ```ts
 * const traceId = serviceError.metadata.get(TRACE_ID_METADATA_KEY)[0];
 * ```
 */
export const TRACE_ID_METADATA_KEY = 'trace-id' as const;

/**
 * What a gRPC server should send for an error: the shape of grpc-js's `StatusObject`, with
 * metadata as a plain record (the adapter copies it into a `Metadata` instance).
 *
 * @example
 * ```ts
 * const status: GrpcStatus = { code: GrpcCode.NOT_FOUND, details: 'no such user', metadata: {} };
 * ```
 */
export interface GrpcStatus {
  code: GrpcCode;
  details: string;
  metadata: Record<string, string>;
}

/** grpc-js's rules (src/metadata.ts): legal keys, and values of non-binary (ASCII) keys. */
const LEGAL_KEY = /^[0-9a-z_.-]+$/;
const LEGAL_VALUE = /^[ -~]*$/;
const MAX_DETAILS = 1024;

function addMetadata(metadata: Record<string, string>, key: string, value: string): void {
  // Keys ending in "-bin" are binary in gRPC and would need base64; we never use one.
  if (LEGAL_KEY.test(key) && !key.endsWith('-bin') && LEGAL_VALUE.test(value)) metadata[key] = value;
}

/**
 * The gRPC status to send for any thrown value. Never throws.
 *
 * - `code` is the error's code after normalization with `toTracedError` (never OK);
 * - `details` is the message only for exposed errors whose code is not a server error and whose
 *   HTTP status is < 500 (capped at 1024 characters); otherwise the code name, e.g. `'INTERNAL'`;
 * - `metadata` holds the trace id under {@link TRACE_ID_METADATA_KEY} when known (captured by the
 *   error, else the active span). Keys and values are checked against grpc-js's rules
 *   (`/^[0-9a-z_.-]+$/`, `/^[ -~]*$/`) so adding them to `Metadata` cannot throw.
 *
 * @example
 * ```ts
 * const { code, details, metadata } = toGrpcStatus(err);
 * const md = new Metadata();
 * for (const [key, value] of Object.entries(metadata)) md.set(key, value);
 * callback({ code, details, metadata: md });
 * ```
 */
export function toGrpcStatus(err: unknown): GrpcStatus {
  try {
    const s = snapshotTracedError(toTracedError(err));
    const exposed = s.expose && !isServerError(s.code) && s.httpStatus < 500 && s.message !== '';
    const metadata: Record<string, string> = {};
    const traceId = s.ids?.traceId ?? activeSpanIds()?.traceId;
    if (traceId !== undefined) addMetadata(metadata, TRACE_ID_METADATA_KEY, traceId);
    return {
      code: s.code,
      details: exposed ? truncate(s.message, MAX_DETAILS) : grpcCodeName(s.code),
      metadata,
    };
  } catch {
    return { code: 13, details: 'INTERNAL', metadata: {} };
  }
}
