// Runtime metrics on a real meter provider with a pull reader: names, units, and fault isolation.
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { RUNTIME_METRICS, registerExtraRuntimeMetrics } from '../src/index.js';
import { runtimeInstrumentation } from '../src/runtime-metrics.js';

class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

describe('runtime metrics', () => {
  it('exports every listed metric with its semconv unit, even when another callback throws (T64)', async () => {
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader] });
    // A broken observable on the same provider must not take the others down.
    provider
      .getMeter('broken')
      .createObservableGauge('broken.gauge')
      .addCallback(() => {
        throw new Error('stubbed perf_hooks failure');
      });
    const instrumentation = runtimeInstrumentation({ monitoringPrecision: 10 });
    instrumentation.setMeterProvider(provider);
    registerExtraRuntimeMetrics(provider);
    // The event-loop delay gauges report nothing until the histogram has samples; on a loaded
    // machine that can take a while, so poll (bounded by the test timeout) instead of sleeping.
    let collected = await reader.collect();
    const has = (name: string) =>
      collected.resourceMetrics.scopeMetrics.some((s) => s.metrics.some((m) => m.descriptor.name === name));
    while (!has('nodejs.eventloop.delay.min')) {
      await new Promise((r) => setTimeout(r, 50));
      collected = await reader.collect();
    }
    const { resourceMetrics, errors } = collected;
    instrumentation.disable();
    await provider.shutdown();
    expect(errors.map((e) => (e as Error).message)).toEqual(['stubbed perf_hooks failure']);
    const units = new Map<string, string>();
    const values = new Map<string, number[]>();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const m of scope.metrics) {
        units.set(m.descriptor.name, m.descriptor.unit);
        values.set(
          m.descriptor.name,
          m.dataPoints.map((p) => (typeof p.value === 'number' ? p.value : Number.NaN)),
        );
      }
    }
    for (const { name, unit } of RUNTIME_METRICS) {
      if (name === 'v8js.gc.duration' && !units.has(name)) continue; // recorded only after a GC ran
      expect(units.get(name), name).toBe(unit);
    }
    expect(values.get('v8js.memory.heap.limit')?.[0]).toBeGreaterThan(0);
    expect(values.get('process.memory.usage')?.[0]).toBeGreaterThan(0);
    expect(values.get('nodejs.eventloop.delay.p99')?.[0]).toBeLessThan(10); // seconds, not nanoseconds
  });
});
