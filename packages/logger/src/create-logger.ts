import type {
  Bindings,
  ChildLoggerOptions,
  DestinationStream,
  LevelWithSilentOrString,
  LoggerOptions,
  Logger as PinoLogger,
} from 'pino';
import pino from 'pino';
import {
  BOUND_KEYS,
  type Internals,
  logMethod,
  prepareBindings,
  SERIALIZERS,
  streamWrite,
  TREE,
  type Tree,
} from './internal/record.js';
import { capString, newState } from './internal/sanitize.js';
import { LOGGER_STATE, type LoggerState } from './internal/symbols.js';
import { type LogLimits, resolveLimits } from './limits.js';
import { OtelLogsBridge, type OtelLogsOptions } from './otel-logs.js';
import { type RedactOptions, resolveRedact } from './redaction.js';

const OWNER = '@tracewire/logger';

/** The logger {@link createLogger} returns: a pino logger (same API, children included). */
export type Logger = PinoLogger;

/** A serializer: receives the raw value of a top-level key, returns what to write. */
export type LogSerializer = (value: any) => unknown;

/**
 * Options of {@link createLogger}. Every field is optional.
 *
 * @example
 * ```ts
 * const options: CreateLoggerOptions = { name: 'orders', level: 'debug', redact: ['card.number'] };
 * ```
 */
export interface CreateLoggerOptions {
  /** Written as `name` on every line. @default undefined */
  name?: string;
  /** Minimum level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. @default 'info' */
  level?: LevelWithSilentOrString;
  /**
   * Where lines go: any `{ write(line) }` stream, `pino.destination(...)` or `pino.transport(...)`
   * (worker threads). The logger writes nowhere else.
   * @default standard output (pino's default destination)
   */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Paths to redact (pino `redact`), added to {@link DEFAULT_REDACT_PATHS}. @default [] */
  redact?: string[] | RedactOptions;
  /** Whether {@link DEFAULT_REDACT_PATHS} are redacted too. @default true */
  redactDefaults?: boolean;
  /**
   * Serializers by top-level key, added to the defaults (`req` and `res`: pino's standard ones).
   * Their output is bounded like any other value; a throwing serializer writes `"[Unserializable]"`.
   * Errors need none: any Error, at any depth, is written as `{ type, message, stack, code, … }`.
   * @default {}
   */
  serializers?: Record<string, LogSerializer>;
  /** Fields of every line. `null` writes neither `pid` nor `hostname` (nor `name`). @default { pid, hostname } */
  base?: Record<string, unknown> | null;
  /** `time` as epoch milliseconds, ISO 8601, or not at all. @default 'epoch' */
  timestamp?: 'epoch' | 'iso' | false;
  /** Returns fields to add to every record (called at log time). A throw is contained. @default undefined */
  mixin?: (level: number) => Record<string, unknown>;
  /** Bounds of what one record may hold. @default DEFAULT_LOG_LIMITS */
  limits?: LogLimits;
  /**
   * Also emit every record to an OpenTelemetry LoggerProvider: `true` for the global one
   * (`@opentelemetry/api` 1.10+), or `{ loggerProvider }`.
   * @default false
   */
  otelLogs?: boolean | OtelLogsOptions;
}

const DEFAULT_SERIALIZERS: Readonly<Record<string, LogSerializer>> = Object.freeze({
  req: pino.stdSerializers.req,
  res: pino.stdSerializers.res,
});

/**
 * Creates a pino logger whose records carry the active trace (`trace_id`, `span_id`,
 * `trace_flags`, taken at call time from the OpenTelemetry context, absent outside a valid span),
 * with every key once per line, one physical line per record whatever the strings contain,
 * bounded values that never throw into the application, default redaction of credentials, and an
 * optional bridge to the OpenTelemetry Logs API. No module is patched: import order, ESM and
 * bundling do not matter.
 *
 * @example
 * ```ts
 * import { createLogger } from '@tracewire/logger';
 * const log = createLogger({ name: 'orders' });
 * app.get('/orders/:id', (req, res) => {
 *   log.info({ orderId: req.params.id }, 'loading order'); // {"level":30,…,"trace_id":"4bf9…","span_id":…}
 * });
 * ```
 */
