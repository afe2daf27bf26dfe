import type { Meter, MeterProvider, Tracer, TracerProvider } from '@opentelemetry/api';
import { metrics, ProxyTracerProvider, trace } from '@opentelemetry/api';
import type { RateLimitedDiag } from './internal/diag.js';
import { warnIfUnsupportedRuntime } from './runtime-version.js';

// Pieces every tracewire instrumentation shares (HTTP server, gRPC, pg): providers resolved
// lazily, user hooks contained, exceptions recorded without their `code`.

// The API's no-op tracer provider: what a fresh proxy delegates to until an SDK is registered. Only
// reachable this way (the API does not export it).
const NOOP_TRACER_PROVIDER: TracerProvider = new ProxyTracerProvider().getDelegate();

/**
 * A tracer resolved on use, from the explicit provider or the global one, and again whenever the
 * resolved provider changes: an SDK registered after the middleware was created is still used.
 */
export class LazyTracer {
  readonly #explicit: TracerProvider | undefined;
  readonly #name: string;
  readonly #version: string;
  #provider: TracerProvider | undefined;
  #tracer: Tracer | undefined;
  #noop = false;

  constructor(explicit: TracerProvider | undefined, name: string, version: string) {
    this.#explicit = explicit;
    this.#name = name;
    this.#version = version;
    // Every instrumentation (HTTP, gRPC, pg) creates one at setup: the place to say, once, that the
    // runtime is older than `engines.node` allows.
    warnIfUnsupportedRuntime();
  }

  get(): Tracer {
    const provider = this.#explicit ?? trace.getTracerProvider();
    if (provider !== this.#provider || this.#tracer === undefined) {
      this.#tracer = provider.getTracer(this.#name, this.#version);
      this.#provider = provider;
    }
    // No SDK registered: the global proxy still delegates to the API's no-op provider. Checked on
    // every call, because registering an SDK changes the proxy's delegate, not the proxy.
    this.#noop = provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_TRACER_PROVIDER;
    return this.#tracer;
  }

  /**
   * Whether the tracer returned by the last {@link get} is the API's no-op (no SDK registered): its
   * spans record nothing, so span attributes need not be built. An explicit provider, or one from
   * another copy of the API, is never taken for a no-op.
   */
  get noop(): boolean {
    return this.#noop;
  }
}

/**
 * A set of instruments created on use, from the explicit meter provider or the global one, and
 * created again whenever the resolved provider changes (the metrics API has no proxy provider).
 */
export class LazyInstruments<T> {
  readonly #explicit: MeterProvider | undefined;
  readonly #name: string;
  readonly #version: string;
  readonly #create: (meter: Meter) => T;
  #provider: MeterProvider | undefined;
  #instruments: T | undefined;

  constructor(
    explicit: MeterProvider | undefined,
    name: string,
    version: string,
    create: (meter: Meter) => T,
  ) {
    this.#explicit = explicit;
    this.#name = name;
    this.#version = version;
    this.#create = create;
  }

  get(): T {
    const provider = this.#explicit ?? metrics.getMeterProvider();
    if (provider !== this.#provider || this.#instruments === undefined) {
      this.#instruments = this.#create(provider.getMeter(this.#name, this.#version));
      this.#provider = provider;
    }
    return this.#instruments;
  }
}

/**
 * Runs a user callback (hook, predicate, formatter); a throw is contained, reported through the
 * rate-limited `diag` under `hook`, and `undefined` is returned so the caller uses its default.
 */
export function callHook<A extends unknown[], R>(
  diag: RateLimitedDiag,
  hook: string,
  fn: (...args: A) => R,
  ...args: A
): R | undefined {
  try {
    return fn(...args);
  } catch (error) {
    diag.error(`hook:${hook}`, `the ${hook} hook threw; tracewire used its default`, error);
    return undefined;
  }
}

/**
 * Whether a request is public (`publicEndpoint`): its inbound context is only linked and its
 * baggage dropped. A throwing predicate treats it as public: the safe side of a trust decision.
 */
export function isPublicRequest<T>(
  diag: RateLimitedDiag,
  option: boolean | ((request: T) => boolean) | undefined,
  request: T,
): boolean {
  if (option === undefined || option === false) return false;
  if (option === true) return true;
  try {
    return option(request) === true;
  } catch (error) {
    diag.error(
      'hook:publicEndpoint',
      'the publicEndpoint predicate threw; the request is treated as public',
      error,
    );
    return true;
  }
}

/** What `span.recordException` is given for an error. */
export interface RecordableException {
  name: string;
  message: string;
  stack?: string;
}

/**
 * The SDK takes `exception.type` from an error's `code` when it has one, which would turn a
 * TracedError (numeric gRPC code) or a Node system error into a type of "5" or "ECONNREFUSED".
 * Handing it name, message and stack only keeps `exception.type` the class name. Never throws.
 */
export function toRecordableException(error: unknown): RecordableException {
  try {
    if (error instanceof Error) {
      const out: RecordableException = { name: String(error.name), message: String(error.message) };
      if (typeof error.stack === 'string') out.stack = error.stack;
      return out;
    }
  } catch {
    // A hostile error object (throwing getters, Proxy): fall through to the generic description.
  }
  return { name: 'non-error thrown', message: error === null ? 'null' : typeof error };
}
