import type { LoggerService, LogLevel } from '@nestjs/common';

/**
 * One log method of a pino-like logger: a fields object, then an optional message. pino's
 * `LogFn` (and so `@tracewire/logger`'s `createLogger()`) fits.
 */
export type PinoLikeLogFn = (fields: Record<string, unknown>, message?: string) => void;

/**
 * The logger {@link TracewireNestLogger} writes to, taken structurally: a pino logger, a
 * `createLogger()` logger from `@tracewire/logger` (which adds `trace_id`/`span_id` at call time),
 * or anything with these methods. `trace` and `fatal` are optional (Nest's `verbose` then goes to
 * `debug`, `fatal` to `error`).
 */
export interface PinoLikeLogger {
  info: PinoLikeLogFn;
  warn: PinoLikeLogFn;
  error: PinoLikeLogFn;
  debug: PinoLikeLogFn;
  trace?: PinoLikeLogFn;
  fatal?: PinoLikeLogFn;
}

/** Options of {@link TracewireNestLogger}. */
export interface TracewireNestLoggerOptions {
  /** The `context` written when a call carries none. @default undefined (no `context` field) */
  context?: string;
}

/** Nest's levels, least severe first (the order Nest compares them in). */
const SEVERITY: Readonly<Record<LogLevel, number>> = {
  verbose: 0,
  debug: 1,
  log: 2,
  warn: 3,
  error: 4,
  fatal: 5,
};

