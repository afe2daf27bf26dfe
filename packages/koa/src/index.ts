// Public API of @tracewire/koa. An explicit list: nothing under ./internal is exported.

export type { OtelKoaOptions } from './middleware.js';
export { otelKoa } from './middleware.js';
export { koaRoute } from './route.js';
export type { OtelKoaState } from './state.js';
export { getKoaServerRequest, OTEL_STATE_KEY } from './state.js';
