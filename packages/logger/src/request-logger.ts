import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Context, context } from '@opentelemetry/api';
import type { Logger } from './create-logger.js';
import { logDiag } from './internal/diag.js';
import { read } from './internal/safe.js';
import { FALLBACK_CONTEXT, SERVER_REQUEST } from './internal/symbols.js';

/**
 * Options of {@link requestLogger} and {@link koaRequestLogger}.
 *
 * @example
 * ```ts
 * const options: RequestLoggerOptions = { logger: log, accessLog: true };
 * ```
 */
export interface RequestLoggerOptions<TReq = IncomingMessage> {
  /** The logger whose child becomes `req.log` / `ctx.log` (normally from `createLogger`). Required. */
  logger: Logger;
  /**
   * Write one line per request when its response closes: `method`, `route` (template, when
   * known), `path` (no query string), `status`, `duration_ms`, and `aborted: true` when the
   * response did not finish. Level `info`; `error` for 5xx; `warn` for aborted requests.
   * @default false
   */
  accessLog?: boolean;
  /**
   * Extra bindings of each request's child logger (e.g. a request id). Runs once per request; a
   * throw is contained (the child gets no extra bindings). Do not bind raw headers: inbound
   * `baggage` and `tracestate` are caller-controlled.
   * @default undefined
   */
  bindings?: (request: TReq) => Record<string, unknown> | undefined;
  /**
   * The route template for the access line. A throw or `undefined` falls back to the `http.route`
   * of the tracewire server span, then to the framework's own matched route.
   * @default undefined
   */
  route?: (request: TReq) => string | undefined;
}

/** Express/Connect `next`. */
export type NextFunction = (error?: unknown) => void;

/** What {@link koaRequestLogger} reads from and writes to a Koa context (structural: no Koa import). */
export interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
  /** Set by the middleware: the request's child logger. */
  log?: Logger;
}

const OWNER = '@tracewire/logger';

/**
 * Express/Connect middleware that gives every request a child logger as `req.log`, bound to the
 * request's span: inside handlers the active span is used as always, and where the context was
 * lost (a callback API that does not propagate it) `req.log` still writes the request's
 * `trace_id`. With `accessLog: true` it also writes one access line per request. Mount it right
 * after `otelExpress()`.
 *
 * @example
 * ```ts
 * app.use(otelExpress());
 * app.use(requestLogger({ logger: log, accessLog: true }));
 * app.get('/orders/:id', (req, res) => { req.log.info('loading order'); res.json({}); });
 * ```
 */
