import type { IncomingMessage, ServerResponse } from 'node:http';
import { context } from '@opentelemetry/api';
import type { HttpInstrumentationOptions, ServerRequest } from '@tracewire/core';
import { describeType, HttpServerInstrumentation, splitTarget } from '@tracewire/core';
import {
  errorTypeOf,
  PROBLEM_JSON_CONTENT_TYPE,
  serializeProblemDetails,
  toProblemDetails,
  toTracedError,
} from '@tracewire/errors';
import type { Middleware, Next, ParameterizedContext } from 'koa';
import { isKoa2Context, koaErrorStatus, koaReportedError, resetHeadersForError } from './internal/errors.js';
import { exposeOnState } from './internal/state.js';
import { koaRoute } from './route.js';
import { SCOPE_NAME, VERSION } from './version.js';

/**
 * Options of {@link otelKoa}: the shared tracewire HTTP options (see `@tracewire/core`; hooks and
 * predicates receive Node's `IncomingMessage` / `ServerResponse`, i.e. `ctx.req` / `ctx.res`)
 * plus how errors are answered.
 */
export interface OtelKoaOptions extends HttpInstrumentationOptions<IncomingMessage, ServerResponse> {
  /**
   * Answer errors thrown downstream with `application/problem+json` (RFC 9457) carrying the
   * `traceId`, with the status Koa itself would answer. When false (the default), the error is
   * recorded on the span and rethrown unchanged: Koa (or an error middleware mounted before
   * `otelKoa`) answers it exactly as without tracewire.
   * @default false
   */
  problemDetails?: boolean;
  /** Base URI for the problem `type` member (with `problemDetails: true`). @default 'about:blank' */
  typeBaseUri?: string;
}

/** Last resort when even the problem document could not be built. */
const FALLBACK_BODY = '{"type":"about:blank","title":"Internal Server Error","status":500}';

// The Koa context of each instrumented request, so that the route can be read when the response
// closes (after a client abort the middleware chain may still be running). A property under a
// Symbol.for key rather than a WeakMap: a WeakMap entry per request is an ephemeron the GC must
// trace, which cost about 9 µs of CPU per request in the benchmark's profile.
const KOA_CONTEXT = Symbol.for('tracewire.koa.context');

function resolveRoute(req: IncomingMessage): string | undefined {
  const ctx = (req as unknown as Record<symbol, object | undefined>)[KOA_CONTEXT];
  return ctx === undefined ? undefined : koaRoute(ctx);
}

interface ErrorSettings {
  readonly problemDetails: boolean;
  readonly typeBaseUri: string | undefined;
  readonly instrumentation: HttpServerInstrumentation<IncomingMessage, ServerResponse>;
}

/**
 * Koa middleware that gives every request one SERVER span, the stable HTTP metrics and W3C
 * context propagation. Mount it first: everything after it (`await next()`, routers, their
 * timers, promises and request emitters) runs with the span active. The span's route is
 * `@koa/router`'s matched template; the status is the one actually sent. Errors thrown downstream
 * are recorded on the span and rethrown unchanged, so Koa answers and reports them as it would
 * without tracewire; `problemDetails: true` answers them with problem+json instead.
 *
 * @example
 * import Koa from 'koa';
 * import Router from '@koa/router';
 * import { otelKoa } from '@tracewire/koa';
 * const app = new Koa();
 * const router = new Router();
 * router.get('/users/:id', (ctx) => {
 *   ctx.body = { id: ctx.params.id };
 * });
 * app.use(otelKoa());
 * app.use(router.routes());
 * app.listen(3000);
 */
export function otelKoa(options?: OtelKoaOptions): Middleware {
  validateKoaOptions(options);
  const instrumentation = new HttpServerInstrumentation<IncomingMessage, ServerResponse>(options, {
    name: SCOPE_NAME,
    version: VERSION,
    resolveRoute,
  });
  const settings: ErrorSettings = {
    problemDetails: options?.problemDetails ?? false,
    typeBaseUri: options?.typeBaseUri,
    instrumentation,
  };
  return function otelKoaMiddleware(ctx: ParameterizedContext, next: Next): Promise<void> {
    const req = ctx.req;
    const request = instrumentation.start(req, ctx.res);
    // Ignored, or already instrumented (otelKoa mounted twice): the outer one does the work.
    if (request === undefined) return next();
    (req as unknown as Record<symbol, object>)[KOA_CONTEXT] = ctx;
    exposeOnState(ctx.state, request);
    if (request.log !== undefined) (ctx as { log?: unknown }).log = request.log;
    // A promise chain, not an async function with try/await: no generator object and no resumption
    // per request, only the rejection handler's closure.
    let downstream: Promise<void>;
    try {
      downstream = context.with(request.context, next);
    } catch (error) {
      // Koa's `next` never throws (koa-compose turns throws into rejections); another caller's might.
      downstream = Promise.reject(error);
    }
    return downstream.then(undefined, (error: unknown) => onDownstreamError(ctx, request, error, settings));
  };
}

