/** Instrumentation scope version; kept in step with package.json by the release script. */
export const VERSION = '0.1.0';
/** Instrumentation scope name (also the OpenTelemetry Logs scope of bridged records). */
export const SCOPE_NAME = '@tracewire/logger';
