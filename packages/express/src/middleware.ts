import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import { context } from '@opentelemetry/api';
import type { HttpInstrumentationOptions } from '@tracewire/core';
import { getServerRequest, HttpServerInstrumentation, splitTarget } from '@tracewire/core';
import {
  errorTypeOf,
  httpStatusOfError,
  isTracedError,
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
 * `application/problem+json` with the `traceId`. The status is the one Express's own final handler
 * would send (`finalhandler`): `err.status`, else `err.statusCode` (an integer 400..599, any error,
 * `expose` or not, see `httpStatusOfError`), else `res.statusCode` when the app already set a
 * 4xx/5xx, else 500; a `TracedError` keeps its own `httpStatus`. Only the body is tracewire's: a
 * 5xx never carries the message, a 4xx only when the error says `expose: true`. Like the final
 * handler it sets the error's own `headers` when the status came from the error, drops
 * `Content-Encoding`/`Content-Language`/`Content-Range`, adds `Content-Security-Policy:
 * default-src 'none'` and `X-Content-Type-Options: nosniff`, and reads the rest of the request
 * body before answering. When headers were already sent it delegates to Express, which closes the
 * connection. Mount it last.
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
    let headers: Record<string, unknown> | undefined;
    try {
      const server = getServerRequest(req);
      let errorStatus: number | undefined;
      let httpStatus: number | undefined;
      if (!isTracedError(err)) {
        // Express's final handler: the error's status, else a 4xx/5xx the app set, else 500.
        errorStatus = httpStatusOfError(err);
        httpStatus = errorStatus ?? responseErrorStatus(res) ?? 500;
      }
      const run = (): ReturnType<typeof toTracedError> => toTracedError(err, { httpStatus });
      // Create the TracedError inside the request's context so it captures this trace.
      const traced = server === undefined ? run() : context.with(server.context, run);
      server?.recordException(err, errorTypeOf(traced));
      if (!problemDetails || res.headersSent) {
        next(err);
        return;
      }
      if (errorStatus !== undefined) headers = errorHeaders(err);
      const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
      const problem = toProblemDetails(traced, { instance: splitTarget(url).path, typeBaseUri });
      status = problem.status;
      body = serializeProblemDetails(problem);
    } catch {
      // The error model never throws; this is the last line of defence for the response.
      status = 500;
      body = '{"type":"about:blank","title":"Internal Server Error","status":500}';
    }
    const write = (): void => {
      try {
        writeProblem(req, res, status, headers, body);
      } catch (error) {
        next(error);
      }
    };
    if (requestFinished(req)) {
      write();
      return;
    }
    // As Express's final handler does: stop any pipe, read the rest of the body, then answer.
    let written = false;
    const once = (): void => {
      if (written) return;
      written = true;
      req.off('end', once);
      req.off('close', once);
      req.off('error', once);
      write();
    };
    try {
      req.unpipe();
      req.on('end', once);
      req.on('close', once);
      req.on('error', once);
      req.resume();
    } catch {
      once();
    }
  };
}

/** The response status when the app already set an error status on it (finalhandler's fallback). */
function responseErrorStatus(res: ServerResponse): number | undefined {
  const status = res.statusCode;
  return Number.isInteger(status) && status >= 400 && status <= 599 ? status : undefined;
}

/** A copy of the error's own `headers` object, as Express's final handler sends them. */
function errorHeaders(err: unknown): Record<string, unknown> | undefined {
  try {
    const headers = (err as { headers?: unknown }).headers;
    if (typeof headers !== 'object' || headers === null) return undefined;
    return { ...headers };
  } catch {
    return undefined;
  }
}

/** Whether the request body is fully read (the same test as `on-finished`, used by finalhandler). */
function requestFinished(req: IncomingMessage): boolean {
  const socket = req.socket as { readable?: boolean } | null | undefined;
  return (
    (req as { upgrade?: boolean }).upgrade === true ||
    socket === null ||
    socket === undefined ||
    socket.readable !== true ||
    (req.complete && !req.readable)
  );
}

function writeProblem(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Record<string, unknown> | undefined,
  body: string,
): void {
  if (res.headersSent) return;
  res.statusCode = status;
  if (req.httpVersionMajor < 2) res.statusMessage = STATUS_CODES[status] ?? 'unknown';
  res.removeHeader('content-encoding');
  res.removeHeader('content-language');
  res.removeHeader('content-range');
  if (headers !== undefined) {
    for (const name of Object.keys(headers)) {
      try {
        res.setHeader(name, headers[name] as string | number | readonly string[]);
      } catch {
        // An invalid header name or value from the error: skipped (finalhandler would throw).
      }
    }
  }
  res.setHeader('content-security-policy', "default-src 'none'");
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('content-type', PROBLEM_JSON_CONTENT_TYPE);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}
