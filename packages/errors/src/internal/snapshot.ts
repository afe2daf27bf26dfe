import { type ErrorCategory, errorCategory, isErrorCategory } from '../category.js';
import { GrpcCode, isGrpcCode } from '../grpc-code.js';
import { httpStatusFromGrpcCode } from '../status-mapping.js';
import type { TracedError } from '../traced-error.js';
import { isErrorHttpStatus } from './checks.js';
import { safeGet, safeGetString } from './safe.js';
import { type SpanIds, validSpanIds } from './span-context.js';

/** A plain, validated copy of the fields of a TracedError. */
export interface TracedSnapshot {
  readonly code: GrpcCode;
  readonly httpStatus: number;
  readonly category: ErrorCategory;
  readonly expose: boolean;
  readonly message: string;
  readonly ids: SpanIds | undefined;
  readonly details: unknown;
  readonly title: string | undefined;
  readonly type: string | undefined;
}

/**
 * Reads a TracedError once, field by field, with guarded reads and validation. A branded error may
 * come from another copy of the package (or be a hostile Proxy that answered the brand check), so
 * the formatters work on this snapshot and fall back to safe values (INTERNAL / 500 / not exposed)
 * for anything that does not validate.
 */
export function snapshotTracedError(error: TracedError): TracedSnapshot {
  const rawCode = safeGet(error, 'code');
  const code = isGrpcCode(rawCode) && rawCode !== GrpcCode.OK ? rawCode : GrpcCode.INTERNAL;
  const rawStatus = safeGet(error, 'httpStatus');
  const rawCategory = safeGet(error, 'category');
  return {
    code,
    httpStatus: isErrorHttpStatus(rawStatus) ? rawStatus : httpStatusFromGrpcCode(code),
    category: isErrorCategory(rawCategory) ? rawCategory : errorCategory(code),
    expose: safeGet(error, 'expose') === true,
    message: safeGetString(error, 'message') ?? '',
    ids: validSpanIds(safeGet(error, 'traceId'), safeGet(error, 'spanId')),
    details: safeGet(error, 'details'),
    title: safeGetString(error, 'title'),
    type: safeGetString(error, 'type'),
  };
}
