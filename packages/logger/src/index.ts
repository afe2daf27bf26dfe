// Public API of @tracewire/logger. An explicit list: nothing under ./internal is exported.

export type { CreateLoggerOptions, Logger, LogSerializer } from './create-logger.js';
export { createLogger } from './create-logger.js';
export type { LogLimits } from './limits.js';
export { DEFAULT_LOG_LIMITS } from './limits.js';
export type { OtelLoggerLike, OtelLoggerProviderLike, OtelLogRecord, OtelLogsOptions } from './otel-logs.js';
export { hasGlobalLogsApi } from './otel-logs.js';
export type { FlushableLike, ProcessHandlersOptions, ProcessLoggerLike } from './process-handlers.js';
export { installProcessHandlers } from './process-handlers.js';
export type { RedactOptions } from './redaction.js';
export { DEFAULT_REDACT_PATHS } from './redaction.js';
export type { KoaContextLike, NextFunction, RequestLoggerOptions } from './request-logger.js';
export { koaRequestLogger, requestLogger } from './request-logger.js';
export type { TraceFields } from './trace-fields.js';
export { TRACE_FIELD_NAMES, traceFields } from './trace-fields.js';
