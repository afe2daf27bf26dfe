// What start() builds from the OTEL_* variables now that it wires the SDK itself (no sdk-node):
// samplers, span limits, propagators, exporters per protocol, and the values it does not support
// (reported once through diag.error, never a throw). Plus one end-to-end run of the gRPC fallback.
import { DiagLogLevel, diag, ROOT_CONTEXT } from '@opentelemetry/api';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  logRecordProcessorsFromEnv,
  metricReadersFromEnv,
  propagatorFromEnv,
  samplerFromEnv,
  spanLimitsFromEnv,
  spanProcessorsFromEnv,
} from '../src/internal/wiring.js';
import { runApp } from './helpers/child.js';
import { startReceiver } from './helpers/otlp.js';

let errors: string[] = [];
beforeEach(() => {
  errors = [];
  const ignore = (): void => {};
  diag.setLogger(
    { error: (m: string) => errors.push(m), warn: ignore, info: ignore, debug: ignore, verbose: ignore },
    { logLevel: DiagLogLevel.ERROR, suppressOverrideMessage: true },
  );
});
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  diag.disable();
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** The exporter class name inside a processor or reader built by the SDK. */
function exporterOf(x: unknown): string {
  return ((x as { _exporter?: object })._exporter?.constructor.name ?? 'none') as string;
}

describe('samplers (OTEL_TRACES_SAMPLER, _ARG)', () => {
  it('builds each named sampler, decides like it, and reports bad values', () => {
    expect(samplerFromEnv({})).toBeUndefined();
    const ratio = samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' });
    expect(ratio).toBeInstanceOf(TraceIdRatioBasedSampler);
    const decide = (s: typeof ratio) =>
      s?.shouldSample(ROOT_CONTEXT, '4bf92f3577b34da6a3ce929d0e0e4736', 'x', 0, {}, []).decision;
    expect(decide(ratio)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_off' }))).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_on' }))).toBe(
      SamplingDecision.RECORD_AND_SAMPLED,
    );
    expect(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' })).toBeInstanceOf(
      ParentBasedSampler,
    );
    expect(errors).toEqual([]);
    // Out of range: ratio 1 (samples everything) and one error.
    const bad = samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' });
    expect(decide(bad)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toBeUndefined();
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain('OTEL_TRACES_SAMPLER_ARG=2');
    expect(errors[1]).toContain('"jaeger_remote" is not supported');
  });
});

describe('span limits and propagators', () => {
  it('reads the span limits, the span-specific variable first', () => {
    expect(
      spanLimitsFromEnv({
        OTEL_ATTRIBUTE_COUNT_LIMIT: '64',
        OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '32',
        OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '1024',
        OTEL_SPAN_EVENT_COUNT_LIMIT: '8',
        OTEL_SPAN_LINK_COUNT_LIMIT: 'x',
      }),
    ).toEqual({ attributeCountLimit: 32, attributeValueLengthLimit: 1024, eventCountLimit: 8 });
  });

  it('OTEL_PROPAGATORS: tracecontext and baggage, none, and B3 reported (not built in)', () => {
    expect(propagatorFromEnv({})).toBeUndefined();
    expect(propagatorFromEnv({ OTEL_PROPAGATORS: 'none' })).toBeNull();
    expect(propagatorFromEnv({ OTEL_PROPAGATORS: 'tracecontext, baggage' })?.fields().sort()).toEqual([
      'baggage',
      'traceparent',
      'tracestate',
    ]);
    expect(errors).toEqual([]);
    expect(propagatorFromEnv({ OTEL_PROPAGATORS: 'b3' })).toBeNull();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('start({ propagator })');
  });
});

describe('exporters per signal and protocol', () => {
  it('traces: readable console by default, OTLP per protocol, none, unsupported names reported', async () => {
    const built = [
      spanProcessorsFromEnv({}),
      spanProcessorsFromEnv({ OTEL_TRACES_EXPORTER: 'none' }),
      spanProcessorsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' }),
      spanProcessorsFromEnv({
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      }),
      spanProcessorsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp,console,zipkin' }),
    ];
    expect(built.map((ps) => ps.map((p) => `${p.constructor.name}(${exporterOf(p)})`))).toEqual([
      ['BatchSpanProcessor(ReadableConsoleSpanExporter)'],
      [],
      ['BatchSpanProcessor(OTLPTraceExporter)'],
      ['BatchSpanProcessor(OTLPTraceExporter)'],
      ['BatchSpanProcessor(OTLPTraceExporter)', 'BatchSpanProcessor(ReadableConsoleSpanExporter)'],
    ]);
    expect(built[2]?.[0]).toBeInstanceOf(BatchSpanProcessor);
    expect(errors).toEqual([
      '@tracewire/node: OTEL_TRACES_EXPORTER="zipkin" is not supported (supported: otlp, console, none); ignored',
    ]);
    for (const ps of built) for (const p of ps) await p.shutdown();
  });

  it('metrics and logs: off unless configured, OTLP when an endpoint is set', async () => {
    expect(metricReadersFromEnv({})).toEqual([]);
    expect(logRecordProcessorsFromEnv({})).toEqual([]);
    const readers = metricReadersFromEnv({
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://127.0.0.1:1/v1/metrics',
      OTEL_METRIC_EXPORT_INTERVAL: '600000',
    });
    expect(readers).toHaveLength(1);
    expect(readers[0]).toBeInstanceOf(PeriodicExportingMetricReader);
    const logs = logRecordProcessorsFromEnv({ OTEL_LOGS_EXPORTER: 'otlp' });
    expect(logs.map((p) => p.constructor.name)).toEqual([BatchLogRecordProcessor.name]);
    await Promise.all([...logs.map((p) => p.shutdown())]);
    expect(errors).toEqual([]);
  });

  it('OTEL_EXPORTER_OTLP_PROTOCOL=grpc: one diag error, spans still arrive over http/protobuf (child process)', async () => {
    const otlp = await startReceiver();
    cleanups.push(() => otlp.close());
    const app = await runApp({
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_LOG_LEVEL: 'error',
      FIXTURE_MODE: 'close-after',
    });
    cleanups.push(() => app.child.kill('SIGKILL'));
    await (await fetch(`http://127.0.0.1:${app.port}/g`, { headers: { connection: 'close' } })).text();
    expect((await app.exited).code).toBe(0);
    expect(otlp.spans().map((s) => s.name)).toContain('GET /g');
    expect(new Set(otlp.requests.map((r) => r.contentType))).toEqual(new Set(['application/x-protobuf']));
    const reported = app.stderr().match(/OTLP protocol "grpc" is not supported/g) ?? [];
    expect(reported).toHaveLength(1);
  });
});

// Building components registers nothing: no global tracer, meter or logger provider appeared.
it('registers nothing globally', () => {
  const api = (globalThis as Record<symbol, Record<string, unknown> | undefined>)[
    Symbol.for('opentelemetry.js.api.1')
  ];
  expect([api?.trace, api?.metrics, api?.logs]).toEqual([undefined, undefined, undefined]);
});
