import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import { Catch, Inject, Optional } from '@nestjs/common';
import { context } from '@opentelemetry/api';
import { getServerRequest, splitTarget } from '@tracewire/core';
import {
  errorTypeOf,
  PROBLEM_JSON_CONTENT_TYPE,
  serializeProblemDetails,
  type TracedError,
  toGrpcStatus,
  toProblemDetails,
} from '@tracewire/errors';
import { type Observable, throwError } from 'rxjs';
import { toNestRpcTracedError, toNestTracedError } from './internal/nest-error.js';
import type { OtelModuleOptions } from './options.js';
import { OTEL_MODULE_OPTIONS } from './tokens.js';

const FALLBACK_BODY = '{"type":"about:blank","title":"Internal Server Error","status":500}';

/**
 * Global exception filter (registered by `OtelModule` unless `problemDetails: false`): answers
 * HTTP errors with `application/problem+json` (RFC 9457) carrying the `traceId`.
 *
 * - `HttpException` 4xx: its status, `detail` = its message, `details.errors` = a
 *   `ValidationPipe` message list; 5xx: status only.
 * - `TracedError`: as `@tracewire/errors` says (`toProblemDetails`).
 * - Anything else (`Error`, `throw 42`, `throw undefined`): 500 with a generic body.
 *
 * In a gRPC microservice it returns the error Nest sends, with the status `@tracewire/errors`
 * chooses (see `toGrpcStatus`): an `RpcException` `{ code, message }` keeps its code (message sent
 * only for client-class codes), an `HttpException` is mapped by status, anything else is INTERNAL.
 *
 * 5xx bodies carry only `type`, `title`, `status`, `instance` and `traceId`. 5xx exceptions are
 * recorded on the server span; 4xx are client errors and are not. The filter never throws: if
 * anything goes wrong it answers a minimal 500. Filters bound to a controller or method, and
 * global filters registered with `app.useGlobalFilters()`, take precedence over this one.
 *
 * @example
 * // without the module's registration (problemDetails: false), on one controller:
 * @UseFilters(OtelExceptionFilter)
 * @Controller('orders')
 * class OrdersController {}
 */
@Catch()
export class OtelExceptionFilter implements ExceptionFilter {
  readonly #typeBaseUri: string | undefined;

  constructor(@Optional() @Inject(OTEL_MODULE_OPTIONS) options?: OtelModuleOptions) {
    this.#typeBaseUri = options?.typeBaseUri;
  }

  catch(exception: unknown, host: ArgumentsHost): Observable<never> | undefined {
    let req: IncomingMessage & { originalUrl?: string };
    let res: ServerResponse;
    try {
      const type = host.getType();
      if (type === 'rpc') return rpcError(exception, host);
      // Websocket gateways and other context types are left alone.
      if (type !== 'http') return undefined;
      const http = host.switchToHttp();
      req = http.getRequest();
      res = http.getResponse();
      if (typeof res?.setHeader !== 'function' || typeof res.end !== 'function') return undefined;
    } catch {
      return undefined;
    }
    let status = 500;
    let body = FALLBACK_BODY;
    try {
      const server = getServerRequest(req);
      const inRequest = <T>(fn: () => T): T =>
        server === undefined ? fn() : context.with(server.context, fn);
      // Created inside the request's context, so the error captures this trace id.
      const traced: TracedError = inRequest(() => toNestTracedError(exception));
      if (res.headersSent) {
        // Too late for a problem document: record the failure and close the connection so the
        // client sees an incomplete response (and the span an error), as Express does.
        server?.recordException(exception, '500');
        res.destroy();
        return undefined;
      }
      if (traced.httpStatus >= 500) server?.recordException(exception, errorTypeOf(traced, 'http'));
      const url = req.originalUrl ?? req.url ?? '/';
      const problem = inRequest(() =>
        toProblemDetails(traced, { instance: splitTarget(url).path, typeBaseUri: this.#typeBaseUri }),
      );
      status = problem.status;
      body = serializeProblemDetails(problem);
    } catch {
      status = 500;
      body = FALLBACK_BODY;
    }
    send(res, status, body);
    return undefined;
  }
}

/**
 * An RPC context: the error the transport sends. For gRPC (the handler's second argument is grpc-js
 * `Metadata`), the status chosen by `@tracewire/errors` (`toGrpcStatus`): an `RpcException`'s
 * `{ code, message }`, an `HttpException`'s status mapped to its code, INTERNAL with no message for
 * anything else; `@tracewire/grpc`'s server interceptor adds the trace id to the trailers. Other
 * transports get what Nest's own RPC filter returns.
 */
function rpcError(exception: unknown, host: ArgumentsHost): Observable<never> {
  let error: unknown;
  try {
    const metadata: unknown = host.getArgByIndex(1);
    if (typeof (metadata as { getMap?: unknown } | null)?.getMap === 'function') {
      const status = toGrpcStatus(toNestRpcTracedError(exception));
      error = { code: status.code, details: status.details, message: status.details };
    } else {
      const getError = (exception as { getError?: unknown } | null)?.getError;
      error =
        typeof getError === 'function'
          ? getError.call(exception)
          : { status: 'error', message: 'Internal server error' };
    }
  } catch {
    error = { status: 'error', message: 'Internal server error' };
  }
  return throwError(() => error);
}

function send(res: ServerResponse, status: number, body: string): void {
  try {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.statusCode = status;
    res.setHeader('content-type', PROBLEM_JSON_CONTENT_TYPE);
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
  } catch {
    try {
      res.destroy();
    } catch {
      // nothing more can be done for this response
    }
  }
}
