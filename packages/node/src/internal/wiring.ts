// The SDK components start() builds from the standard OTEL_* variables, without
// @opentelemetry/sdk-node: that package pulls in the OTLP gRPC exporters (which do not bundle) and
// the instrumentation loader (require-in-the-middle). What is built here is plain classes of the
// 3.x SDK and the OTLP/HTTP exporters, all of which load under require(), import and bundlers.
// Spec: https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/

import { diag, type TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPLogExporter as OTLPJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as OTLPJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  detectResources,
  hostDetector,
  osDetector,
  processDetector,
  type Resource,
  type ResourceDetector,
  serviceInstanceIdDetector,
} from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  ConsoleLogRecordExporter,
  type LogRecordProcessor,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  ConsoleMetricExporter,
  type IMetricReader,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanLimits,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';
import { ReadableConsoleSpanExporter } from '../console-exporter.js';
import { type Env, planLogs, planMetrics, planTraces, positiveInt } from './env.js';

function list(env: Env, name: string): string[] {
  return [
    ...new Set(
      (env[name] ?? '')
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s !== '' && s !== 'null'),
    ),
  ];
}

function str(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function num(env: Env, name: string): number | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) {
    diag.warn(`@tracewire/node: ${name}=${raw} is not a number; using the default`);
    return undefined;
  }
  return value;
}

type Protocol = 'http/protobuf' | 'http/json';

/** The OTLP protocol for a signal. gRPC is not bundled (see the README): it falls back to http/protobuf. */
function protocol(env: Env, signal: 'TRACES' | 'METRICS' | 'LOGS'): Protocol {
  const value = str(env, `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`) ?? str(env, 'OTEL_EXPORTER_OTLP_PROTOCOL');
  if (value === undefined || value === 'http/protobuf') return 'http/protobuf';
  if (value === 'http/json') return 'http/json';
  diag.error(
    `@tracewire/node: OTLP protocol "${value}" is not supported by start() (gRPC exporters do not bundle); ` +
      'using http/protobuf. Set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf and the collector port 4318, or pass ' +
      'your own exporter through start({ spanProcessors }) / ({ metricReaders }).',
  );
  return 'http/protobuf';
}

/** Span processors from OTEL_TRACES_EXPORTER (a readable console when nothing is configured). */
export function spanProcessorsFromEnv(env: Env): SpanProcessor[] {
  const plan = planTraces(env);
  if (plan === 'off') return [];
  const batch = (exporter: SpanExporter, localDev: boolean): SpanProcessor =>
    new BatchSpanProcessor({
      exporter,
      // Local development: show spans within a second, not five.
      scheduledDelayMillis: positiveInt(env, 'OTEL_BSP_SCHEDULE_DELAY') ?? (localDev ? 1000 : undefined),
      maxQueueSize: positiveInt(env, 'OTEL_BSP_MAX_QUEUE_SIZE'),
      maxExportBatchSize: positiveInt(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
      exportTimeoutMillis: positiveInt(env, 'OTEL_BSP_EXPORT_TIMEOUT'),
    });
  if (plan === 'console') return [batch(new ReadableConsoleSpanExporter(), true)];
  const names = list(env, 'OTEL_TRACES_EXPORTER').filter((n) => n !== 'none');
  const out: SpanProcessor[] = [];
  for (const name of names.length === 0 ? ['otlp'] : names) {
    if (name === 'otlp')
      out.push(
        batch(
          protocol(env, 'TRACES') === 'http/json'
            ? new OTLPJsonTraceExporter()
            : new OTLPProtoTraceExporter(),
          false,
        ),
      );
    else if (name === 'console') out.push(batch(new ReadableConsoleSpanExporter(), true));
    else unsupported('OTEL_TRACES_EXPORTER', name, 'otlp, console, none');
  }
  return out;
}

/** Metric readers from OTEL_METRICS_EXPORTER (none when nothing is configured). */
export function metricReadersFromEnv(env: Env): IMetricReader[] {
  if (planMetrics(env) === 'off') return [];
  const names = list(env, 'OTEL_METRICS_EXPORTER');
  const out: IMetricReader[] = [];
  const interval = positiveInt(env, 'OTEL_METRIC_EXPORT_INTERVAL') ?? 60_000;
  const timeout = Math.min(positiveInt(env, 'OTEL_METRIC_EXPORT_TIMEOUT') ?? 30_000, interval);
  const periodic = (exporter: PushMetricExporter): IMetricReader =>
    new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: interval,
      exportTimeoutMillis: timeout,
    });
  for (const name of names.length === 0 ? ['otlp'] : names) {
    if (name === 'otlp')
      out.push(
        periodic(
          protocol(env, 'METRICS') === 'http/json'
            ? new OTLPJsonMetricExporter()
            : new OTLPProtoMetricExporter(),
        ),
      );
    else if (name === 'prometheus')
      out.push(
        new PrometheusExporter({
          host: str(env, 'OTEL_EXPORTER_PROMETHEUS_HOST'),
          port: num(env, 'OTEL_EXPORTER_PROMETHEUS_PORT'),
        }),
      );
    else if (name === 'console') out.push(periodic(new ConsoleMetricExporter()));
    else unsupported('OTEL_METRICS_EXPORTER', name, 'otlp, prometheus, console, none');
  }
  return out;
}

