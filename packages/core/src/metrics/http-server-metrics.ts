import type { Attributes, Histogram, MeterProvider, UpDownCounter } from '@opentelemetry/api';
import { metrics } from '@opentelemetry/api';
import {
  HTTP_DURATION_BUCKETS,
  METRIC_HTTP_SERVER_ACTIVE_REQUESTS,
  METRIC_HTTP_SERVER_REQUEST_DURATION,
} from '../semconv.js';

/** The two stable HTTP server instruments (semantic-conventions docs/http/http-metrics.md). */
export interface HttpServerInstruments {
  duration: Histogram<Attributes>;
  activeRequests: UpDownCounter<Attributes>;
}

/**
 * Creates the instruments lazily and again whenever the resolved meter provider changes, so a
 * middleware created before the SDK was registered still reports once it is.
 */
export class HttpServerMetrics {
  readonly #explicit: MeterProvider | undefined;
  readonly #scope: string;
  readonly #version: string;
  #provider: MeterProvider | undefined;
  #instruments: HttpServerInstruments | undefined;

  constructor(explicit: MeterProvider | undefined, scope: string, version: string) {
    this.#explicit = explicit;
    this.#scope = scope;
    this.#version = version;
  }

  get(): HttpServerInstruments {
    const provider = this.#explicit ?? metrics.getMeterProvider();
    if (provider !== this.#provider || this.#instruments === undefined) {
      const meter = provider.getMeter(this.#scope, this.#version);
      this.#instruments = {
        duration: meter.createHistogram(METRIC_HTTP_SERVER_REQUEST_DURATION, {
          description: 'Duration of HTTP server requests.',
          unit: 's',
          advice: { explicitBucketBoundaries: [...HTTP_DURATION_BUCKETS] },
        }),
        activeRequests: meter.createUpDownCounter(METRIC_HTTP_SERVER_ACTIVE_REQUESTS, {
          description: 'Number of active HTTP server requests.',
          unit: '{request}',
        }),
      };
      this.#provider = provider;
    }
    return this.#instruments;
  }
}
