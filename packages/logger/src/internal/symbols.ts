// Keys shared with other copies of this package (two installs, a bundle) use Symbol.for, so a
// request logger or process handler from one copy understands a logger from another.

/** On a logger: a Context whose span is used when none is active (set by the request loggers). */
export const FALLBACK_CONTEXT: unique symbol = Symbol.for('tracewire.logger.fallbackContext');

/**
 * On a merging object: `{ traceId, spanId, traceFlags? }` to write instead of the active span's
 * ids (the process handlers use it for the trace an error was created in). A symbol key cannot
 * come from parsed JSON input, so request data cannot forge it.
 */
export const TRACE_OVERRIDE: unique symbol = Symbol.for('tracewire.logger.traceOverride');

/** On a logger (inherited by its children): what process handlers need to flush it. */
export const LOGGER_STATE: unique symbol = Symbol.for('tracewire.logger.state');

/** On `process`: the installed process handlers (idempotence). */
export const PROCESS_HANDLERS: unique symbol = Symbol.for('tracewire.logger.processHandlers');

/** The tracewire server request of a Node request (set by `@tracewire/core`'s HTTP lifecycle). */
export const SERVER_REQUEST: unique symbol = Symbol.for('tracewire.http.server.request');

/** What {@link LOGGER_STATE} holds. */
export interface LoggerState {
  /** The LoggerProvider the Logs bridge emits to, if the bridge is on and one is available. */
  loggerProvider(): unknown;
  /** How many records so far could not be written as they were. */
  failures(): number;
}
