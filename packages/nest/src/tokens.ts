/**
 * Injection token of the resolved {@link OtelModuleOptions} (validated). Inject it with
 * `@Inject(OTEL_MODULE_OPTIONS)`.
 *
 * @example
 * constructor(@Inject(OTEL_MODULE_OPTIONS) options: OtelModuleOptions) {}
 */
export const OTEL_MODULE_OPTIONS: unique symbol = Symbol.for('tracewire.nest.options');

/** @internal The module's `HttpServerInstrumentation`. */
export const OTEL_HTTP_INSTRUMENTATION: unique symbol = Symbol.for('tracewire.nest.http-instrumentation');

/** @internal The application's route table (handler names by route template). */
export const OTEL_ROUTE_TABLE: unique symbol = Symbol.for('tracewire.nest.route-table');
