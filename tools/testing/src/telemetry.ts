import { type Attributes, context, type Histogram } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram as HistogramValue,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  type Sampler,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

let installed = false;

/** Registers the AsyncLocalStorage context manager once per process (the API's context is global). */
export function installContextManager(): void {
  if (installed) return;
  const manager = new AsyncLocalStorageContextManager();
  manager.enable();
  context.setGlobalContextManager(manager);
  installed = true;
}

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** One data point of a collected metric, flattened for assertions. */
export interface CollectedPoint {
  name: string;
  attributes: Attributes;
  /** Sum/gauge value, or the histogram count. */
  value: number;
  /** Histogram sum, when a histogram. */
  sum?: number;
  /** Histogram bucket boundaries, when a histogram. */
  boundaries?: number[];
}

export interface Telemetry {
  tracerProvider: TracerProvider;
  meterProvider: MeterProvider;
  exporter: InMemorySpanExporter;
  /** Finished spans so far. */
  spans(): ReadableSpan[];
  /** Waits until at least `n` spans have finished (or fails after `timeoutMs`). */
  waitForSpans(n: number, timeoutMs?: number): Promise<ReadableSpan[]>;
  /** Collects every metric point now (since the last `reset()`). */
  collect(): Promise<CollectedPoint[]>;
  /** Points of one metric. */
  points(name: string): Promise<CollectedPoint[]>;
  /** Forgets finished spans and starts a new meter provider (read `meterProvider` again after). */
  reset(): void;
  shutdown(): Promise<void>;
}

/** A real SDK: tracer provider with an in-memory exporter, meter provider with a pull reader. */
export function createTelemetry(options: { sampler?: Sampler } = {}): Telemetry {
  installContextManager();
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    ...(options.sampler ? { sampler: options.sampler } : {}),
  });
  let reader = new TestReader();
  let meterProvider = new MeterProvider({ readers: [reader] });

  const collect = async (): Promise<CollectedPoint[]> => {
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length > 0) throw errors[0];
    const out: CollectedPoint[] = [];
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        for (const p of metric.dataPoints as DataPoint<unknown>[]) {
          const v = p.value;
          if (typeof v === 'number') {
            out.push({ name: metric.descriptor.name, attributes: p.attributes, value: v });
          } else {
            const h = v as HistogramValue;
            out.push({
              name: metric.descriptor.name,
              attributes: p.attributes,
              value: h.count,
              sum: h.sum,
              boundaries: h.buckets.boundaries,
            });
          }
        }
      }
    }
    return out;
  };

  return {
    tracerProvider,
    get meterProvider() {
      return meterProvider;
    },
    exporter,
    spans: () => exporter.getFinishedSpans(),
    async waitForSpans(n, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (exporter.getFinishedSpans().length < n) {
        if (Date.now() > deadline) {
          throw new Error(`expected ${n} spans, got ${exporter.getFinishedSpans().length}`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      return exporter.getFinishedSpans();
    },
    collect,
    async points(name) {
      return (await collect()).filter((p) => p.name === name);
    },
    reset() {
      exporter.reset();
      // Metrics are cumulative: a fresh provider gives the next test a clean slate.
      void meterProvider.shutdown();
      reader = new TestReader();
      meterProvider = new MeterProvider({ readers: [reader] });
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

export type { Histogram };
