/** Instrumentation scope version; kept in step with package.json by the release script. */
export const VERSION = '0.1.0';
/** Instrumentation scope name. */
export const SCOPE_NAME = '@tracewire/fastify';
