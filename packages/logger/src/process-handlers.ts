import { inspect } from 'node:util';
import { metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import { logDiag } from './internal/diag.js';
import { isError, read } from './internal/safe.js';
import { LOGGER_STATE, type LoggerState, PROCESS_HANDLERS, TRACE_OVERRIDE } from './internal/symbols.js';
import { globalLogsApi } from './otel-logs.js';

/** Anything with a `forceFlush()` (tracer, meter and logger providers, processors, exporters). */
export interface FlushableLike {
  forceFlush(): unknown;
}

/** The part of a pino logger the process handlers use. */
export interface ProcessLoggerLike {
  fatal(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  flush?(cb?: (err?: Error) => void): void;
}

/**
 * Options of {@link installProcessHandlers}.
 *
 * @example
 * ```ts
 * const options: ProcessHandlersOptions = { logger: log, flushTimeoutMs: 5000 };
 * ```
 */
export interface ProcessHandlersOptions {
  /** Where faults are logged (normally from `createLogger`). Required. */
  logger: ProcessLoggerLike;
  /**
   * The longest the handler waits for the logger and the providers to flush before exiting. The
   * timer is unref'd, and `process.exitCode` is set first, so an early natural exit still fails.
   * @default 2000
   */
  flushTimeoutMs?: number;
  /** The exit code after a fatal fault (an integer 1..255). @default 1 */
  exitCode?: number;
  /**
   * Whether an unhandled rejection is fatal (logged at `fatal`, flushed, exit) like an uncaught
   * exception, as Node's default `--unhandled-rejections=throw` does. When false it is logged at
   * `error` and recorded on the active span, and the process keeps running.
   * @default true
   */
  exitOnUnhandledRejection?: boolean;
  /**
   * Whether the global tracer, meter and logger providers of `@opentelemetry/api` are flushed
   * (each one that has a `forceFlush()`).
   * @default true
   */
  flushGlobalProviders?: boolean;
  /** More things to flush, e.g. providers that were never registered globally. @default [] */
  providers?: readonly FlushableLike[];
}

const OWNER = '@tracewire/logger';

interface Installed {
  uninstall(): void;
}

/**
 * Handles `uncaughtException` and `unhandledRejection` (the Node counterpart of Go's panic
 * recovery middleware): logs the error with the trace it belongs to (the `traceId` a
 * `TracedError` captured where it was created, else the span active when the handler runs),
 * records it on the active span, flushes the logger and the OpenTelemetry providers within
 * `flushTimeoutMs`, then exits with `exitCode`. Installing twice is a no-op (the first install
 * wins; the key is `Symbol.for('tracewire.logger.processHandlers')` on `process`). The original
 * error is never replaced: if it cannot be logged it is printed to stderr as Node would.
 *
 * @returns a function that removes the handlers.
 * @example
 * ```ts
 * const log = createLogger({ name: 'orders' });
 * installProcessHandlers({ logger: log });
 * ```
 */
export function installProcessHandlers(options: ProcessHandlersOptions): () => void {
  const config = validate(options);
  const existing = read(process, PROCESS_HANDLERS);
  if (typeof existing === 'object' && existing !== null) {
    logDiag.warn('install', 'process handlers are already installed; this call changed nothing');
    return () => {};
  }

  let exiting = false;
  // With --unhandled-rejections=strict Node raises a rejection as an uncaught exception and then
  // also emits 'unhandledRejection' for it: report the same reason once.
  let lastReason: { value: unknown } | undefined;
  const handle = (
    error: unknown,
    event: 'uncaughtException' | 'unhandledRejection',
    fatal: boolean,
  ): void => {
    try {
      if (event === 'unhandledRejection') {
        if (lastReason !== undefined && Object.is(lastReason.value, error)) return;
        lastReason = { value: error };
      }
      report(config, error, event, fatal);
      if (!fatal || exiting) return; // a fault while flushing: logged, the first exit goes on
      exiting = true;
      // Set now: if the loop empties while flushing (the timer is unref'd), the exit still fails.
      process.exitCode = config.exitCode;
      void flushAll(config).then(
        () => process.exit(config.exitCode),
        () => process.exit(config.exitCode),
      );
    } catch {
      // Never throw from here: Node would exit with code 7 and report our error, not the app's.
      process.exitCode = config.exitCode;
      if (fatal) process.exit(config.exitCode);
    }
  };
  const onException = (error: unknown, origin?: string): void => {
    // A rejection arrives here (origin 'unhandledRejection') only in --unhandled-rejections=strict
    // mode; it is then treated as a rejection, with the rejection's exit policy.
    if (origin === 'unhandledRejection') handle(error, 'unhandledRejection', config.exitOnUnhandledRejection);
    else handle(error, 'uncaughtException', true);
  };
  const onRejection = (reason: unknown): void => {
    handle(reason, 'unhandledRejection', config.exitOnUnhandledRejection);
  };

  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  const installed: Installed = {
    uninstall() {
      process.removeListener('uncaughtException', onException);
      process.removeListener('unhandledRejection', onRejection);
      if (read(process, PROCESS_HANDLERS) === installed) Reflect.deleteProperty(process, PROCESS_HANDLERS);
    },
  };
  Object.defineProperty(process, PROCESS_HANDLERS, { value: installed, configurable: true, writable: true });
  return () => installed.uninstall();
}

interface Config {
  logger: ProcessLoggerLike;
  flushTimeoutMs: number;
  exitCode: number;
  exitOnUnhandledRejection: boolean;
  flushGlobalProviders: boolean;
  providers: readonly FlushableLike[];
}

function validate(options: ProcessHandlersOptions): Config {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${OWNER}: installProcessHandlers options must be an object with a logger`);
  }
  const logger = options.logger as unknown;
  if (
    typeof logger !== 'object' ||
    logger === null ||
    typeof (logger as ProcessLoggerLike).fatal !== 'function' ||
    typeof (logger as ProcessLoggerLike).error !== 'function'
  ) {
    throw new TypeError(`${OWNER}: installProcessHandlers options.logger must be a logger (createLogger())`);
  }
  const timeout = options.flushTimeoutMs ?? 2000;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
    throw new TypeError(`${OWNER}: options.flushTimeoutMs must be a non-negative number`);
  }
  const exitCode = options.exitCode ?? 1;
  if (!Number.isInteger(exitCode) || exitCode < 1 || exitCode > 255) {
    throw new TypeError(`${OWNER}: options.exitCode must be an integer 1..255`);
  }
  for (const name of ['exitOnUnhandledRejection', 'flushGlobalProviders'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') {
      throw new TypeError(`${OWNER}: options.${name} must be a boolean`);
    }
  }
  const providers = options.providers ?? [];
  if (!Array.isArray(providers) || providers.some((p) => typeof p?.forceFlush !== 'function')) {
    throw new TypeError(`${OWNER}: options.providers must be an array of objects with forceFlush()`);
  }
  return {
    logger: options.logger,
    flushTimeoutMs: timeout,
    exitCode,
    exitOnUnhandledRejection: options.exitOnUnhandledRejection ?? true,
    flushGlobalProviders: options.flushGlobalProviders ?? true,
    providers: [...providers],
  };
}

const HEX_TRACE_ID = /^[0-9a-f]{32}$/i;
const HEX_SPAN_ID = /^[0-9a-f]{16}$/i;

/** Logs the fault and records it on the active span. Never throws. */
function report(config: Config, error: unknown, event: string, fatal: boolean): void {
  let logged = false;
  try {
    const failuresBefore = failures(config.logger);
    const record: Record<PropertyKey, unknown> = { err: error, event };
    const ids = errorTrace(error);
    if (ids !== undefined) record[TRACE_OVERRIDE] = ids;
    const message = event === 'uncaughtException' ? 'uncaught exception' : 'unhandled promise rejection';
    if (fatal) config.logger.fatal(record, message);
    else config.logger.error(record, message);
    // Our logger never throws; it counts the records it could not write instead.
    logged = failures(config.logger) === failuresBefore;
  } catch (failure) {
    logDiag.warn('process-log', 'the process fault could not be logged', failure);
  }
  if (!logged) {
    // The last resort for a dying process, as Node itself would print it; never swallowed.
    try {
      process.stderr.write(`${inspect(error)}\n`);
    } catch {}
  }
  try {
    const span = trace.getActiveSpan();
    if (span?.isRecording() === true) {
      span.recordException(exceptionOf(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
      // The process is about to exit: a span that never ends is never exported.
      if (fatal) span.end();
    }
  } catch (failure) {
    logDiag.warn('process-span', 'the process fault could not be recorded on the active span', failure);
  }
}

function failures(logger: ProcessLoggerLike): number {
  const state = read(logger, LOGGER_STATE) as LoggerState | undefined;
  try {
    return typeof state?.failures === 'function' ? state.failures() : 0;
  } catch {
    return 0;
  }
}

/**
 * The trace the error was created in, when it carries one (a TracedError, or anything with valid
 * `traceId`/`spanId` strings). The flags are those of the active span when it is the same trace,
 * else unknown (not written).
 */
function errorTrace(error: unknown): { traceId: string; spanId: string; traceFlags?: number } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const traceId = read(error, 'traceId');
  const spanId = read(error, 'spanId');
  if (typeof traceId !== 'string' || !HEX_TRACE_ID.test(traceId)) return undefined;
  if (typeof spanId !== 'string' || !HEX_SPAN_ID.test(spanId)) return undefined;
  const ids: { traceId: string; spanId: string; traceFlags?: number } = {
    traceId: traceId.toLowerCase(),
    spanId: spanId.toLowerCase(),
  };
  try {
    const active = trace.getActiveSpan()?.spanContext();
    if (active !== undefined && active.traceId.toLowerCase() === ids.traceId)
      ids.traceFlags = active.traceFlags;
  } catch {}
  return ids;
}

function exceptionOf(error: unknown): Error | string {
  if (typeof error === 'object' && error !== null && isError(error)) return error as Error;
  try {
    return typeof error === 'string' ? error.slice(0, 1000) : `Non-error value: ${typeof error}`;
  } catch {
    return 'Non-error value';
  }
}

/** Flushes the logger and every provider, together, for at most `flushTimeoutMs`. */
async function flushAll(config: Config): Promise<void> {
  const tasks: Promise<unknown>[] = [];
  const logger = config.logger;
  tasks.push(
    new Promise<void>((resolve) => {
      try {
        if (typeof logger.flush === 'function') logger.flush(() => resolve());
        else resolve();
      } catch {
        resolve();
      }
    }),
  );
  for (const provider of providers(config)) {
    tasks.push(
      Promise.resolve()
        .then(() => provider.forceFlush())
        .catch((error: unknown) => logDiag.warn('process-flush', 'a provider failed to flush', error)),
    );
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, config.flushTimeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([Promise.allSettled(tasks), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The providers to flush, looked up at fault time (an SDK registered after install counts). */
function providers(config: Config): FlushableLike[] {
  const found = new Set<unknown>(config.providers);
  try {
    const state = read(config.logger, LOGGER_STATE) as LoggerState | undefined;
    if (typeof state?.loggerProvider === 'function') found.add(state.loggerProvider());
  } catch {}
  if (config.flushGlobalProviders) {
    try {
      // The global tracer provider is a proxy; its delegate is the SDK's.
      const proxy = trace.getTracerProvider() as { getDelegate?: () => unknown };
      found.add(typeof proxy.getDelegate === 'function' ? proxy.getDelegate() : proxy);
    } catch {}
    try {
      found.add(metrics.getMeterProvider());
    } catch {}
    try {
      found.add(globalLogsApi()?.getLoggerProvider());
    } catch {}
  }
  const out: FlushableLike[] = [];
  for (const candidate of found) {
    if (
      typeof candidate === 'object' &&
      candidate !== null &&
      typeof read(candidate, 'forceFlush') === 'function'
    ) {
      out.push(candidate as FlushableLike);
    }
  }
  return out;
}
