// Public API of @tracewire/errors. Explicit list: everything exported here is a supported name.

export type { ErrorCategory } from './category.js';
export { ERROR_CATEGORIES, errorCategory, isErrorCategory } from './category.js';
export { errorTypeOf } from './error-type.js';
export { GrpcCode, grpcCodeName, isGrpcCode } from './grpc-code.js';
export type { GrpcStatus } from './grpc-status.js';
export { TRACE_ID_METADATA_KEY, toGrpcStatus } from './grpc-status.js';
export { httpStatusOfError } from './http-status.js';
export type { ToTracedErrorOptions } from './normalize.js';
export { toTracedError, wrapError } from './normalize.js';
export type { ProblemDetails, ProblemDetailsOptions } from './problem-details.js';
export { PROBLEM_JSON_CONTENT_TYPE, serializeProblemDetails, toProblemDetails } from './problem-details.js';
export { grpcCodeFromHttpStatus, httpStatusFromGrpcCode, isServerError } from './status-mapping.js';
export type { TracedErrorOptions } from './traced-error.js';
export { isTracedError, TracedError } from './traced-error.js';
