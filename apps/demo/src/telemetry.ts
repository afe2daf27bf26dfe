// OpenTelemetry SDK setup for the demo. Two modes:
// - embedded (default): spans are kept in memory and metrics are pulled on demand, so the demo can
//   print them itself and needs nothing else running;
// - otlp: when OTEL_EXPORTER_OTLP_ENDPOINT is set, spans and metrics go to an OTLP/HTTP collector.
import { context, DiagConsoleLogger, DiagLogLevel, diag, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider,
  MetricReader,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

export const SERVICE_NAME = 'demo-gateway';

/** What the rest of the demo needs from the SDK. */
export interface Telemetry {
  /** `embedded`: data stays in this process; `otlp`: data is exported to `endpoint`. */
  readonly mode: 'embedded' | 'otlp';
  readonly endpoint: string | undefined;
  /** Flushes pending spans, then returns the finished ones (always empty in otlp mode). */
  finishedSpans(): Promise<ReadableSpan[]>;
  /** Collects the current metrics (undefined in otlp mode, where the exporter owns them). */
  collectMetrics(): Promise<ResourceMetrics | undefined>;
  /**
   * Flushes and shuts everything down. Never rejects: resolves with what went wrong on the way
   * (failed exports and shutdowns, one line each), empty when all went well.
   */
  shutdown(): Promise<string[]>;
}

/** What went wrong, one line per distinct problem. */
const problems = new Set<string>();

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A pull reader: it never exports anything by itself, the demo calls `collect()` when it wants to
 * print the metrics.
 */
class PullMetricReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** Sets up the SDK and registers the providers globally (tracewire uses the global providers). */
export function setupTelemetry(env: NodeJS.ProcessEnv = process.env): Telemetry {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  // The SDK reports failed exports here (the default handler logs a JSON stack trace).
  setGlobalErrorHandler((error) => problems.add(describe(error)));
  const resource = resourceFromAttributes({ 'service.name': SERVICE_NAME, 'service.version': '0.1.0' });
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined;
  return endpoint === undefined ? embedded(resource) : otlp(resource, endpoint);
}

function embedded(resource: Resource): Telemetry {
  const spans = new InMemorySpanExporter();
  const reader = new PullMetricReader();
  const providers = register(resource, new SimpleSpanProcessor({ exporter: spans }), reader);
  return {
    mode: 'embedded',
    endpoint: undefined,
    async finishedSpans() {
      await providers.tracerProvider.forceFlush();
      return spans.getFinishedSpans();
    },
    async collectMetrics() {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics;
    },
    shutdown: () => shutdownAll(providers),
  };
}

function otlp(resource: Resource, endpoint: string): Telemetry {
  // Other exporter warnings (e.g. an unexpected collector response) go to the diagnostic logger.
  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);
  // Both exporters read OTEL_EXPORTER_OTLP_ENDPOINT (and the other OTEL_EXPORTER_OTLP_* variables)
  // themselves and append /v1/traces and /v1/metrics.
  const timeoutMillis = 5_000;
  const spans = new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ timeoutMillis }) });
  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ timeoutMillis }),
    exportIntervalMillis: 10_000,
    exportTimeoutMillis: timeoutMillis,
  });
  const providers = register(resource, spans, reader);
  return {
    mode: 'otlp',
    endpoint,
    async finishedSpans() {
      return [];
    },
    async collectMetrics() {
      return undefined;
    },
    shutdown: () => shutdownAll(providers),
  };
}

interface Providers {
  tracerProvider: TracerProvider;
  meterProvider: MeterProvider;
}

function register(resource: Resource, spanProcessor: SpanProcessor, reader: MetricReader): Providers {
  const tracerProvider = new TracerProvider({ resource, spanProcessors: [spanProcessor] });
  const meterProvider = new MeterProvider({ resource, readers: [reader] });
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  return { tracerProvider, meterProvider };
}

/** Shutdown flushes first (spans, then a last metrics export), then unregisters the globals. */
async function shutdownAll({ tracerProvider, meterProvider }: Providers): Promise<string[]> {
  const results = await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
  for (const result of results) {
    if (result.status === 'rejected') problems.add(describe(result.reason));
  }
  trace.disable();
  metrics.disable();
  context.disable();
  return [...problems];
}
