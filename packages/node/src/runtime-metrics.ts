import { getHeapStatistics } from 'node:v8';
import { type Meter, type MeterProvider, metrics } from '@opentelemetry/api';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
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
 * The runtime metrics `start()` turns on. Those of the official runtime instrumentation (read from
 * `perf_hooks` and `v8`, nothing patched), plus what it leaves out: the heap limit and the resident
 * set size. Names and units follow the Node.js and V8 runtime semantic conventions.
 */
export const RUNTIME_METRICS: readonly { name: string; unit: string; source: 'official' | 'tracewire' }[] =
  Object.freeze([
    { name: 'nodejs.eventloop.delay.min', unit: 's', source: 'official' },
    { name: 'nodejs.eventloop.delay.max', unit: 's', source: 'official' },
    { name: 'nodejs.eventloop.delay.mean', unit: 's', source: 'official' },
    { name: 'nodejs.eventloop.delay.stddev', unit: 's', source: 'official' },
    { name: 'nodejs.eventloop.delay.p50', unit: 's', source: 'official' },
    { name: 'nodejs.eventloop.delay.p90', unit: 's', source: 'official' },
    { name: 'nodejs.eventloop.delay.p99', unit: 's', source: 'official' },
    { name: 'nodejs.eventloop.utilization', unit: '1', source: 'official' },
    { name: 'nodejs.eventloop.time', unit: 's', source: 'official' },
    { name: 'v8js.gc.duration', unit: 's', source: 'official' },
    { name: 'v8js.memory.heap.used', unit: 'By', source: 'official' },
    { name: 'v8js.memory.heap.space.size', unit: 'By', source: 'official' },
    { name: 'v8js.memory.heap.space.available_size', unit: 'By', source: 'official' },
    { name: 'v8js.memory.heap.space.physical_size', unit: 'By', source: 'official' },
    { name: 'v8js.resource.active', unit: '{resource}', source: 'official' },
    { name: 'v8js.memory.heap.limit', unit: 'By', source: 'tracewire' },
    { name: 'process.memory.usage', unit: 'By', source: 'tracewire' },
  ]);

/** The official instrumentation, configured; handed to the SDK which gives it the meter provider. */
export function runtimeInstrumentation(options: RuntimeMetricsOptions = {}): RuntimeNodeInstrumentation {
  return new RuntimeNodeInstrumentation({ monitoringPrecision: options.monitoringPrecision ?? 10 });
}

/**
 * Registers the runtime metrics the official instrumentation lacks on `meterProvider` (default: the
 * global one). Callbacks never throw: a failing read is skipped (other instruments still export) and
 * reported once through `diag` (T64).
 */
export function registerExtraRuntimeMetrics(meterProvider?: MeterProvider): void {
  const meter: Meter = (meterProvider ?? metrics.getMeterProvider()).getMeter('@tracewire/node', VERSION);
  const heapLimit = meter.createObservableUpDownCounter('v8js.memory.heap.limit', {
    description: 'Maximum size the V8 heap may grow to (v8.getHeapStatistics().heap_size_limit).',
    unit: 'By',
  });
  heapLimit.addCallback((result) => {
    try {
      result.observe(getHeapStatistics().heap_size_limit);
    } catch (error) {
      rateLimitedDiag('warn', 'runtime-heap-limit', 'reading the heap limit failed', error);
    }
  });
  const rss = meter.createObservableUpDownCounter('process.memory.usage', {
    description: 'The amount of physical memory in use (resident set size).',
    unit: 'By',
  });
  rss.addCallback((result) => {
    try {
      result.observe(process.memoryUsage.rss());
    } catch (error) {
      rateLimitedDiag('warn', 'runtime-rss', 'reading the resident set size failed', error);
    }
  });
}