/** Log record processors from OTEL_LOGS_EXPORTER (none when nothing is configured). */
export function logRecordProcessorsFromEnv(env: Env): LogRecordProcessor[] {
  if (planLogs(env) === 'off') return [];
  const names = list(env, 'OTEL_LOGS_EXPORTER');
  const out: LogRecordProcessor[] = [];
  for (const name of names.length === 0 ? ['otlp'] : names) {
    if (name === 'otlp')
      out.push(
        new BatchLogRecordProcessor({
          exporter:
            protocol(env, 'LOGS') === 'http/json' ? new OTLPJsonLogExporter() : new OTLPProtoLogExporter(),
          scheduledDelayMillis: positiveInt(env, 'OTEL_BLRP_SCHEDULE_DELAY'),
          maxQueueSize: positiveInt(env, 'OTEL_BLRP_MAX_QUEUE_SIZE'),
          maxExportBatchSize: positiveInt(env, 'OTEL_BLRP_MAX_EXPORT_BATCH_SIZE'),
          exportTimeoutMillis: positiveInt(env, 'OTEL_BLRP_EXPORT_TIMEOUT'),
        }),
      );
    else if (name === 'console')
      out.push(new SimpleLogRecordProcessor({ exporter: new ConsoleLogRecordExporter() }));
    else unsupported('OTEL_LOGS_EXPORTER', name, 'otlp, console, none');
  }
  return out;
}

function unsupported(variable: string, name: string, supported: string): void {
  diag.error(`@tracewire/node: ${variable}="${name}" is not supported (supported: ${supported}); ignored`);
}

/** OTEL_TRACES_SAMPLER / _ARG; `undefined` means the SDK default (parent-based always-on). */
export function samplerFromEnv(env: Env): Sampler | undefined {
  const name = str(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase();
  if (name === undefined) return undefined;
  const ratio = (): number => {
    const r = num(env, 'OTEL_TRACES_SAMPLER_ARG');
    if (r === undefined || r < 0 || r > 1) {
      if (r !== undefined)
        diag.error(`@tracewire/node: OTEL_TRACES_SAMPLER_ARG=${r} is outside [0, 1]; using 1`);
      return 1;
    }
    return r;
  };
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    default:
      diag.error(
        `@tracewire/node: OTEL_TRACES_SAMPLER="${name}" is not supported; using the default sampler`,
      );
      return undefined;
  }
}

/** OTEL_SPAN_* / OTEL_ATTRIBUTE_* limits. */
export function spanLimitsFromEnv(env: Env): SpanLimits {
  const limits: SpanLimits = {};
  const set = (key: keyof SpanLimits, ...names: string[]): void => {
    for (const n of names) {
      const v = positiveInt(env, n);
      if (v !== undefined) {
        limits[key] = v;
        return;
      }
    }
  };
  set('attributeCountLimit', 'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', 'OTEL_ATTRIBUTE_COUNT_LIMIT');
  set(
    'attributeValueLengthLimit',
    'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT',
    'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT',
  );
  set('eventCountLimit', 'OTEL_SPAN_EVENT_COUNT_LIMIT');
  set('linkCountLimit', 'OTEL_SPAN_LINK_COUNT_LIMIT');
  set('attributePerEventCountLimit', 'OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT');
  set('attributePerLinkCountLimit', 'OTEL_LINK_ATTRIBUTE_COUNT_LIMIT');
  return limits;
}

/** OTEL_PROPAGATORS (tracecontext, baggage, none); `undefined` when unset. */
export function propagatorFromEnv(env: Env): TextMapPropagator | null | undefined {
  const names = list(env, 'OTEL_PROPAGATORS');
  if (names.length === 0) return undefined;
  if (names.includes('none')) return null;
  const propagators: TextMapPropagator[] = [];
  for (const name of names) {
    if (name === 'tracecontext') propagators.push(new W3CTraceContextPropagator());
    else if (name === 'baggage') propagators.push(new W3CBaggagePropagator());
    else
      diag.error(
        `@tracewire/node: OTEL_PROPAGATORS="${name}" is not built in; pass start({ propagator }) (e.g. B3 from @opentelemetry/propagator-b3)`,
      );
  }
  if (propagators.length === 0) return null;
  return propagators.length === 1 ? propagators[0] : new CompositePropagator({ propagators });
}

/** Resource detectors from OTEL_NODE_RESOURCE_DETECTORS (default, as the SDK's: host, os, process, service instance id). */
export function resourceFromEnv(env: Env): Resource {
  const names = list(env, 'OTEL_NODE_RESOURCE_DETECTORS');
  const all: Record<string, ResourceDetector[]> = {
    host: [hostDetector, osDetector],
    os: [osDetector],
    process: [processDetector],
    service: [serviceInstanceIdDetector],
    serviceinstance: [serviceInstanceIdDetector],
    env: [],
  };
  let detectors: ResourceDetector[];
  if (names.length === 0 || names.includes('all'))
    detectors = [hostDetector, osDetector, processDetector, serviceInstanceIdDetector];
  else if (names.includes('none')) detectors = [];
  else {
    detectors = [];
    for (const n of names) {
      const d = all[n];
      if (d === undefined) diag.warn(`@tracewire/node: unknown resource detector "${n}" ignored`);
      else detectors.push(...d);
    }
  }
  return detectResources({ detectors });
}
