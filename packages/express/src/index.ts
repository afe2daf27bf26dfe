export type { OtelExpressErrorHandlerOptions, OtelExpressOptions } from './middleware.js';
export { otelExpress, otelExpressErrorHandler } from './middleware.js';
export { expressRoute } from './route.js';