/** A stack trace as Nest passes it to `error()`: a first line, then `at …:line:column` frames. */
const STACK = /^.+\n\s+at .+:\d+:\d+/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A Nest `LoggerService` that writes through a pino-like logger, so that with `@tracewire/logger`
 * Nest's own lines (startup, routes, exceptions) and every `new Logger(context)` carry the active
 * trace (`trace_id`, `span_id`). `@tracewire/logger` is not a dependency: pass any logger of the
 * {@link PinoLikeLogger} shape.
 *
 * Nest's methods map to `log` → `info`, `warn`, `error`, `debug`, `verbose` → `trace` (else
 * `debug`), `fatal` (else `error`). The last string parameter is the context (a `context` field);
 * `error(message, stack?, context?)` writes the stack as a `stack` field. A string message is the
 * line's message, an `Error` goes to `err` (its message as the line's), a plain object's fields are
 * the line's fields; other parameters go to `params`. A throwing logger never throws into Nest: the
 * line is dropped. `setLogLevels()` (Nest's `logger: [...]` option, `app.useLogger([...])`) filters
 * as Nest's own logger does.
 *
 * @example
 * import { createLogger } from '@tracewire/logger';
 * import { TracewireNestLogger } from '@tracewire/nest';
 * const app = await NestFactory.create(AppModule, { bufferLogs: true });
 * app.useLogger(new TracewireNestLogger(createLogger({ name: 'orders' })));
 */
export class TracewireNestLogger implements LoggerService {
  readonly #logger: PinoLikeLogger;
  readonly #context: string | undefined;
  #levels: ReadonlySet<LogLevel> | undefined;
  #minSeverity = 0;

  constructor(logger: PinoLikeLogger, options?: TracewireNestLoggerOptions) {
    const owner = '@tracewire/nest: TracewireNestLogger';
    if (typeof logger !== 'object' || logger === null) {
      throw new TypeError(
        `${owner} needs a logger object (pino-like), got ${logger === null ? 'null' : typeof logger}`,
      );
    }
    for (const method of ['info', 'warn', 'error', 'debug'] as const) {
      if (typeof logger[method] !== 'function') {
        throw new TypeError(`${owner}: the logger has no ${method}() method`);
      }
    }
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw new TypeError(`${owner}: options must be an object`);
    }
    const context = options?.context;
    if (context !== undefined && typeof context !== 'string') {
      throw new TypeError(`${owner}: options.context must be a string`);
    }
    this.#logger = logger;
    this.#context = context;
  }

  log(message: unknown, ...optionalParams: unknown[]): void {
    this.#write('log', message, optionalParams);
  }

  error(message: unknown, ...optionalParams: unknown[]): void {
    this.#write('error', message, optionalParams);
  }

  warn(message: unknown, ...optionalParams: unknown[]): void {
    this.#write('warn', message, optionalParams);
  }

  debug(message: unknown, ...optionalParams: unknown[]): void {
    this.#write('debug', message, optionalParams);
  }

  verbose(message: unknown, ...optionalParams: unknown[]): void {
    this.#write('verbose', message, optionalParams);
  }

  fatal(message: unknown, ...optionalParams: unknown[]): void {
    this.#write('fatal', message, optionalParams);
  }

  /**
   * Nest's level filter: a level is written when listed, or when more severe than every listed
   * one; an empty list writes nothing. Without a call, every level goes to the logger (which
   * applies its own level).
   */
  setLogLevels(levels: LogLevel[]): void {
    try {
      const listed = Array.isArray(levels) ? levels.filter((l) => Object.hasOwn(SEVERITY, l)) : [];
      this.#levels = new Set(listed);
      this.#minSeverity =
        listed.length === 0 ? Number.POSITIVE_INFINITY : Math.max(...listed.map((l) => SEVERITY[l]));
    } catch {
      // Never throws into Nest: keep the previous levels.
    }
  }

  #enabled(level: LogLevel): boolean {
    const levels = this.#levels;
    return levels === undefined || levels.has(level) || SEVERITY[level] >= this.#minSeverity;
  }

  #write(level: LogLevel, message: unknown, params: unknown[]): void {
    try {
      if (!this.#enabled(level)) return;
      const logger = this.#logger;
      const fields: Record<string, unknown> = {};
      let msg: string | undefined;

      let rest = params;
      let stack: string | undefined;
      let context = this.#context;
      if (level === 'error' && rest.length === 1 && typeof rest[0] === 'string' && STACK.test(rest[0])) {
        // error(message, stack): a lone string that looks like a stack is one.
        stack = rest[0];
        rest = [];
      } else if (rest.length > 0 && typeof rest[rest.length - 1] === 'string') {
        context = rest[rest.length - 1] as string;
        rest = rest.slice(0, -1);
      }
      if (level === 'error' && stack === undefined && rest.length > 0) {
        // error(message, stack, context): Nest's Logger passes `undefined` when there is no stack.
        const last = rest[rest.length - 1];
        if (last === undefined || typeof last === 'string') {
          if (typeof last === 'string') stack = last;
          rest = rest.slice(0, -1);
        }
      }

      if (typeof message === 'string') {
        msg = message;
      } else if (message instanceof Error) {
        fields.err = message;
        msg = message.message;
      } else if (isPlainObject(message)) {
        Object.assign(fields, message);
      } else if (typeof message === 'object' && message !== null) {
        fields.message = message;
      } else if (message !== undefined) {
        msg = String(message);
      }
      if (context !== undefined) fields.context = context;
      if (stack !== undefined && !(message instanceof Error)) fields.stack = stack;
      const extra = rest.filter((p) => p !== undefined);
      if (extra.length > 0) fields.params = extra;

      const method = this.#method(level);
      if (msg === undefined) method.call(logger, fields);
      else method.call(logger, fields, msg);
    } catch {
      // A throwing logger (or message) must not break Nest: the line is dropped.
    }
  }

  #method(level: LogLevel): PinoLikeLogFn {
    const logger = this.#logger;
    switch (level) {
      case 'log':
        return logger.info;
      case 'warn':
        return logger.warn;
      case 'error':
        return logger.error;
      case 'debug':
        return logger.debug;
      case 'verbose':
        return typeof logger.trace === 'function' ? logger.trace : logger.debug;
      case 'fatal':
        return typeof logger.fatal === 'function' ? logger.fatal : logger.error;
    }
  }
}
