import type { Attributes, Histogram, Meter, MeterProvider, UpDownCounter } from '@opentelemetry/api';
import { LazyInstruments } from '../instrumentation-scope.js';
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
export class HttpServerMetrics extends LazyInstruments<HttpServerInstruments> {
  constructor(explicit: MeterProvider | undefined, scope: string, version: string) {
    super(explicit, scope, version, createHttpServerInstruments);
  }
}

function createHttpServerInstruments(meter: Meter): HttpServerInstruments {
  return {
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
}
