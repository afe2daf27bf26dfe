import {
  type Attributes,
  DiagConsoleLogger,
  DiagLogLevel,
  diag,
  metrics,
  type TextMapPropagator,
  trace,
} from '@opentelemetry/api';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { IMetricReader, ViewOptions } from '@opentelemetry/sdk-metrics';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type Sampler, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { w3cPropagator } from '@tracewire/core';
import { ReadableConsoleSpanExporter } from './console-exporter.js';
import { type DoctorReport, formatDoctorReport, runDoctor } from './doctor.js';
import { type HttpClientOptions, instrumentHttpClient } from './http-client.js';
import {
  type Env,
  planLogs,
  planMetrics,
  planTraces,
  positiveInt,
  propagatorsFromEnvSet,
  sdkDisabled,
} from './internal/env.js';
import {
  type RuntimeMetricsOptions,
  registerExtraRuntimeMetrics,
  runtimeInstrumentation,
} from './runtime-metrics.js';

/** Options of {@link start}. Every field is optional; the `OTEL_*` variables fill in the rest. */
export interface StartOptions {
  /** `service.name`. @default `OTEL_SERVICE_NAME`, else the SDK's `unknown_service:node` */
  serviceName?: string;
  /** `service.version`. @default none */
  serviceVersion?: string;
  /** Extra resource attributes (lower priority than `OTEL_RESOURCE_ATTRIBUTES`). @default {} */
  resourceAttributes?: Attributes;
  /** Span processors, replacing the exporters chosen from `OTEL_TRACES_EXPORTER`. @default from env */
  spanProcessors?: SpanProcessor[];
  /** Metric readers, replacing those chosen from `OTEL_METRICS_EXPORTER`. @default from env */
  metricReaders?: IMetricReader[];
  /** Metric views. @default [] */
  views?: ViewOptions[];
  /** Log record processors, replacing those chosen from `OTEL_LOGS_EXPORTER`. @default from env */
  logRecordProcessors?: LogRecordProcessor[];
  /** Sampler. @default from `OTEL_TRACES_SAMPLER`/`_ARG`, else parent-based always-on */
  sampler?: Sampler;
  /** Propagator. @default `OTEL_PROPAGATORS` if set, else the core's W3C trace-context + baggage propagator */
  propagator?: TextMapPropagator;
  /** Runtime metrics (event loop, GC, heap, active resources). @default true */
  runtimeMetrics?: boolean | RuntimeMetricsOptions;
  /** CLIENT spans, context injection and metrics for `fetch` and `node:http(s)`. @default true */
  httpClient?: boolean | HttpClientOptions;
  /** Run the doctor's checks once after start and report problems through `diag`. @default true */
  doctor?: boolean;
  /** Also write the doctor's warning and shutdown problems to stderr. @default false */
  printWarnings?: boolean;
  /** Upper bound of `shutdown()`, in milliseconds. @default `TRACEWIRE_SHUTDOWN_TIMEOUT`, else 5000 */
  shutdownTimeoutMillis?: number;
  /** Flush on SIGTERM/SIGINT, then let the signal take its default course. @default true */
  handleSignals?: boolean;
  /** Environment to read instead of `process.env` (tests). @default process.env */
  env?: Env;
}

/** What {@link start} returns. */
export interface TracewireSdk {
  /** Flushes and stops every provider; resolves within `shutdownTimeoutMillis`, never rejects. */
  shutdown(): Promise<void>;
  /** Exports what is buffered; resolves within `shutdownTimeoutMillis`, never rejects. */
  forceFlush(): Promise<void>;
  /** The doctor's report, once its checks have run (`undefined` when `doctor: false`). */
  readonly doctorReport: Promise<DoctorReport | undefined>;
}

const GLOBAL_KEY = Symbol.for('tracewire.node.sdk');
const DEFAULT_SHUTDOWN_TIMEOUT = 5000;

interface Holder {
  [GLOBAL_KEY]?: TracewireSdk;
}

/**
 * Starts OpenTelemetry for this process: tracer, meter and logger providers of the official SDK
 * (`NodeSDK`), the AsyncLocalStorage context manager, the core W3C propagator, resource detection,
 * exporters from the standard `OTEL_*` variables (a readable console when none is set), batch
 * processing, runtime metrics, outgoing HTTP instrumentation, a flush on SIGTERM/SIGINT bounded by
 * `shutdownTimeoutMillis`, and the doctor's checks. Calling it twice returns the first instance.
 *
 * @example
 * import { start } from '@tracewire/node';
 * const otel = await start({ serviceName: 'orders' });
 * // … on your own shutdown path:
 * await otel.shutdown();
 */