export function createLogger(options?: CreateLoggerOptions): Logger {
  const opts = validate(options);
  const limits = resolveLimits(opts.limits, OWNER);
  const redactDefaults = opts.redactDefaults !== false;
  const otelLogs = opts.otelLogs;
  const bridge =
    otelLogs === undefined || otelLogs === false
      ? undefined
      : new OtelLogsBridge(otelLogs === true ? {} : otelLogs);
  const tree: Tree = { limits, bridge, mixin: opts.mixin, redactDefaults, failures: 0 };
  const serializers = { ...DEFAULT_SERIALIZERS, ...opts.serializers };

  // The root bindings go through the same cleaning as children's (formatters.bindings would
  // only ever see these: pino resets it for every child).
  const rootKeys = new Set<string>();
  let base: Record<string, unknown> | null | undefined;
  if (opts.base === null) {
    base = null;
  } else if (opts.base !== undefined) {
    const prepared = prepareBindings(opts.base, new Set(), serializers, limits);
    base = prepared.clean;
    for (const key of prepared.keys) rootKeys.add(key);
  } else {
    rootKeys.add('pid').add('hostname');
  }
  if (base !== null && opts.name !== undefined) rootKeys.add('name');

  const pinoOptions: LoggerOptions = {
    level: opts.level ?? 'info',
    messageKey: 'msg',
    errorKey: 'err',
    // Values are serialized before pino sees them; pino's own err serializer would redo it on a
    // plain object. Only the formatted message (interpolation happens inside pino) is capped here.
    serializers: {
      err: (value: unknown) => value,
      msg: (value: unknown) => (typeof value === 'string' ? capString(value, newState(limits)) : value),
    },
    timestamp:
      opts.timestamp === false
        ? false
        : opts.timestamp === 'iso'
          ? pino.stdTimeFunctions.isoTime
          : pino.stdTimeFunctions.epochTime,
    hooks: { logMethod, streamWrite },
  };
  if (opts.name !== undefined) pinoOptions.name = opts.name;
  if (base !== undefined) pinoOptions.base = base;
  const redact = resolveRedact(opts.redact, redactDefaults);
  if (redact !== undefined) pinoOptions.redact = redact;

  const logger = (
    opts.destination === undefined
      ? pino(pinoOptions)
      : pino(pinoOptions, opts.destination as DestinationStream)
  ) as Internals;

  const proto = Object.getPrototypeOf(logger) as PinoLogger;
  // Loosely typed: pino's generic signatures do not survive `.call` with our `this`.
  const protoChild = proto.child as unknown as (this: object, bindings: object, options?: object) => unknown;
  const protoSetBindings = proto.setBindings as unknown as (this: object, bindings: object) => void;
  hide(logger, TREE, tree);
  hide(logger, BOUND_KEYS, rootKeys);
  hide(logger, SERIALIZERS, serializers);
  const state: LoggerState = { loggerProvider: () => bridge?.provider(), failures: () => tree.failures };
  hide(logger, LOGGER_STATE, state);

  // pino applies `formatters.bindings` to the root bindings only (child() resets it), so child
  // and setBindings are wrapped on the root instance; children inherit the wrappers through
  // their prototype chain (pino creates them with Object.create(parent)).
  hide(
    logger,
    'child',
    function child(this: Internals, bindings?: Bindings, childOptions?: ChildLoggerOptions) {
      const parentSerializers = this[SERIALIZERS];
      let ownSerializers = parentSerializers;
      let passed: ChildLoggerOptions | undefined;
      if (typeof childOptions === 'object' && childOptions !== null) {
        // `formatters` could undo the invariants (e.g. a log formatter re-adding trace_id); our own
        // serializers run before pino, so pino must not run them a second time.
        const { serializers: extra, formatters: _formatters, redact: childRedact, ...rest } = childOptions;
        if (typeof extra === 'object' && extra !== null) ownSerializers = { ...parentSerializers, ...extra };
        passed = rest;
        if (childRedact !== undefined) {
          const resolved = resolveRedact(childRedact, this[TREE].redactDefaults);
          if (resolved !== undefined) passed.redact = resolved;
        }
      }
      const prepared = prepareBindings(bindings, this[BOUND_KEYS], ownSerializers, this[TREE].limits);
      const instance = protoChild.call(this, prepared.clean, passed) as Internals;
      hide(instance, BOUND_KEYS, prepared.keys);
      if (ownSerializers !== parentSerializers) hide(instance, SERIALIZERS, ownSerializers);
      return instance;
    },
  );
  hide(logger, 'setBindings', function setBindings(this: Internals, bindings: Bindings) {
    const prepared = prepareBindings(bindings, this[BOUND_KEYS], this[SERIALIZERS], this[TREE].limits);
    protoSetBindings.call(this, prepared.clean);
    hide(this, BOUND_KEYS, prepared.keys);
  });
  return logger;
}

