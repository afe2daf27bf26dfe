import {
  type Attributes,
  context,
  DiagConsoleLogger,
  DiagLogLevel,
  diag,
  logs,
  metrics,
  propagation,
  type TextMapPropagator,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  defaultResource,
  detectResources,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { LoggerProvider, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { type IMetricReader, MeterProvider, type ViewOptions } from '@opentelemetry/sdk-metrics';
import { type Sampler, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { w3cPropagator } from '@tracewire/core';
import { type DoctorReport, formatDoctorReport, runDoctor } from './doctor.js';
import { type HttpClientOptions, instrumentHttpClient } from './http-client.js';
import { type Env, positiveInt, sdkDisabled } from './internal/env.js';
import {
  logRecordProcessorsFromEnv,
  metricReadersFromEnv,
  propagatorFromEnv,
  resourceFromEnv,
  samplerFromEnv,
  spanLimitsFromEnv,
  spanProcessorsFromEnv,
} from './internal/wiring.js';
import { type RuntimeMetricsOptions, startRuntimeMetrics } from './runtime-metrics.js';

/** Options of {@link start} and {@link startSync}. Every field is optional; the `OTEL_*` variables fill in the rest. */
export interface StartOptions {
  /** `service.name`. @default `OTEL_SERVICE_NAME`, else the SDK's `unknown_service:node` */
  serviceName?: string;
  /** `service.version`. @default none */
  serviceVersion?: string;
  /** Extra resource attributes (lower priority than `OTEL_RESOURCE_ATTRIBUTES`). @default {} */
  resourceAttributes?: Attributes;
  /**
   * Span processors, replacing the exporters chosen from `OTEL_TRACES_EXPORTER`. SDK 3.x processors
   * take an options object: `new BatchSpanProcessor({ exporter })`. @default from env
   */
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

/**
 * What `start()` did:
 * - `started`: tracewire registered its tracer, meter and logger providers;
 * - `disabled`: `OTEL_SDK_DISABLED=true`, nothing was registered;
 * - `foreign-sdk`: another SDK had already registered global providers (for example
 *   `--import @opentelemetry/auto-instrumentations-node/register`). tracewire registered nothing of
 *   its own, did not turn on its runtime metrics or HTTP client instrumentation, and its middleware
 *   reports to the providers already registered. One `diag.error` says so (see `message`).
 */
export type StartStatus = 'started' | 'disabled' | 'foreign-sdk';

/** What {@link start} returns. */
export interface TracewireSdk {
  /** What `start()` did; see {@link StartStatus}. */
  readonly status: StartStatus;
  /** Why, when `status` is not `started`. */
  readonly message?: string;
  /** Flushes and stops every provider; resolves within `shutdownTimeoutMillis`, never rejects. */
  shutdown(): Promise<void>;
  /** Exports what is buffered; resolves within `shutdownTimeoutMillis`, never rejects. */
  forceFlush(): Promise<void>;
  /** The doctor's report, once its checks have run (`undefined` when `doctor: false`). */
  readonly doctorReport: Promise<DoctorReport | undefined>;
}

const GLOBAL_KEY = Symbol.for('tracewire.node.sdk');
// Where @opentelemetry/api 1.x keeps its registered globals (every copy of the API agrees on it).
const API_GLOBAL_KEY = Symbol.for('opentelemetry.js.api.1');
const DEFAULT_SHUTDOWN_TIMEOUT = 5000;

interface Holder {
  [GLOBAL_KEY]?: TracewireSdk;
  [API_GLOBAL_KEY]?: Record<string, unknown>;
}

/**
 * Starts OpenTelemetry for this process: tracer, meter and logger providers of the official 3.x SDK,
 * the AsyncLocalStorage context manager, the core W3C propagator, resource detection, exporters from
 * the standard `OTEL_*` variables (a readable console when none is set), batch processing, runtime
 * metrics read from `perf_hooks`, outgoing HTTP instrumentation, a flush on SIGTERM/SIGINT bounded by
 * `shutdownTimeoutMillis`, and the doctor's checks. Calling it twice returns the first instance.
 *
 * Everything happens synchronously: this is {@link startSync} wrapped in a promise, kept for code
 * that awaits it. Code that must not use top-level `await` (CommonJS, `node -r`, a CJS bundle)
 * calls `startSync()`.
 *
 * @example
 * import { start } from '@tracewire/node';
 * const otel = await start({ serviceName: 'orders' });
 * // … on your own shutdown path:
 * await otel.shutdown();
 */
export async function start(options: StartOptions = {}): Promise<TracewireSdk> {
  return startSync(options);
}

/**
 * {@link start} without a promise: returns the handle directly, so it runs from CommonJS, a
 * `-r`/`--require` preload, or a bundle without top-level `await`. Throws a `TypeError` on invalid
 * options (as `start()` rejects).
 *
 * @example
 * const { startSync } = require('@tracewire/node');
 * const otel = startSync({ serviceName: 'orders' });
 */
export function startSync(options: StartOptions = {}): TracewireSdk {
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
  diagnosticsFromEnv(env);

  if (sdkDisabled(env)) {
    const disabled = inertSdk('disabled', 'OTEL_SDK_DISABLED=true');
    holder[GLOBAL_KEY] = disabled;
    return disabled;
  }

  // Another SDK registered first: registering ours would fail signal by signal (the API keeps the
  // first provider and logs a generic "duplicate registration"). Say so once, clearly, and use the
  // registered providers: tracewire's middleware reads the globals, so its spans go there.
  const foreign = foreignSignals(holder);
  if (foreign.length > 0) {
    const message =
      `@tracewire/node: another OpenTelemetry SDK already registered the global ${foreign.join(' and ')} ` +
      `provider${foreign.length > 1 ? 's' : ''} (for example --import @opentelemetry/auto-instrumentations-node/register or NodeSDK.start()). ` +
      "start() registered nothing of its own; tracewire's middleware reports to the registered providers. " +
      'To use start() instead, remove the other SDK; to keep the other SDK, remove start().';
    diag.error(message);
    if (printWarnings) process.stderr.write(`${message}\n`);
    const handle = inertSdk('foreign-sdk', message);
    holder[GLOBAL_KEY] = handle;
    return handle;
  }

  const resourceAttributes: Attributes = { ...options.resourceAttributes };
  if (options.serviceVersion !== undefined) resourceAttributes['service.version'] = options.serviceVersion;
  // Priority, lowest first: SDK defaults, detected host/os/process, options.resourceAttributes,
  // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, then options.serviceName.
  let resource = defaultResource()
    .merge(resourceFromEnv(env))
    .merge(resourceFromAttributes(resourceAttributes))
    .merge(detectResources({ detectors: [resourceAttributesEnvDetector] }));
  const envServiceName = env.OTEL_SERVICE_NAME?.trim();
  if (envServiceName) resource = resource.merge(resourceFromAttributes({ 'service.name': envServiceName }));
  if (options.serviceName !== undefined)
    resource = resource.merge(resourceFromAttributes({ 'service.name': options.serviceName }));

  const contextManager = new AsyncLocalStorageContextManager();
  contextManager.enable();
  context.setGlobalContextManager(contextManager);

  // The core propagator enforces the trace-context and baggage budgets; OTEL_PROPAGATORS still wins.
  const envPropagator = options.propagator === undefined ? propagatorFromEnv(env) : undefined;
  const propagator = options.propagator ?? (envPropagator === undefined ? w3cPropagator() : envPropagator);
  if (propagator !== null) propagation.setGlobalPropagator(propagator);

  const readers = options.metricReaders ?? metricReadersFromEnv(env);
  const meterProvider =
    readers.length > 0 ? new MeterProvider({ resource, readers, views: options.views ?? [] }) : undefined;
  if (meterProvider !== undefined) metrics.setGlobalMeterProvider(meterProvider);

  const spanProcessors = options.spanProcessors ?? spanProcessorsFromEnv(env);
  const tracerProvider =
    spanProcessors.length > 0
      ? new TracerProvider({
          resource,
          spanProcessors,
          sampler: options.sampler ?? samplerFromEnv(env),
          spanLimits: spanLimitsFromEnv(env),
        })
      : undefined;
  if (tracerProvider !== undefined) trace.setGlobalTracerProvider(tracerProvider);

  const logProcessors = options.logRecordProcessors ?? logRecordProcessorsFromEnv(env);
  const loggerProvider =
    logProcessors.length > 0 ? new LoggerProvider({ resource, processors: logProcessors }) : undefined;
  if (loggerProvider !== undefined) logs.setGlobalLoggerProvider(loggerProvider);

  const runtime = options.runtimeMetrics ?? true;
  let stopRuntime: (() => void) | undefined;
  if (runtime !== false && meterProvider !== undefined) {
    try {
      stopRuntime = startRuntimeMetrics(meterProvider, runtime === true ? {} : runtime);
    } catch (error) {
      diag.warn('@tracewire/node: runtime metrics not started', error);
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

  const providers = [tracerProvider, meterProvider, loggerProvider].filter((p) => p !== undefined);
  const handle: TracewireSdk = {
    status: 'started',
    doctorReport,
    forceFlush(): Promise<void> {
      return bounded(Promise.all(providers.map((p) => p.forceFlush())), timeout, 'forceFlush', printWarnings);
    },
    shutdown(): Promise<void> {
      if (shutdownPromise === undefined) {
        removeSignalHandlers();
        process.removeListener('beforeExit', onBeforeExit);
        stopHttp?.();
        stopRuntime?.();
        shutdownPromise = bounded(
          Promise.all(providers.map((p) => p.shutdown())),
          timeout,
          'shutdown',
          printWarnings,
        ).finally(() => {
          if (holder[GLOBAL_KEY] === handle) {
            delete holder[GLOBAL_KEY];
            // Stopped providers stay registered otherwise, and a later start() would see them as
            // another SDK's.
            if (tracerProvider !== undefined) trace.disable();
            if (meterProvider !== undefined) metrics.disable();
            if (loggerProvider !== undefined) logs.disable();
          }
        });
      }
      return shutdownPromise;
    },
  };
  holder[GLOBAL_KEY] = handle;
  return handle;
}

/** OTEL_LOG_LEVEL: `diag` to the console at that level (as the SDK's NodeSDK does). */
function diagnosticsFromEnv(env: Env): void {
  const level = env.OTEL_LOG_LEVEL?.trim().toLowerCase();
  if (level === undefined || level === '' || level === 'none') return;
  if (level === 'all') enableDiagnostics('verbose');
  else if (
    level === 'error' ||
    level === 'warn' ||
    level === 'info' ||
    level === 'debug' ||
    level === 'verbose'
  )
    enableDiagnostics(level);
}

/** The signals whose global provider someone else registered. */
function foreignSignals(holder: Holder): string[] {
  const api = holder[API_GLOBAL_KEY];
  if (api === undefined || api === null) return [];
  const out: string[] = [];
  if (api.trace !== undefined) out.push('tracer');
  if (api.metrics !== undefined) out.push('meter');
  return out;
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
  if (options.spanProcessors !== undefined) {
    if (!Array.isArray(options.spanProcessors))
      throw new TypeError('start(options): spanProcessors must be an array');
    options.spanProcessors.forEach((processor, i) => {
      // The SDK's processors keep their exporter in `_exporter`. Built with the 1.x/2.x signature
      // (`new SimpleSpanProcessor(exporter)`), a 3.x processor has none and drops every span silently.
      const held = processor as { _exporter?: unknown; onEnd?: unknown } | null | undefined;
      if (held === undefined || held === null || typeof held !== 'object' || typeof held.onEnd !== 'function')
        throw new TypeError(`start(options): spanProcessors[${i}] is not a span processor`);
      if ('_exporter' in held && (held._exporter === undefined || held._exporter === null)) {
        throw new TypeError(
          `start(options): spanProcessors[${i}] (${held.constructor.name}) has no exporter. SDK 3.x processors take ` +
            'an options object: new BatchSpanProcessor({ exporter }) or new SimpleSpanProcessor({ exporter }); ' +
            'the older form new SimpleSpanProcessor(exporter) drops every span.',
        );
      }
    });
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

/** A handle that owns nothing; its shutdown() only forgets it, so a later start() decides afresh. */
function inertSdk(status: StartStatus, message: string): TracewireSdk {
  const handle: TracewireSdk = {
    status,
    message,
    doctorReport: Promise.resolve(undefined),
    forceFlush: () => Promise.resolve(),
    shutdown: () => {
      const holder = globalThis as Holder;
      if (holder[GLOBAL_KEY] === handle) delete holder[GLOBAL_KEY];
      return Promise.resolve();
    },
  };
  return handle;
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