export async function start(options: StartOptions = {}): Promise<TracewireSdk> {
  const holder = globalThis as Holder;
  const existing = holder[GLOBAL_KEY];
  if (existing !== undefined) {
    diag.warn('@tracewire/node: start() was called more than once; the first instance is kept');
    return existing;
  }
  validate(options);
  const env = options.env ?? process.env;
  const timeout =
    options.shutdownTimeoutMillis ??
    positiveInt(env, 'TRACEWIRE_SHUTDOWN_TIMEOUT') ??
    DEFAULT_SHUTDOWN_TIMEOUT;
  const printWarnings = options.printWarnings ?? false;

  if (sdkDisabled(env)) {
    const disabled = inertSdk();
    holder[GLOBAL_KEY] = disabled;
    return disabled;
  }

  const config: Partial<NodeSDKConfiguration> = { views: options.views ?? [] };
  const resourceAttributes: Attributes = { ...options.resourceAttributes };
  if (options.serviceVersion !== undefined) resourceAttributes['service.version'] = options.serviceVersion;
  config.resource = defaultResource().merge(resourceFromAttributes(resourceAttributes));
  if (options.serviceName !== undefined) config.serviceName = options.serviceName;
  if (options.sampler !== undefined) config.sampler = options.sampler;
  // The core propagator enforces the trace-context and baggage budgets; OTEL_PROPAGATORS still wins.
  if (options.propagator !== undefined) config.textMapPropagator = options.propagator;
  else if (!propagatorsFromEnvSet(env)) config.textMapPropagator = w3cPropagator();

  const spanProcessors = options.spanProcessors ?? tracesFromEnv(env);
  if (spanProcessors !== undefined) config.spanProcessors = spanProcessors;
  if (options.metricReaders !== undefined) config.metricReaders = options.metricReaders;
  else if (planMetrics(env) === 'off') config.metricReaders = [];
  if (options.logRecordProcessors !== undefined) config.logRecordProcessors = options.logRecordProcessors;
  else if (planLogs(env) === 'off') config.logRecordProcessors = [];

  const runtime = options.runtimeMetrics ?? true;
  if (runtime !== false) config.instrumentations = [runtimeInstrumentation(runtime === true ? {} : runtime)];

  const sdk = new NodeSDK(config);
  sdk.start();
  if (runtime !== false) {
    try {
      registerExtraRuntimeMetrics(metrics.getMeterProvider());
    } catch (error) {
      diag.warn('@tracewire/node: extra runtime metrics not registered', error);
    }
  }

  const httpOption = options.httpClient ?? true;
  const stopHttp =
    httpOption === false ? undefined : instrumentHttpClient(httpOption === true ? {} : httpOption);

  let shutdownPromise: Promise<void> | undefined;
  const removeSignalHandlers =
    options.handleSignals === false ? () => {} : installSignalHandlers(() => handle.shutdown());
  const onBeforeExit = (): void => {
    void handle.shutdown();
  };
  // A process that ends because nothing is left to do (the app closed its server) still flushes.
  process.once('beforeExit', onBeforeExit);

  const doctorReport: Promise<DoctorReport | undefined> =
    options.doctor === false ? Promise.resolve(undefined) : reportDoctor(env, printWarnings);

  const handle: TracewireSdk = {
    doctorReport,
    forceFlush(): Promise<void> {
      return bounded(flushProviders(), timeout, 'forceFlush', printWarnings);
    },
    shutdown(): Promise<void> {
      if (shutdownPromise === undefined) {
        removeSignalHandlers();
        process.removeListener('beforeExit', onBeforeExit);
        stopHttp?.();
        shutdownPromise = bounded(sdk.shutdown(), timeout, 'shutdown', printWarnings).finally(() => {
          if (holder[GLOBAL_KEY] === handle) delete holder[GLOBAL_KEY];
        });
      }
      return shutdownPromise;
    },
  };
  holder[GLOBAL_KEY] = handle;
  return handle;
}

