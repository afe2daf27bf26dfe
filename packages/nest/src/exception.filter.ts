import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import { Catch, HttpException, Inject, Optional } from '@nestjs/common';
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

/** A Fastify reply (`@nestjs/platform-fastify`), as far as the filter uses it. */
interface ReplyLike {
  readonly raw: ServerResponse;
  readonly sent?: boolean;
  code(status: number): ReplyLike;
  header(name: string, value: string): ReplyLike;
  send(payload: Buffer): unknown;
}

type RequestLike = IncomingMessage & { originalUrl?: string; raw?: IncomingMessage };

function isReply(res: unknown): res is ReplyLike {
  const r = res as Partial<Record<keyof ReplyLike, unknown>> | null | undefined;
  return (
    typeof r?.raw === 'object' &&
    r.raw !== null &&
    typeof r.code === 'function' &&
    typeof r.header === 'function' &&
    typeof r.send === 'function'
  );
}

function isNodeResponse(res: unknown): res is ServerResponse {
  const r = res as Partial<Record<keyof ServerResponse, unknown>> | null | undefined;
  return typeof r?.setHeader === 'function' && typeof r.end === 'function';
}

/**
 * Global exception filter (registered by `OtelModule` with `problemDetails: true`): answers HTTP
 * errors with `application/problem+json` (RFC 9457) carrying the `traceId`, on platform-express
 * and platform-fastify (through the Fastify reply). The status is the one Nest would send:
 *
 * - `HttpException`: its `getStatus()`; 4xx: `detail` = its message, `details.errors` = a
 *   `ValidationPipe` message list; 5xx: status only. A non-error status (`new HttpException(x,
 *   302)`) is answered as Nest does (its response as JSON).
 * - `TracedError`: as `@tracewire/errors` says (`toProblemDetails`).
 * - Anything else (`Error`, even with a `status` property, `throw 42`, `throw undefined`): 500 with
 *   a generic body.
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
 * // without the module's registration (the default), on one controller:
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
    let req: RequestLike;
    let res: ServerResponse | ReplyLike;
    let raw: ServerResponse;
    try {
      const type = host.getType();
      if (type === 'rpc') return rpcError(exception, host);
      // Websocket gateways and other context types are left alone.
      if (type !== 'http') return undefined;
      const http = host.switchToHttp();
      req = http.getRequest();
      const response: unknown = http.getResponse();
      if (isReply(response)) {
        res = response;
        raw = response.raw;
      } else if (isNodeResponse(response)) {
        res = response;
        raw = response;
      } else {
        return undefined;
      }
    } catch {
      return undefined;
    }
    let status = 500;
    let body = FALLBACK_BODY;
    let contentType: string = PROBLEM_JSON_CONTENT_TYPE;
    try {
      const server = getServerRequest(req?.raw ?? req);
      const inRequest = <T>(fn: () => T): T =>
        server === undefined ? fn() : context.with(server.context, fn);
      if (raw.headersSent || (res as ReplyLike).sent === true) {
        // Too late for a problem document: record the failure and close the connection so the
        // client sees an incomplete response (and the span an error), as Express does.
        server?.recordException(exception, '500');
        raw.destroy();
        return undefined;
      }
      const plain = nonErrorHttpException(exception);
      if (plain !== undefined) {
        // An HttpException with a status that is not an error: Nest's own answer.
        status = plain.status;
        body = plain.body;
        contentType = 'application/json; charset=utf-8';
      } else {
        // Created inside the request's context, so the error captures this trace id.
        const traced: TracedError = inRequest(() => toNestTracedError(exception));
        if (traced.httpStatus >= 500) server?.recordException(exception, errorTypeOf(traced, 'http'));
        const url = req.originalUrl ?? req.url ?? '/';
        const problem = inRequest(() =>
          toProblemDetails(traced, { instance: splitTarget(url).path, typeBaseUri: this.#typeBaseUri }),
        );
        status = problem.status;
        body = serializeProblemDetails(problem);
      }
    } catch {
      status = 500;
      body = FALLBACK_BODY;
      contentType = PROBLEM_JSON_CONTENT_TYPE;
    }
    if (isReply(res)) sendReply(res, status, contentType, body);
    else send(res, status, contentType, body);
    return undefined;
  }
}

/**
 * The status and JSON body Nest's own filter sends for an `HttpException` whose status is not an
 * error status (a 3xx, say), or undefined for any other exception.
 */
function nonErrorHttpException(exception: unknown): { status: number; body: string } | undefined {
  if (!(exception instanceof HttpException)) return undefined;
  let status: unknown;
  try {
    status = exception.getStatus();
  } catch {
    return undefined;
  }
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status >= 400)
    return undefined;
  const response: unknown = exception.getResponse();
  const payload =
    typeof response === 'object' && response !== null ? response : { statusCode: status, message: response };
  return { status, body: JSON.stringify(payload) };
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

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  try {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.statusCode = status;
    res.setHeader('content-type', contentType);
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

/** Answers through Fastify's reply API, so its hooks (onSend, onResponse) run as for any reply. */
function sendReply(reply: ReplyLike, status: number, contentType: string, body: string): void {
  try {
    if (reply.sent === true || reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    // A Buffer: Fastify sends it as is (a string would get a `charset` added to the type).
    reply.code(status).header('content-type', contentType).send(Buffer.from(body));
  } catch {
    try {
      reply.raw.destroy();
    } catch {
      // nothing more can be done for this response
    }
  }
}