export function requestLogger(
  options: RequestLoggerOptions,
): (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void {
  const config = validate(options, 'requestLogger');
  return function tracewireRequestLogger(
    req: IncomingMessage,
    res: ServerResponse,
    next: NextFunction,
  ): void {
    attach(config, req, res, req, req, expressRoute);
    next();
  };
}

/**
 * Koa middleware: the same as {@link requestLogger}, with the child logger as `ctx.log`. Mount it
 * right after `otelKoa()`. The request function of `bindings` and `route` receives the Koa context.
 *
 * @example
 * ```ts
 * app.use(otelKoa());
 * app.use(koaRequestLogger({ logger: log, accessLog: true }));
 * router.get('/orders/:id', (ctx) => { ctx.log.info('loading order'); });
 * ```
 */
export function koaRequestLogger<TContext extends KoaContextLike = KoaContextLike>(
  options: RequestLoggerOptions<TContext>,
): (ctx: TContext, next: () => Promise<unknown>) => Promise<void> {
  const config = validate(options, 'koaRequestLogger');
  return async function tracewireKoaRequestLogger(
    ctx: TContext,
    next: () => Promise<unknown>,
  ): Promise<void> {
    attach(config, ctx.req, ctx.res, ctx, ctx, koaRoute);
    await next();
  };
}

interface Config<TReq> {
  logger: Logger;
  accessLog: boolean;
  bindings: ((request: TReq) => Record<string, unknown> | undefined) | undefined;
  route: ((request: TReq) => string | undefined) | undefined;
}

function validate<TReq>(options: RequestLoggerOptions<TReq>, name: string): Config<TReq> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${OWNER}: ${name} options must be an object with a logger`);
  }
  const logger = options.logger as unknown;
  if (typeof logger !== 'object' || logger === null || typeof (logger as Logger).child !== 'function') {
    throw new TypeError(`${OWNER}: ${name} options.logger must be a logger (createLogger())`);
  }
  if (options.accessLog !== undefined && typeof options.accessLog !== 'boolean') {
    throw new TypeError(`${OWNER}: ${name} options.accessLog must be a boolean`);
  }
  if (options.bindings !== undefined && typeof options.bindings !== 'function') {
    throw new TypeError(`${OWNER}: ${name} options.bindings must be a function`);
  }
  if (options.route !== undefined && typeof options.route !== 'function') {
    throw new TypeError(`${OWNER}: ${name} options.route must be a function`);
  }
  return {
    logger: options.logger,
    accessLog: options.accessLog ?? false,
    bindings: options.bindings,
    route: options.route,
  };
}

/** The part of `@tracewire/core`'s ServerRequest read here (shared through a Symbol.for key). */
interface ServerRequestLike {
  context?: unknown;
  span?: unknown;
}

function attach<TReq>(
  config: Config<TReq>,
  req: IncomingMessage,
  res: ServerResponse,
  request: TReq,
  target: object,
  frameworkRoute: (request: TReq) => string | undefined,
): void {
  let log: Logger;
  let server: ServerRequestLike | undefined;
  try {
    const found = read(req, SERVER_REQUEST);
    server = typeof found === 'object' && found !== null ? (found as ServerRequestLike) : undefined;
    // The request's context: the one otelExpress()/otelKoa() started, else whatever is active.
    const bound = isContext(server?.context) ? server.context : context.active();
    let extra: Record<string, unknown> | undefined;
    if (config.bindings !== undefined) {
      try {
        const value = config.bindings(request);
        if (typeof value === 'object' && value !== null) extra = value;
      } catch (error) {
        logDiag.warn('hook:bindings', 'the request logger bindings hook threw; no extra bindings', error);
      }
    }
    log = config.logger.child(extra ?? {});
    Object.defineProperty(log, FALLBACK_CONTEXT, { value: bound, configurable: true, writable: true });
  } catch (error) {
    logDiag.warn('request-logger', 'could not create the request logger; the root logger is used', error);
    log = config.logger;
  }
  try {
    Object.defineProperty(target, 'log', {
      value: log,
      configurable: true,
      writable: true,
      enumerable: true,
    });
  } catch (error) {
    logDiag.warn('request-logger', 'could not set the request logger on the request', error);
  }
  if (!config.accessLog) return;

  const started = performance.now();
  try {
    // 'close' fires for every response (after 'finish', or alone on abort). otelExpress() and
    // otelKoa() registered their own 'close' listener first, so the span has its route by now.
    res.once('close', () => {
      try {
        writeAccessLine(config, log, req, res, request, server, started, frameworkRoute);
      } catch (error) {
        logDiag.warn('access-log', 'could not write the access line', error);
      }
    });
  } catch (error) {
    logDiag.warn('access-log', 'could not watch the response for the access line', error);
  }
}

function writeAccessLine<TReq>(
  config: Config<TReq>,
  log: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  request: TReq,
  server: ServerRequestLike | undefined,
  started: number,
  frameworkRoute: (request: TReq) => string | undefined,
): void {
  const finished = res.writableFinished;
  const status = res.headersSent ? res.statusCode : undefined;
  const record: Record<string, unknown> = { method: req.method };
  const route = resolveRoute(config, request, server, frameworkRoute);
  if (route !== undefined) record.route = route;
  const url = read(req, 'originalUrl') ?? req.url;
  if (typeof url === 'string') {
    const q = url.indexOf('?');
    record.path = q === -1 ? url : url.slice(0, q);
  }
  if (status !== undefined) record.status = status;
  record.duration_ms = Math.round((performance.now() - started) * 1000) / 1000;
  if (!finished) {
    record.aborted = true;
    log.warn(record, 'request aborted');
  } else if (status !== undefined && status >= 500) {
    log.error(record, 'request completed');
  } else {
    log.info(record, 'request completed');
  }
}

function resolveRoute<TReq>(
  config: Config<TReq>,
  request: TReq,
  server: ServerRequestLike | undefined,
  frameworkRoute: (request: TReq) => string | undefined,
): string | undefined {
  if (config.route !== undefined) {
    try {
      const route = config.route(request);
      if (typeof route === 'string' && route.length > 0) return route;
    } catch (error) {
      logDiag.warn('hook:route', 'the request logger route hook threw; the default was used', error);
    }
  }
  // The core's ServerRequest knows the route once the request ended (its close listener runs first).
  const known = server === undefined ? undefined : read(server, 'route');
  if (typeof known === 'string' && known.length > 0) return known;
  // Older cores: the SDK's spans expose their attributes (ReadableSpan); a no-op span does not.
  const span = server?.span;
  if (typeof span === 'object' && span !== null) {
    const attributes = read(span, 'attributes');
    if (typeof attributes === 'object' && attributes !== null) {
      const route = read(attributes, 'http.route');
      if (typeof route === 'string' && route.length > 0) return route;
    }
  }
  try {
    return frameworkRoute(request);
  } catch {
    return undefined;
  }
}

/** Express's matched route, only when it is the whole template (no mount prefix to guess). */
function expressRoute(request: unknown): string | undefined {
  const req = request as { route?: { path?: unknown }; baseUrl?: unknown };
  const path = req.route?.path;
  if (typeof path !== 'string') return undefined;
  return req.baseUrl === undefined || req.baseUrl === '' ? path : undefined;
}

/** @koa/router's matched template. */
function koaRoute(request: unknown): string | undefined {
  const route = read(request as object, '_matchedRoute');
  return typeof route === 'string' && route.length > 0 ? route : undefined;
}

function isContext(value: unknown): value is Context {
  return typeof value === 'object' && value !== null && typeof (value as Context).getValue === 'function';
}