function tracesFromEnv(env: Env): SpanProcessor[] | undefined {
  switch (planTraces(env)) {
    case 'console':
      return [
        new BatchSpanProcessor({
          exporter: new ReadableConsoleSpanExporter(),
          // Local development: show spans within a second, not five.
          scheduledDelayMillis: positiveInt(env, 'OTEL_BSP_SCHEDULE_DELAY') ?? 1000,
          maxQueueSize: positiveInt(env, 'OTEL_BSP_MAX_QUEUE_SIZE'),
          maxExportBatchSize: positiveInt(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
          exportTimeoutMillis: positiveInt(env, 'OTEL_BSP_EXPORT_TIMEOUT'),
        }),
      ];
    case 'off':
      return [];
    default:
      return undefined; // the SDK builds batch processors from OTEL_TRACES_EXPORTER
  }
}

function validate(options: StartOptions): void {
  if (options === null || typeof options !== 'object')
    throw new TypeError('start(options): options must be an object');
  const t = options.shutdownTimeoutMillis;
  if (t !== undefined && !(typeof t === 'number' && Number.isFinite(t) && t > 0)) {
    throw new TypeError(`start(options): shutdownTimeoutMillis must be a positive number, got ${String(t)}`);
  }
  if (
    options.serviceName !== undefined &&
    (typeof options.serviceName !== 'string' || options.serviceName === '')
  ) {
    throw new TypeError('start(options): serviceName must be a non-empty string');
  }
  const http = options.httpClient;
  if (typeof http === 'object' && http !== null) {
    const max = http.maxDestinations;
    if (max !== undefined && !(Number.isInteger(max) && max >= 0)) {
      throw new TypeError(
        `start(options): httpClient.maxDestinations must be a non-negative integer, got ${String(max)}`,
      );
    }
    if (http.undiciDispatchers !== undefined && !Array.isArray(http.undiciDispatchers)) {
      throw new TypeError('start(options): httpClient.undiciDispatchers must be an array');
    }
  }
}

interface Flushable {
  forceFlush?: () => Promise<unknown>;
  getDelegate?: () => unknown;
}

/** The SDK does not expose its providers; the registered globals are them (traces behind a proxy). */
function flushProviders(): Promise<void> {
  const jobs: Promise<unknown>[] = [];
  const tracer = trace.getTracerProvider() as Flushable;
  const delegate = (typeof tracer.getDelegate === 'function' ? tracer.getDelegate() : tracer) as Flushable;
  if (typeof delegate.forceFlush === 'function') jobs.push(delegate.forceFlush());
  const meter = metrics.getMeterProvider() as Flushable;
  if (typeof meter.forceFlush === 'function') jobs.push(meter.forceFlush());
  return Promise.all(jobs).then(() => {});
}

/**
 * Resolves when `work` settles or after `timeoutMs`, whichever is first; never rejects. The timer is
 * unref'd: waiting for a hung exporter must not keep the process alive (A4, T60).
 */
function bounded(
  work: Promise<unknown>,
  timeoutMs: number,
  what: string,
  printWarnings: boolean,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      warn(
        `@tracewire/node: ${what} did not finish within ${timeoutMs} ms; unexported telemetry is dropped`,
        printWarnings,
      );
      resolve();
    }, timeoutMs);
    timer.unref();
  });
  const done = work.then(
    () => {},
    (error: unknown) => {
      warn(
        `@tracewire/node: ${what} failed: ${error instanceof Error ? error.message : String(error)}`,
        printWarnings,
      );
    },
  );
  return Promise.race([done, expired]).finally(() => clearTimeout(timer));
}

function warn(message: string, printWarnings: boolean): void {
  try {
    diag.warn(message);
    if (printWarnings) process.stderr.write(`${message}\n`);
  } catch {
    // Reporting must not throw into the shutdown path.
  }
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * On SIGTERM/SIGINT: flush (bounded), then, if nobody else listens for the signal, re-raise it so the
 * process ends the way it would have without us. An app with its own handler keeps control of exit.
 */
function installSignalHandlers(shutdown: () => Promise<void>): () => void {
  const handlers = new Map<NodeJS.Signals, () => void>();
  const remove = (): void => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    handlers.clear();
  };
  for (const signal of SIGNALS) {
    const handler = (): void => {
      remove();
      void shutdown().finally(() => {
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
    };
    handlers.set(signal, handler);
    process.once(signal, handler);
  }
  return remove;
}

function reportDoctor(env: Env, printWarnings: boolean): Promise<DoctorReport | undefined> {
  return runDoctor({ env, runtime: true })
    .then((report) => {
      const problems = report.findings.filter((f) => f.severity !== 'info');
      if (problems.length > 0) {
        const text = formatDoctorReport({ ...report, findings: problems }, { brief: true });
        diag.warn(`@tracewire/node doctor:\n${text}`);
        if (printWarnings) process.stderr.write(`@tracewire/node doctor:\n${text}\n`);
      }
      return report;
    })
    .catch((error: unknown) => {
      diag.debug('@tracewire/node: doctor failed', error);
      return undefined;
    });
}

function inertSdk(): TracewireSdk {
  return {
    doctorReport: Promise.resolve(undefined),
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

/**
 * Sends `diag` output to the console at `level` (the SDK also does this when `OTEL_LOG_LEVEL` is set).
 * Library code prints nothing unless the app opts in; this is that opt-in.
 *
 * @example
 * enableDiagnostics('warn');
 */
export function enableDiagnostics(level: 'error' | 'warn' | 'info' | 'debug' | 'verbose' = 'warn'): void {
  const levels = {
    error: DiagLogLevel.ERROR,
    warn: DiagLogLevel.WARN,
    info: DiagLogLevel.INFO,
    debug: DiagLogLevel.DEBUG,
    verbose: DiagLogLevel.VERBOSE,
  } as const;
  diag.setLogger(new DiagConsoleLogger(), { logLevel: levels[level], suppressOverrideMessage: true });
}
