import type { IncomingMessage, ServerResponse } from 'node:http';
import { context } from '@opentelemetry/api';
import type { HttpInstrumentationOptions } from '@tracewire/core';
import { getServerRequest, HttpServerInstrumentation, splitTarget } from '@tracewire/core';
import {
  errorTypeOf,
  PROBLEM_JSON_CONTENT_TYPE,
  serializeProblemDetails,
  toProblemDetails,
  toTracedError,
} from '@tracewire/errors';
import { expressRoute } from './route.js';
import { SCOPE_NAME, VERSION } from './version.js';

/** Options of {@link otelExpress}: the shared tracewire HTTP options (see `@tracewire/core`). */
export type OtelExpressOptions = HttpInstrumentationOptions<IncomingMessage, ServerResponse>;

type Next = (error?: unknown) => void;

/**
 * Express middleware that gives every request one SERVER span, the stable HTTP metrics and W3C
 * context propagation. Mount it first; everything after it (handlers, later middleware, their
 * timers, promises and request emitters) runs with the span active.
 *
 * @example
 * import express from 'express';
 * import { otelExpress, otelExpressErrorHandler } from '@tracewire/express';
 * const app = express();
 * app.use(otelExpress());
 * app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
 * app.use(otelExpressErrorHandler());
 * app.listen(3000);
 */
export function otelExpress(
  options?: OtelExpressOptions,
): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  const instrumentation = new HttpServerInstrumentation<IncomingMessage, ServerResponse>(options, {
    name: SCOPE_NAME,
    version: VERSION,
    resolveRoute: expressRoute,
  });
  return function otelExpressMiddleware(req: IncomingMessage, res: ServerResponse, next: Next): void {
    const request = instrumentation.start(req, res);
    if (request === undefined) {
      next();
      return;
    }
    if (request.log !== undefined) (req as { log?: unknown }).log = request.log;
    context.with(request.context, next);
  };
}

/** Options of {@link otelExpressErrorHandler}. */
export interface OtelExpressErrorHandlerOptions {
  /**
   * Answer errors with `application/problem+json` (RFC 9457) carrying the `traceId`. When false,
   * the error is recorded on the span and passed on with `next(err)` to the app's own handler.
   * @default true
   */
  problemDetails?: boolean;
  /** Base URI for the problem `type` member. @default 'about:blank' */
  typeBaseUri?: string;
}

/**
 * Express error middleware: records the exception once on the server span and answers
 * `application/problem+json` with the `traceId`, the status taken from the tracewire error model
 * (5xx bodies never carry the internal message). When headers were already sent it delegates to
 * Express, which closes the connection. Mount it last.
 *
 * @example
 * app.use(otelExpressErrorHandler());
 */
export function otelExpressErrorHandler(
  options?: OtelExpressErrorHandlerOptions,
): (err: unknown, req: IncomingMessage, res: ServerResponse, next: Next) => void {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError('@tracewire/express: otelExpressErrorHandler options must be an object');
  }
  if (options?.problemDetails !== undefined && typeof options.problemDetails !== 'boolean') {
    throw new TypeError('@tracewire/express: options.problemDetails must be a boolean');
  }
  if (options?.typeBaseUri !== undefined && typeof options.typeBaseUri !== 'string') {
    throw new TypeError('@tracewire/express: options.typeBaseUri must be a string');
  }
  const problemDetails = options?.problemDetails ?? true;
  const typeBaseUri = options?.typeBaseUri;
  // Four parameters: that is how Express recognises error middleware.
  return function otelExpressErrorMiddleware(
    err: unknown,
    req: IncomingMessage,
    res: ServerResponse,
    next: Next,
  ): void {
    let body: string;
    let status: number;
    try {
      const server = getServerRequest(req);
      const run = (): ReturnType<typeof toTracedError> => toTracedError(err);
      // Create the TracedError inside the request's context so it captures this trace.
      const traced = server === undefined ? run() : context.with(server.context, run);
      server?.recordException(err, errorTypeOf(traced));
      if (!problemDetails || res.headersSent) {
        next(err);
        return;
      }
      const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
      const problem = toProblemDetails(traced, { instance: splitTarget(url).path, typeBaseUri });
      status = problem.status;
      body = serializeProblemDetails(problem);
    } catch {
      // The error model never throws; this is the last line of defence for the response.
      status = 500;
      body = '{"type":"about:blank","title":"Internal Server Error","status":500}';
    }
    try {
      res.statusCode = status;
      res.setHeader('content-type', PROBLEM_JSON_CONTENT_TYPE);
      res.setHeader('content-length', Buffer.byteLength(body));
      res.end(body);
    } catch (error) {
      next(error);
    }
  };
}
