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
import { isHandleableByKoa, keepTraceResponse, resetHeadersForError } from './internal/errors.js';
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
   * `traceId`. When false, the error is recorded on the span and rethrown to Koa's own handler
   * (or to an error middleware mounted before `otelKoa`), with `traceresponse` kept in
   * `err.headers`.
   * @default true
   */
  problemDetails?: boolean;
  /** Base URI for the problem `type` member. @default 'about:blank' */
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
 * context propagation, and answers downstream errors with problem+json. Mount it first: everything
 * after it (`await next()`, routers, their timers, promises and request emitters) runs with the span
 * active. The span's route is `@koa/router`'s matched template; the status is the one actually sent.
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
    problemDetails: options?.problemDetails ?? true,
    typeBaseUri: options?.typeBaseUri,
    instrumentation,
  };
  return async function otelKoaMiddleware(ctx: ParameterizedContext, next: Next): Promise<void> {
    const req = ctx.req;
    const request = instrumentation.start(req, ctx.res);
    if (request === undefined) {
      // Ignored, or already instrumented (otelKoa mounted twice): the outer one does the work.
      await next();
      return;
    }
    (req as unknown as Record<symbol, object>)[KOA_CONTEXT] = ctx;
    exposeOnState(ctx.state, request);
    if (request.log !== undefined) (ctx as { log?: unknown }).log = request.log;
    try {
      await context.with(request.context, next);
    } catch (error) {
      handleError(ctx, request, error, settings);
    }
  };
}

/**
 * Records a downstream error once and answers it, or hands it to Koa. Throws when Koa must take
 * over (problemDetails off, headers already sent, client gone).
 */
function handleError(
  ctx: ParameterizedContext,
  request: ServerRequest,
  error: unknown,
  settings: ErrorSettings,
): void {
  // Created inside the request's context, so the TracedError carries this trace id.
  const traced = context.with(request.context, toTracedError, undefined, error);
  request.recordException(error, errorTypeOf(traced));
  // What Koa and the app's 'error' listeners get: the thrown Error itself; for `throw 'x'`,
  // `throw null` and plain objects, the TracedError (its `cause` is the thrown value). Koa would
  // wrap those itself, but silently drops `null`/`undefined` (the request is never answered) and
  // crashes on a frozen Error (its handler assigns `err.status`): those get the TracedError too.
  const reported: Error = isHandleableByKoa(error) ? error : traced;
  const res = ctx.res;

  if (res.headersSent) {
    // No second body. Koa's handler only reports this case and leaves the response open; end it
    // so that the client sees a truncated response and the request is over (span, gauge).
    if (!res.writableEnded) res.destroy();
    throw reported;
  }
  if (!settings.problemDetails) {
    keepTraceResponse(reported, res);
    throw reported;
  }
  // The client went away: nothing to answer. Koa's handler reports the error to the app.
  if (!ctx.writable) throw reported;

  let status = 500;
  let body = FALLBACK_BODY;
  try {
    const problem = toProblemDetails(traced, {
      instance: splitTarget(ctx.originalUrl ?? ctx.req.url ?? '/').path,
      typeBaseUri: settings.typeBaseUri,
    });
    body = serializeProblemDetails(problem);
    status = problem.status;
  } catch (e) {
    // The error model never throws; this is the last line of defence for the response.
    settings.instrumentation.diag.error('problem', 'could not build the problem document', e);
  }
  try {
    resetHeadersForError(res, error);
    ctx.status = status;
    res.setHeader('content-type', PROBLEM_JSON_CONTENT_TYPE);
    ctx.body = body;
    // Koa's own error handler answers even when `ctx.respond` is false; so do we.
    if (ctx.respond === false) ctx.respond = true;
  } catch (e) {
    settings.instrumentation.diag.error('respond', 'could not answer the error; Koa answers it', e);
    throw reported;
  }
  emitError(ctx, reported, settings);
}

/**
 * An error answered here would otherwise never reach `app.on('error')`, where Koa applications
 * log and report errors (Koa's docs ask custom error handlers to emit it). Emitted only when the
 * app has a listener (an 'error' event without one throws), and a throwing listener is contained.
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
