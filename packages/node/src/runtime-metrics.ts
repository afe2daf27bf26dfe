import {
  constants,
  type EventLoopUtilization,
  monitorEventLoopDelay,
  PerformanceObserver,
  performance,
} from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { type Meter, type MeterProvider, metrics, type ObservableResult } from '@opentelemetry/api';
import { rateLimitedDiag } from './internal/diag.js';
import { VERSION } from './version.js';

/** Options of the runtime metrics ({@link StartOptions.runtimeMetrics}). */
export interface RuntimeMetricsOptions {
  /**
   * Sampling resolution of the event-loop delay histogram, in milliseconds.
   * @default 10
   */
  monitoringPrecision?: number;
}

/**
 * The runtime metrics `start()` turns on, read from `perf_hooks`, `v8` and `process` (nothing is
 * patched, no `require` hook is installed): the Node.js runtime conventions (`nodejs.eventloop.*`)
 * and the V8 ones (`v8js.*`) under the names and units of OpenTelemetry's Node.js runtime semantic
 * conventions, as `@opentelemetry/instrumentation-runtime-node` emits them (so its dashboards keep
 * working), plus the heap limit and the resident set size.
 */
export const RUNTIME_METRICS: readonly { name: string; unit: string; attributes: readonly string[] }[] =
  Object.freeze([
    { name: 'nodejs.eventloop.delay.min', unit: 's', attributes: [] },
    { name: 'nodejs.eventloop.delay.max', unit: 's', attributes: [] },
    { name: 'nodejs.eventloop.delay.mean', unit: 's', attributes: [] },
    { name: 'nodejs.eventloop.delay.stddev', unit: 's', attributes: [] },
    { name: 'nodejs.eventloop.delay.p50', unit: 's', attributes: [] },
    { name: 'nodejs.eventloop.delay.p90', unit: 's', attributes: [] },
    { name: 'nodejs.eventloop.delay.p99', unit: 's', attributes: [] },
    { name: 'nodejs.eventloop.utilization', unit: '1', attributes: [] },
    { name: 'nodejs.eventloop.time', unit: 's', attributes: ['nodejs.eventloop.state'] },
    { name: 'v8js.gc.duration', unit: 's', attributes: ['v8js.gc.type'] },
    { name: 'v8js.memory.heap.used', unit: 'By', attributes: ['v8js.heap.space.name'] },
    { name: 'v8js.memory.heap.space.size', unit: 'By', attributes: ['v8js.heap.space.name'] },
    { name: 'v8js.memory.heap.space.available_size', unit: 'By', attributes: ['v8js.heap.space.name'] },
    { name: 'v8js.memory.heap.space.physical_size', unit: 'By', attributes: ['v8js.heap.space.name'] },
    { name: 'v8js.resource.active', unit: '{resource}', attributes: ['v8js.resource.type'] },
    { name: 'v8js.memory.heap.limit', unit: 'By', attributes: [] },
    { name: 'process.memory.usage', unit: 'By', attributes: [] },
  ]);

// GC kinds as perf_hooks reports them (entry.detail.kind), named as in semconv's v8js.gc.type.
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
// semconv's advice for v8js.gc.duration.
const GC_BUCKETS = [0.01, 0.1, 1, 10];

const DELAY_STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const;

/**
 * Starts the runtime metrics on `meterProvider` (default: the global one) and returns a function
 * that stops them (disconnects the GC observer, disables the event-loop histogram). Every read is
 * isolated: a failing read is skipped, reported once through `diag`, and the other instruments
 * still export (T64). Nothing here keeps the process alive.
 *
 * @example
 * const stop = startRuntimeMetrics(meterProvider, { monitoringPrecision: 20 });
 * // … later
 * stop();
 */
