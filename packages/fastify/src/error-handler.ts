import type { IncomingMessage, ServerResponse } from 'node:http';
import { context } from '@opentelemetry/api';
import { describeType, getServerRequest, splitTarget } from '@tracewire/core';
import {
  errorTypeOf,
  PROBLEM_JSON_CONTENT_TYPE,
  serializeProblemDetails,
  toProblemDetails,
  toTracedError,
} from '@tracewire/errors';
import { SCOPE_NAME } from './version.js';

/** Options of {@link otelFastifyErrorHandler}. */
export interface OtelFastifyErrorHandlerOptions {
  /** Base URI for the problem `type` member. @default 'about:blank' */
  typeBaseUri?: string;
}

/** What the error handler reads from a Fastify request (4.x or 5.x). */
export interface FastifyErrorRequestLike {
  readonly raw: IncomingMessage;
  readonly url: string;
}

/** What the error handler uses of a Fastify reply (4.x or 5.x). */
export interface FastifyErrorReplyLike {
  readonly raw: ServerResponse;
  readonly statusCode: number;
  code(statusCode: number): unknown;
  header(name: string, value: string): unknown;
  send(payload: string): unknown;
}

/** A function for `app.setErrorHandler(...)`. */
export type OtelFastifyErrorHandler = (
  error: unknown,
  request: FastifyErrorRequestLike,
  reply: FastifyErrorReplyLike,
) => void;

/** Last resort when even the problem document could not be built. */
const FALLBACK_BODY = '{"type":"about:blank","title":"Internal Server Error","status":500}';

/**
 * The status Fastify's own error handler would choose, for Errors only: a status set on the reply
 * before the error (`reply.code(409).send(err)`), else the error's `statusCode` / `status` when
 * 400..599. Other thrown values (strings, plain objects with a `status`) are not trusted.
 */
function fastifyStatus(error: unknown, replyStatus: number): number | undefined {
  if (replyStatus >= 400 && replyStatus <= 599) return replyStatus;
  if (!(error instanceof Error)) return undefined;
  const { statusCode, status } = error as { statusCode?: unknown; status?: unknown };
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode <= 599) return statusCode;
  if (typeof status === 'number' && status >= 400 && status <= 599) return status;
  return undefined;
}

/**
 * An error handler for `app.setErrorHandler(...)` that records the exception once on the server
 * span and answers `application/problem+json` (RFC 9457) carrying the `traceId`. The status is
 * Fastify's (the reply's error status, else an Error's `statusCode`/`status`); 5xx bodies never
 * carry the internal message; an exposed 4xx (`expose: true`, e.g. `http-errors`) carries `detail`.
 * When the headers were already sent, the response is cut off (no second body). Optional: without
 * it, Fastify's own error handler answers and `otelFastify` only records the error.
 *
 * @example
 * app.setErrorHandler(otelFastifyErrorHandler());
 */
export function otelFastifyErrorHandler(options?: OtelFastifyErrorHandlerOptions): OtelFastifyErrorHandler {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError(`${SCOPE_NAME}: otelFastifyErrorHandler options must be an object`);
  }
  if (options?.typeBaseUri !== undefined && typeof options.typeBaseUri !== 'string') {
    throw new TypeError(
      `${SCOPE_NAME}: options.typeBaseUri must be a string, got ${describeType(options.typeBaseUri)}`,
    );
  }
  const typeBaseUri = options?.typeBaseUri;
  return function otelFastifyErrorResponder(error, request, reply): void {
    let status = 500;
    let body = FALLBACK_BODY;
    try {
      const server = getServerRequest(request.raw);
      const httpStatus = fastifyStatus(error, reply.statusCode);
      const run = () => toTracedError(error, { httpStatus });
      // Created inside the request's context, so that the TracedError carries this trace id.
      const traced = server === undefined ? run() : context.with(server.context, run);
      server?.recordException(error, errorTypeOf(traced, 'http'));
      if (reply.raw.headersSent) {
        // No second body: cut the response off so that the client sees it incomplete.
        reply.raw.destroy();
        return;
      }
      const problem = toProblemDetails(traced, { instance: splitTarget(request.url).path, typeBaseUri });
      status = problem.status;
      body = serializeProblemDetails(problem);
    } catch {
      // The error model never throws; this is the last line of defence for the response.
    }
    reply.code(status);
    reply.header('content-type', PROBLEM_JSON_CONTENT_TYPE);
    reply.send(body);
  };
}
