// Public API of @tracewire/fastify. An explicit list: nothing under ./internal is exported.

export type {
  FastifyErrorReplyLike,
  FastifyErrorRequestLike,
  OtelFastifyErrorHandler,
  OtelFastifyErrorHandlerOptions,
} from './error-handler.js';
export { otelFastifyErrorHandler } from './error-handler.js';
export type { FastifyInstanceLike, OtelFastifyOptions, OtelFastifyPlugin } from './plugin.js';
export { instrumentFastify, otelFastify } from './plugin.js';
export { fastifyRoute } from './route.js';
export { SCOPE_NAME, VERSION } from './version.js';