export function startRuntimeMetrics(
  meterProvider?: MeterProvider,
  options: RuntimeMetricsOptions = {},
): () => void {
  const meter: Meter = (meterProvider ?? metrics.getMeterProvider()).getMeter('@tracewire/node', VERSION);
  const stops: (() => void)[] = [];
  const guard = (key: string, what: string, read: () => void): void => {
    try {
      read();
    } catch (error) {
      rateLimitedDiag('warn', `runtime-${key}`, `reading ${what} failed`, error);
    }
  };

  // Event-loop delay: a histogram sampled every `monitoringPrecision` ms, read and reset per collection.
  let histogram: ReturnType<typeof monitorEventLoopDelay> | undefined;
  try {
    const resolution = Math.max(1, Math.floor(options.monitoringPrecision ?? 10));
    histogram = monitorEventLoopDelay({ resolution });
    histogram.enable();
    const h = histogram;
    stops.push(() => h.disable());
  } catch (error) {
    rateLimitedDiag(
      'warn',
      'runtime-eld',
      'monitorEventLoopDelay is unavailable; no event-loop delay',
      error,
    );
  }
  if (histogram !== undefined) {
    const h = histogram;
    const gauges = DELAY_STATS.map((stat) =>
      meter.createObservableGauge(`nodejs.eventloop.delay.${stat}`, {
        description: `Event loop delay, ${stat} (perf_hooks.monitorEventLoopDelay).`,
        unit: 's',
      }),
    );
    meter.addBatchObservableCallback((result) => {
      guard('eld', 'the event-loop delay', () => {
        if (h.count === 0) return; // no sample yet: report nothing rather than zeros
        const values = [h.min, h.max, h.mean, h.stddev, h.percentile(50), h.percentile(90), h.percentile(99)];
        for (let i = 0; i < gauges.length; i++) {
          const gauge = gauges[i];
          const value = values[i];
          if (gauge !== undefined && value !== undefined && Number.isFinite(value))
            result.observe(gauge, value / 1e9);
        }
        h.reset();
      });
    }, gauges);
  }

  // Event-loop utilization since the previous collection, and the cumulative active/idle time.
  let lastElu: EventLoopUtilization | undefined;
  meter
    .createObservableGauge('nodejs.eventloop.utilization', {
      description: 'Event loop utilization since the previous collection (perf_hooks.eventLoopUtilization).',
      unit: '1',
    })
    .addCallback((result) => {
      guard('elu', 'the event-loop utilization', () => {
        const now = performance.eventLoopUtilization();
        const delta = lastElu === undefined ? now : performance.eventLoopUtilization(now, lastElu);
        lastElu = now;
        if (Number.isFinite(delta.utilization)) result.observe(delta.utilization);
      });
    });
  meter
    .createObservableCounter('nodejs.eventloop.time', {
      description: 'Cumulative time the event loop spent in each state.',
      unit: 's',
    })
    .addCallback((result) => {
      guard('elt', 'the event-loop time', () => {
        const { active, idle } = performance.eventLoopUtilization();
        result.observe(active / 1e3, { 'nodejs.eventloop.state': 'active' });
        result.observe(idle / 1e3, { 'nodejs.eventloop.state': 'idle' });
      });
    });

  // GC pauses, from the 'gc' performance entries.
  try {
    const gcDuration = meter.createHistogram('v8js.gc.duration', {
      description: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
      unit: 's',
      advice: { explicitBucketBoundaries: GC_BUCKETS },
    });
    const observer = new PerformanceObserver((list) => {
      guard('gc', 'a GC entry', () => {
        for (const entry of list.getEntries()) {
          const detail = (entry as { detail?: { kind?: number } }).detail;
          const kind = GC_KINDS[detail?.kind ?? -1];
          gcDuration.record(entry.duration / 1e3, kind === undefined ? {} : { 'v8js.gc.type': kind });
        }
      });
    });
    observer.observe({ entryTypes: ['gc'] });
    stops.push(() => observer.disconnect());
  } catch (error) {
    rateLimitedDiag('warn', 'runtime-gc', 'the GC performance observer is unavailable', error);
  }

  // V8 heap by space.
  const spaceInstruments = [
    ['v8js.memory.heap.used', 'space_used_size', 'Heap memory used, by heap space.'],
    ['v8js.memory.heap.space.size', 'space_size', 'Heap space size, by heap space.'],
    ['v8js.memory.heap.space.available_size', 'space_available_size', 'Heap space available size.'],
    ['v8js.memory.heap.space.physical_size', 'physical_space_size', 'Committed heap space size.'],
  ] as const;
  const spaceGauges = spaceInstruments.map(([name, , description]) =>
    meter.createObservableGauge(name, { description, unit: 'By' }),
  );
  meter.addBatchObservableCallback((result) => {
    guard('heap-spaces', 'the heap space statistics', () => {
      for (const space of getHeapSpaceStatistics()) {
        const attributes = { 'v8js.heap.space.name': space.space_name };
        spaceInstruments.forEach(([, field], i) => {
          const gauge = spaceGauges[i];
          if (gauge !== undefined) result.observe(gauge, space[field], attributes);
        });
      }
    });
  }, spaceGauges);

  meter
    .createObservableUpDownCounter('v8js.resource.active', {
      description: 'Active resources keeping the event loop alive, by type (process.getActiveResourcesInfo).',
      unit: '{resource}',
    })
    .addCallback((result) => {
      guard('resources', 'the active resources', () => {
        const counts = new Map<string, number>();
        for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
        for (const [type, n] of counts) result.observe(n, { 'v8js.resource.type': type });
      });
    });

  meter
    .createObservableUpDownCounter('v8js.memory.heap.limit', {
      description: 'Maximum size the V8 heap may grow to (v8.getHeapStatistics().heap_size_limit).',
      unit: 'By',
    })
    .addCallback((result: ObservableResult) => {
      guard('heap-limit', 'the heap limit', () => result.observe(getHeapStatistics().heap_size_limit));
    });
  meter
    .createObservableUpDownCounter('process.memory.usage', {
      description: 'The amount of physical memory in use (resident set size).',
      unit: 'By',
    })
    .addCallback((result: ObservableResult) => {
      guard('rss', 'the resident set size', () => result.observe(process.memoryUsage.rss()));
    });

  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    for (const stop of stops) {
      try {
        stop();
      } catch {
        // stopping must not throw into shutdown
      }
    }
  };
}
