// Public API of @tracewire/nest. An explicit list: nothing under ./internal is exported.

export { OtelExceptionFilter } from './exception.filter.js';
export {
  ATTR_CODE_FUNCTION_NAME,
  ATTR_NEST_CONTROLLER,
  ATTR_NEST_HANDLER,
} from './internal/handler-names.js';
export type { PinoLikeLogFn, PinoLikeLogger, TracewireNestLoggerOptions } from './logger.service.js';
export { TracewireNestLogger } from './logger.service.js';
export type { OtelModuleOptions } from './options.js';
export type { OtelModuleAsyncOptions } from './otel.module.js';
export { OtelModule } from './otel.module.js';
export type { SpanOptions } from './span.decorator.js';
export { Span } from './span.decorator.js';
export { OTEL_MODULE_OPTIONS } from './tokens.js';
export { TraceService } from './trace.service.js';
export { SCOPE_NAME, VERSION } from './version.js';
