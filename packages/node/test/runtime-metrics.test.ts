// Runtime metrics on a real meter provider with a pull reader: names, units, attributes, GC pauses,
// fault isolation, and stop().
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { RUNTIME_METRICS, startRuntimeMetrics } from '../src/index.js';

class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

function byName(rm: ResourceMetrics) {
  const out = new Map<
    string,
    { unit: string; points: { value: unknown; attributes: Record<string, unknown> }[] }
  >();
  for (const scope of rm.scopeMetrics)
    for (const m of scope.metrics)
      out.set(m.descriptor.name, {
        unit: m.descriptor.unit,
        points: m.dataPoints.map((p) => ({ value: p.value, attributes: p.attributes })),
      });
  return out;
}

/** Collects until `done` holds (bounded by the test timeout): gauges need samples, GC needs a GC. */
async function collectUntil(reader: PullReader, done: (m: ReturnType<typeof byName>) => boolean) {
  for (;;) {
    const { resourceMetrics, errors } = await reader.collect();
    const m = byName(resourceMetrics);
    if (done(m)) return { m, errors };
    // Garbage for the GC observer, and a turn of the event loop for the delay histogram.
    let junk: unknown[] = [];
    for (let i = 0; i < 20_000; i++) junk.push({ i, s: `x${i}` });
    junk = [];
    await new Promise((r) => setTimeout(r, 30 + junk.length));
  }
}

describe('runtime metrics (perf_hooks, v8, process; no instrumentation package)', () => {
  it('exports every listed metric with its semconv unit and attributes, even when another callback throws (T64)', async () => {
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader] });
    // A broken observable on the same provider must not take the others down.
    provider
      .getMeter('broken')
      .createObservableGauge('broken.gauge')
      .addCallback(() => {
        throw new Error('stubbed perf_hooks failure');
      });
    const stop = startRuntimeMetrics(provider, { monitoringPrecision: 10 });
    const { m, errors } = await collectUntil(reader, (got) =>
      RUNTIME_METRICS.every(({ name }) => got.has(name)),
    );
    stop();
    await provider.shutdown();
    expect(errors.map((e) => (e as Error).message)).toEqual(['stubbed perf_hooks failure']);
    for (const { name, unit, attributes } of RUNTIME_METRICS) {
      const metric = m.get(name);
      expect(metric?.unit, name).toBe(unit);
      for (const point of metric?.points ?? [])
        expect(Object.keys(point.attributes).sort(), name).toEqual([...attributes]);
    }
    const first = (name: string) => m.get(name)?.points[0]?.value as number;
    expect(first('v8js.memory.heap.limit')).toBeGreaterThan(0);
    expect(first('process.memory.usage')).toBeGreaterThan(0);
    expect(first('nodejs.eventloop.delay.p99')).toBeLessThan(10); // seconds, not nanoseconds
    expect(first('nodejs.eventloop.delay.min')).toBeGreaterThan(0);
    const util = first('nodejs.eventloop.utilization');
    expect(util).toBeGreaterThanOrEqual(0);
    expect(util).toBeLessThanOrEqual(1);
    const spaces = m.get('v8js.memory.heap.used')?.points.map((p) => p.attributes['v8js.heap.space.name']);
    expect(spaces).toContain('new_space');
    expect(spaces).toContain('old_space');
    const states = m.get('nodejs.eventloop.time')?.points.map((p) => p.attributes['nodejs.eventloop.state']);
    expect(states?.sort()).toEqual(['active', 'idle']);
    const gc = m.get('v8js.gc.duration')?.points ?? [];
    for (const p of gc)
      expect(['major', 'minor', 'incremental', 'weakcb']).toContain(p.attributes['v8js.gc.type']);
    const gcCount = gc.reduce((n, p) => n + (p.value as { count: number }).count, 0);
    expect(gcCount).toBeGreaterThan(0);
  });

  it('stop() ends the GC observer and the delay histogram: no new GC pauses are recorded', async () => {
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader] });
    const stop = startRuntimeMetrics(provider);
    const gcCount = (m: ReturnType<typeof byName>) =>
      (m.get('v8js.gc.duration')?.points ?? []).reduce((n, p) => n + (p.value as { count: number }).count, 0);
    const { m } = await collectUntil(reader, (got) => gcCount(got) > 0);
    stop();
    stop(); // idempotent
    const before = gcCount(m);
    // Plenty of garbage after stop(): the count must not move.
    for (let round = 0; round < 20; round++) {
      let junk: unknown[] = [];
      for (let i = 0; i < 50_000; i++) junk.push({ i });
      junk = [];
      await new Promise((r) => setTimeout(r, 5 + junk.length));
    }
    expect(gcCount(byName((await reader.collect()).resourceMetrics))).toBe(before);
    await provider.shutdown();
  });

  it('reports nothing for the delay gauges (not zeros) before the histogram has a sample', async () => {
    // A histogram with a resolution longer than the test sees no sample; the gauges must be absent.
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader] });
    const stop = startRuntimeMetrics(provider, { monitoringPrecision: 60_000 });
    const m = byName((await reader.collect()).resourceMetrics);
    stop();
    await provider.shutdown();
    expect(m.has('nodejs.eventloop.delay.p99')).toBe(false);
    expect(m.has('process.memory.usage')).toBe(true);
    // Sanity: this Node has monitorEventLoopDelay at all (otherwise the test above proves nothing).
    expect(typeof monitorEventLoopDelay).toBe('function');
  });
});
