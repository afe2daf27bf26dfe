import type {
  Attributes,
  Histogram,
  Meter,
  MeterProvider,
  ObservableResult,
  UpDownCounter,
} from '@opentelemetry/api';
import { createNoopMeter } from '@opentelemetry/api';
import { LazyInstruments } from '../instrumentation-scope.js';
import {
  HTTP_DURATION_BUCKETS,
  METRIC_HTTP_SERVER_ACTIVE_REQUESTS,
  METRIC_HTTP_SERVER_REQUEST_DURATION,
} from '../semconv.js';

/** The two stable HTTP server instruments (semantic-conventions docs/http/http-metrics.md). */
export interface HttpServerInstruments {
  duration: Histogram<Attributes>;
  /**
   * `http.server.active_requests`: `add` counts a request in (+1) or out (-1) of a plain number per
   * attribute set; the SDK reads those numbers when it collects (an observable up-down counter).
   */
  activeRequests: UpDownCounter<Attributes>;
}

/**
 * Creates the instruments lazily and again whenever the resolved meter provider changes, so a
 * middleware created before the SDK was registered still reports once it is.
 */
export class HttpServerMetrics extends LazyInstruments<HttpServerInstruments> {
  constructor(explicit: MeterProvider | undefined, scope: string, version: string) {
    super(explicit, scope, version, createHttpServerInstruments);
  }
}

/** The API's no-op meter (a singleton): what the global provider gives without an SDK. */
const NOOP_METER: Meter = createNoopMeter();

function createHttpServerInstruments(meter: Meter): HttpServerInstruments {
  const duration = meter.createHistogram(METRIC_HTTP_SERVER_REQUEST_DURATION, {
    description: 'Duration of HTTP server requests.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...HTTP_DURATION_BUCKETS] },
  });
  const options = { description: 'Number of active HTTP server requests.', unit: '{request}' };
  // No SDK: the API's no-op counter (nothing to count for).
  if (meter === NOOP_METER)
    return {
      duration,
      activeRequests: meter.createUpDownCounter(METRIC_HTTP_SERVER_ACTIVE_REQUESTS, options),
    };
  return { duration, activeRequests: sharedInFlight(meter, options) };
}

/**
 * Where the in-flight counts of each meter live: one set of counts and one callback per meter (the
 * SDK gives every middleware of the same adapter the same meter), so two middlewares (two apps, or
 * two copies of this package) add into the same series instead of each reporting its own value
 * for the same attribute set, which the SDK would not add up. Global, under a `Symbol.for` key.
 */
const REGISTRY = Symbol.for('tracewire.core.http.server.inFlight.v1');

function sharedInFlight(
  meter: Meter,
  options: { description: string; unit: string },
): UpDownCounter<Attributes> {
  const global = globalThis as { [REGISTRY]?: WeakMap<Meter, UpDownCounter<Attributes>> };
  let registry = global[REGISTRY];
  if (registry === undefined) {
    registry = new WeakMap();
    global[REGISTRY] = registry;
  }
  let counts = registry.get(meter);
  if (counts === undefined) {
    const created = new InFlightRequests();
    meter
      .createObservableUpDownCounter(METRIC_HTTP_SERVER_ACTIVE_REQUESTS, options)
      .addCallback((result) => created.observe(result));
    counts = created;
    registry.set(meter, counts);
  }
  return counts;
}

/** At most this many in-flight series (see {@link InFlightRequests}). */
const MAX_SERIES = 200;

interface Series {
  readonly attributes: Attributes;
  count: number;
}

/**
 * Requests in flight per attribute set, reported when metrics are collected. Two SDK measurements
 * per request (each hashes its attribute set into a JSON string) become two map lookups. The
 * exported data is what an `UpDownCounter` gives: a non-monotonic cumulative sum per attribute set,
 * every set seen reported (0 when idle). Sets are told apart by `http.request.method` and
 * `url.scheme`, the attributes semconv gives this instrument (the method is already normalized to
 * the known methods or `_OTHER`); at most {@link MAX_SERIES} of them, later ones are counted in
 * the set `{ http.request.method: _OTHER }` of their scheme.
 */
class InFlightRequests implements UpDownCounter<Attributes> {
  readonly #byMethod = new Map<unknown, Map<unknown, Series>>();
  #size = 0;

  add(value: number, attributes: Attributes = {}): void {
    if (typeof value !== 'number' || Number.isNaN(value)) return;
    let method: unknown = attributes['http.request.method'];
    const scheme: unknown = attributes['url.scheme'];
    let series = this.#byMethod.get(method)?.get(scheme);
    if (series === undefined) {
      let kept = attributes;
      if (this.#size >= MAX_SERIES) {
        method = '_OTHER';
        kept =
          scheme === undefined
            ? { 'http.request.method': '_OTHER' }
            : { 'http.request.method': '_OTHER', 'url.scheme': scheme as string };
        series = this.#byMethod.get(method)?.get(scheme);
      }
      if (series === undefined) {
        let schemes = this.#byMethod.get(method);
        if (schemes === undefined) {
          schemes = new Map();
          this.#byMethod.set(method, schemes);
        }
        series = { attributes: { ...kept }, count: 0 };
        schemes.set(scheme, series);
        this.#size++;
      }
    }
    series.count += value;
  }

  observe(result: ObservableResult<Attributes>): void {
    for (const schemes of this.#byMethod.values()) {
      for (const series of schemes.values()) result.observe(series.count, series.attributes);
    }
  }
}
