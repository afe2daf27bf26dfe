// The optional bridge to the OpenTelemetry Logs API. `@opentelemetry/api` is a peer (^1.9.0) and
// the Logs API only exists in it from 1.10 (before, it was the separate `@opentelemetry/api-logs`
// package), so nothing here imports a logs name statically: a static `import { logs }` would fail
// to link against 1.9. The global provider is feature-detected on the namespace at run time, and a
// provider passed in options only has to be structurally a LoggerProvider.

import type { Context } from '@opentelemetry/api';
import * as api from '@opentelemetry/api';
import { logDiag } from './internal/diag.js';
import { SCOPE_NAME, VERSION } from './version.js';

/** What a bridged record looks like: the subset of the OpenTelemetry `LogRecord` this package fills. */
export interface OtelLogRecord {
  /** Time of the record, epoch milliseconds. */
  timestamp?: number;
  /** OpenTelemetry severity number (1..24). */
  severityNumber?: number;
  /** The pino level label (`info`, `error`...). */
  severityText?: string;
  /** The message. */
  body?: unknown;
  /** Every other field of the line (after serializers and redaction), plus `exception.*`. */
  attributes?: Record<string, unknown>;
  /** The context the record was written in; the SDK takes the span context from it. */
  context?: Context;
}

/** Structurally an OpenTelemetry `Logger`: only `emit` is used. */
export interface OtelLoggerLike {
  emit(record: OtelLogRecord): void;
}

/**
 * Structurally an OpenTelemetry `LoggerProvider`: the `@opentelemetry/api` 1.10+ one, the SDK's
 * (`@opentelemetry/sdk-logs`), or the one from the older `@opentelemetry/api-logs` package.
 */
export interface OtelLoggerProviderLike {
  getLogger(name: string, version?: string): OtelLoggerLike;
}

/** Options of the Logs bridge (`createLogger({ otelLogs })`). */
export interface OtelLogsOptions {
  /**
   * The provider to emit to. When absent, the global one of `@opentelemetry/api` (1.10+), looked
   * up on every record so a provider registered later is used; with `@opentelemetry/api` 1.9 and
   * no provider given, the bridge is inactive.
   */
  loggerProvider?: OtelLoggerProviderLike;
}

interface LogsApiLike {
  getLoggerProvider(): OtelLoggerProviderLike;
}

/** The `logs` entry point of the installed `@opentelemetry/api`, when it has one (1.10+). */
export function globalLogsApi(): LogsApiLike | undefined {
  try {
    const logs: unknown = Reflect.get(api, 'logs');
    if (
      typeof logs === 'object' &&
      logs !== null &&
      typeof Reflect.get(logs, 'getLoggerProvider') === 'function'
    ) {
      return logs as LogsApiLike;
    }
  } catch {
    // A namespace object never throws on get; the guard is for exotic bundler shims.
  }
  return undefined;
}

/** Whether the installed `@opentelemetry/api` exposes the Logs API (1.10+). */
export function hasGlobalLogsApi(): boolean {
  return globalLogsApi() !== undefined;
}

/** pino level number -> OpenTelemetry SeverityNumber (logs data model, "Mapping of SeverityNumber"). */
function severityNumber(level: number): number {
  if (level >= 60) return 21; // FATAL
  if (level >= 50) return 17; // ERROR
  if (level >= 40) return 13; // WARN
  if (level >= 30) return 9; // INFO
  if (level >= 20) return 5; // DEBUG
  return 1; // TRACE
}

/** Fields that are part of the record itself, not attributes. */
const RECORD_FIELDS = new Set([
  'level',
  'time',
  'msg',
  'trace_id',
  'span_id',
  'trace_flags',
  'pid',
  'hostname',
]);

/** Emits pino lines to a LoggerProvider. One per logger tree; never throws. */
export class OtelLogsBridge {
  readonly #given: OtelLoggerProviderLike | undefined;
  #provider: OtelLoggerProviderLike | undefined;
  #logger: OtelLoggerLike | undefined;
  #emitting = false;

  constructor(options: OtelLogsOptions) {
    this.#given = options.loggerProvider;
  }

  /** The provider records currently go to, if any. */
  provider(): OtelLoggerProviderLike | undefined {
    if (this.#given !== undefined) return this.#given;
    try {
      return globalLogsApi()?.getLoggerProvider();
    } catch {
      return undefined;
    }
  }

  #otelLogger(): OtelLoggerLike | undefined {
    const provider = this.provider();
    if (provider === undefined) return undefined;
    // getLogger may be expensive: cache per provider (the global one can be replaced or disabled).
    if (provider !== this.#provider || this.#logger === undefined) {
      this.#logger = provider.getLogger(SCOPE_NAME, VERSION);
      this.#provider = provider;
    }
    return this.#logger;
  }

  /**
   * Emits the record written as `line` (the exact JSON pino produced: serializers and redaction
   * applied) in `ctx`. Re-entrant calls (an exporter that logs through this logger) are written
   * to the destination but not bridged again, so they cannot loop.
   */
  emit(line: string, label: string, ctx: Context): void {
    if (this.#emitting) return;
    this.#emitting = true;
    try {
      const logger = this.#otelLogger();
      if (logger === undefined) return;
      logger.emit(toRecord(JSON.parse(line) as Record<string, unknown>, label, ctx));
    } catch (error) {
      logDiag.warn('otel-logs', 'a record could not be emitted to the LoggerProvider', error);
    } finally {
      this.#emitting = false;
    }
  }
}

function toRecord(fields: Record<string, unknown>, label: string, ctx: Context): OtelLogRecord {
  const level = typeof fields.level === 'number' ? fields.level : 30;
  const attributes: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) {
    if (RECORD_FIELDS.has(key)) continue;
    const value = fields[key];
    if (key === 'err' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      // Semantic conventions for exceptions in logs: exception.type / .message / .stacktrace.
      const { type, message, stack, ...rest } = value as Record<string, unknown>;
      if (typeof type === 'string') attributes['exception.type'] = type;
      if (typeof message === 'string') attributes['exception.message'] = message;
      if (typeof stack === 'string') attributes['exception.stacktrace'] = stack;
      if (Object.keys(rest).length > 0) attributes.err = rest;
      continue;
    }
    attributes[key] = value;
  }
  const record: OtelLogRecord = {
    severityNumber: severityNumber(level),
    severityText: label,
    attributes,
    context: ctx,
  };
  if (fields.msg !== undefined) record.body = fields.msg;
  if (typeof fields.time === 'number') record.timestamp = fields.time;
  else if (typeof fields.time === 'string') {
    const parsed = Date.parse(fields.time);
    if (!Number.isNaN(parsed)) record.timestamp = parsed;
  }
  return record;
}
