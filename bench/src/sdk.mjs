// SDK set-up shared by the benchmark servers: the 3.x line, a BatchSpanProcessor whose exporter
// discards (but counts, for the census) and a periodic metric reader whose exporter discards.
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

export const census = { spans: 0, names: new Map(), instruments: new Set() };

// Counts every ended span before the batch processor, which may drop spans under load.
const countingProcessor = {
  onStart() {},
  onEnd(span) {
    census.spans++;
    if (census.names.size < 32 || census.names.has(span.name))
      census.names.set(span.name, (census.names.get(span.name) ?? 0) + 1);
  },
  async forceFlush() {},
  async shutdown() {},
};

const spanExporter = {
  export(_spans, done) {
    done({ code: 0 });
  },
  async shutdown() {},
  async forceFlush() {},
};

const metricExporter = {
  export(batch, done) {
    for (const scope of batch.scopeMetrics)
      for (const m of scope.metrics) census.instruments.add(m.descriptor.name);
    done({ code: 0 });
  },
  async forceFlush() {},
  async shutdown() {},
};

/** Registers a global SDK. `sampling`: 'on' | 'off'. Returns a flush function. */
export function setupSdk(sampling = 'on') {
  const manager = new AsyncLocalStorageContextManager();
  manager.enable();
  context.setGlobalContextManager(manager);
  // What NodeSDK registers by default: the floors' `propagation.extract` then does real work, as
  // every instrumentation's does in a real service (without it, the global propagator is a no-op).
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  const tracerProvider = new TracerProvider({
    sampler: sampling === 'off' ? new AlwaysOffSampler() : new AlwaysOnSampler(),
    spanProcessors: [countingProcessor, new BatchSpanProcessor({ exporter: spanExporter })],
  });
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 2000 })],
  });
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  return async () => {
    await tracerProvider.forceFlush();
    await meterProvider.forceFlush();
  };
}