function hide(target: object, key: PropertyKey, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}

function validate(options: CreateLoggerOptions | undefined): CreateLoggerOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${OWNER}: createLogger options must be an object`);
  }
  const o = options;
  if (o.name !== undefined && typeof o.name !== 'string')
    throw new TypeError(`${OWNER}: options.name must be a string`);
  if (o.level !== undefined && typeof o.level !== 'string') {
    throw new TypeError(`${OWNER}: options.level must be a level name`);
  }
  if (
    o.destination !== undefined &&
    (o.destination === null || typeof (o.destination as { write?: unknown }).write !== 'function')
  ) {
    throw new TypeError(`${OWNER}: options.destination must be a stream with a write() method`);
  }
  if (o.redactDefaults !== undefined && typeof o.redactDefaults !== 'boolean') {
    throw new TypeError(`${OWNER}: options.redactDefaults must be a boolean`);
  }
  if (o.serializers !== undefined) {
    if (o.serializers === null || typeof o.serializers !== 'object') {
      throw new TypeError(`${OWNER}: options.serializers must be an object of functions`);
    }
    for (const [key, fn] of Object.entries(o.serializers)) {
      if (typeof fn !== 'function')
        throw new TypeError(`${OWNER}: options.serializers.${key} must be a function`);
    }
  }
  if (o.base !== undefined && o.base !== null && typeof o.base !== 'object') {
    throw new TypeError(`${OWNER}: options.base must be an object or null`);
  }
  if (
    o.timestamp !== undefined &&
    o.timestamp !== false &&
    o.timestamp !== 'epoch' &&
    o.timestamp !== 'iso'
  ) {
    throw new TypeError(`${OWNER}: options.timestamp must be 'epoch', 'iso' or false`);
  }
  if (o.mixin !== undefined && typeof o.mixin !== 'function') {
    throw new TypeError(`${OWNER}: options.mixin must be a function`);
  }
  const otelLogs = o.otelLogs;
  if (otelLogs !== undefined && typeof otelLogs !== 'boolean') {
    if (otelLogs === null || typeof otelLogs !== 'object') {
      throw new TypeError(`${OWNER}: options.otelLogs must be a boolean or { loggerProvider }`);
    }
    const provider = otelLogs.loggerProvider;
    if (
      provider !== undefined &&
      (provider === null || typeof (provider as { getLogger?: unknown }).getLogger !== 'function')
    ) {
      throw new TypeError(`${OWNER}: options.otelLogs.loggerProvider must have a getLogger() method`);
    }
  }
  return o;
}