/**
 * A value thrown downstream: recorded on the span, then rethrown unchanged for Koa (or an error
 * middleware mounted before otelKoa), unless `problemDetails` answered it.
 */
function onDownstreamError(
  ctx: ParameterizedContext,
  request: ServerRequest,
  error: unknown,
  settings: ErrorSettings,
): void {
  recordError(request, error);
  if (!settings.problemDetails || !answerProblem(ctx, request, error, settings)) throw error;
}

/** Records a downstream error once on the span, classified by `@tracewire/errors`. Never throws. */
function recordError(request: ServerRequest, error: unknown): void {
  // Created inside the request's context, so that the classification sees this trace.
  const traced = context.with(request.context, toTracedError, undefined, error);
  request.recordException(error, errorTypeOf(traced));
}

/**
 * With `problemDetails: true`: answers the error with problem+json, with the status and headers
 * Koa's own `ctx.onerror` would send, and reports it on `app.on('error')` as Koa would. Returns
 * false when Koa must handle it instead (the caller rethrows it unchanged): headers already sent,
 * client gone, or a status Koa answers that is not an error status (an Error with `status = 302`).
 */
function answerProblem(
  ctx: ParameterizedContext,
  request: ServerRequest,
  error: unknown,
  settings: ErrorSettings,
): boolean {
  const res = ctx.res;
  // No second body: Koa reports it (err.headerSent) and leaves the response to the app.
  if (res.headersSent || !ctx.writable) return false;
  const status = koaErrorStatus(error, isKoa2Context(ctx));
  if (status < 400) return false;

  let body = FALLBACK_BODY;
  let answered = 500;
  try {
    const problem = context.with(request.context, toProblemDetails, undefined, error, {
      instance: splitTarget(ctx.originalUrl ?? ctx.req.url ?? '/').path,
      typeBaseUri: settings.typeBaseUri,
      httpStatus: status,
    });
    body = serializeProblemDetails(problem);
    answered = problem.status;
  } catch (e) {
    // The error model never throws; this is the last line of defence for the response.
    settings.instrumentation.diag.error('problem', 'could not build the problem document', e);
  }
  try {
    resetHeadersForError(res, error);
    ctx.status = answered;
    res.setHeader('content-type', PROBLEM_JSON_CONTENT_TYPE);
    ctx.body = body;
    // Koa's own error handler answers even when `ctx.respond` is false; so do we.
    if (ctx.respond === false) ctx.respond = true;
  } catch (e) {
    settings.instrumentation.diag.error('respond', 'could not answer the error; Koa answers it', e);
    return false;
  }
  emitError(ctx, koaReportedError(error), settings);
  return true;
}

/**
 * An error answered here never reaches Koa's `ctx.onerror`, which is what emits `'error'` on the
 * app, where Koa applications log and report errors (Koa's docs ask custom error handlers to
 * emit it). Emitted with what Koa would emit (non-Errors wrapped like Koa does), only when the
 * app has a listener (an 'error' event without one throws); a throwing listener is contained.
 */
function emitError(ctx: ParameterizedContext, error: Error, settings: ErrorSettings): void {
  try {
    const app = ctx.app;
    if (app.listenerCount('error') > 0) app.emit('error', error, ctx);
  } catch (e) {
    settings.instrumentation.diag.warn('app-error-listener', "an app 'error' listener threw", e);
  }
}

function validateKoaOptions(options: OtelKoaOptions | undefined): void {
  if (options === undefined || options === null || typeof options !== 'object') return; // core reports it
  if (options.problemDetails !== undefined && typeof options.problemDetails !== 'boolean') {
    throw new TypeError(
      `${SCOPE_NAME}: options.problemDetails must be a boolean, got ${describeType(options.problemDetails)}`,
    );
  }
  if (options.typeBaseUri !== undefined && typeof options.typeBaseUri !== 'string') {
    throw new TypeError(
      `${SCOPE_NAME}: options.typeBaseUri must be a string, got ${describeType(options.typeBaseUri)}`,
    );
  }
}
