import type { Context, Tracer, TracerProvider } from '@opentelemetry/api';
import { trace } from '@opentelemetry/api';
import { SCOPE_NAME, VERSION } from '../version.js';

/**
 * Context key under which the Nest request context carries the module's tracer provider, so
 * `@Span` and `TraceService` use the provider given to `OtelModule.forRoot()` for spans created
 * while handling a request. A `Symbol.for` key, so two copies of the package agree.
 */
export const TRACER_PROVIDER_KEY: symbol = Symbol.for('tracewire.nest.tracer-provider');

/** Process-wide fallback slot: the provider of the most recently created OtelModule. */
const GLOBAL_SLOT = Symbol.for('tracewire.nest.default-tracer-provider');

type Slot = Record<symbol, TracerProvider | undefined>;

/** @internal Records the tracer provider of a newly created OtelModule (or clears it). */
export function setDefaultTracerProvider(provider: TracerProvider | undefined): void {
  (globalThis as unknown as Slot)[GLOBAL_SLOT] = provider;
}

const tracers = new WeakMap<TracerProvider, Tracer>();

/**
 * The tracer for spans created by `@Span` and `TraceService`: the provider carried by the active
 * context (set by the module's middleware), else the one of the last OtelModule created, else the
 * global provider, resolved on every call so an SDK registered later is used.
 */
export function resolveTracer(active: Context, explicit?: TracerProvider): Tracer {
  const fromContext = active.getValue(TRACER_PROVIDER_KEY) as TracerProvider | undefined;
  const provider =
    explicit ?? fromContext ?? (globalThis as unknown as Slot)[GLOBAL_SLOT] ?? trace.getTracerProvider();
  let tracer = tracers.get(provider);
  if (tracer === undefined) {
    tracer = provider.getTracer(SCOPE_NAME, VERSION);
    tracers.set(provider, tracer);
  }
  return tracer;
}
