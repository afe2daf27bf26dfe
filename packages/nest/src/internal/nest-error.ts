import { HttpException } from '@nestjs/common';
import {
  GrpcCode,
  isGrpcCode,
  isServerError,
  isTracedError,
  TracedError,
  toTracedError,
} from '@tracewire/errors';

const MAX_MESSAGE = 1024;
const MAX_ERRORS = 50;

function cap(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}

/**
 * A Nest `HttpException` is thrown on purpose by the application (or by Nest's guards and pipes)
 * and carries a status meant for the client, but it has no `expose` flag, so the errors package
 * would treat it as untrusted (500). This translates it: the status is kept when it is an error
 * status (400..599); a 4xx exposes its message (`getResponse().message`, or the exception's
 * message) and a `ValidationPipe`-style message list as `details.errors`; a 5xx exposes nothing.
 * Returns `undefined` when the exception cannot be read, so the caller falls back to a 500.
 */
function fromHttpException(exception: HttpException): TracedError | undefined {
  const status = exception.getStatus();
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)
    return undefined;
  if (status >= 500) return new TracedError('', { httpStatus: status, expose: false, cause: exception });
  let message: string | undefined;
  let errors: string[] | undefined;
  try {
    const response: unknown = exception.getResponse();
    if (typeof response === 'string') {
      message = response;
    } else if (typeof response === 'object' && response !== null) {
      const m: unknown = (response as { message?: unknown }).message;
      if (typeof m === 'string') message = m;
      else if (Array.isArray(m)) {
        errors = m
          .slice(0, MAX_ERRORS)
          .filter((x): x is string => typeof x === 'string')
          .map((x) => cap(x, MAX_MESSAGE));
      }
    }
  } catch {
    // getResponse() threw: keep the status, fall back to the exception's message below.
  }
  if (message === undefined) {
    try {
      const m: unknown = exception.message;
      if (typeof m === 'string') message = m;
    } catch {
      // a throwing message getter: no detail
    }
  }
  return new TracedError(cap(message ?? '', MAX_MESSAGE), {
    httpStatus: status,
    expose: true,
    ...(errors !== undefined && errors.length > 0 ? { details: { errors } } : {}),
    cause: exception,
  });
}

/**
 * Turns whatever reached a Nest exception filter into a TracedError. Never throws: a TracedError is
 * kept, an `HttpException` translated (see above), anything else is a 500 as Nest answers it (an
 * Error's own `status`/`statusCode`/`expose` are not Nest's contract and are ignored), with
 * `@tracewire/errors`'s message rules (`throw 42`, `throw undefined`).
 */
export function toNestTracedError(exception: unknown): TracedError {
  try {
    if (isTracedError(exception)) return exception;
    if (exception instanceof HttpException) {
      const traced = fromHttpException(exception);
      if (traced !== undefined) return traced;
    }
  } catch {
    // fall back to the generic classification
  }
  return toTracedError(exception, { httpStatus: 500 });
}

/**
 * What reached a filter in an RPC context, as a TracedError. A Nest `RpcException` carrying
 * `{ code, message }` with a canonical gRPC code keeps that code, and its message is exposed only
 * for client-class codes; any other `RpcException` is UNKNOWN (message not exposed). Everything
 * else goes through {@link toNestTracedError} (an `HttpException` 404 becomes NOT_FOUND).
 * Duck-typed on `getError()`, so this package does not need `@nestjs/microservices`.
 */
export function toNestRpcTracedError(exception: unknown): TracedError {
  try {
    const getError = (exception as { getError?: unknown } | null)?.getError;
    if (typeof getError === 'function' && !isTracedError(exception)) {
      const inner: unknown = getError.call(exception);
      if (typeof inner === 'object' && inner !== null) {
        const code: unknown = (inner as { code?: unknown }).code;
        const message: unknown = (inner as { message?: unknown }).message;
        if (isGrpcCode(code) && code !== GrpcCode.OK) {
          return new TracedError(typeof message === 'string' ? cap(message, MAX_MESSAGE) : '', {
            code,
            expose: !isServerError(code),
            cause: exception,
          });
        }
      }
      return new TracedError('', { code: GrpcCode.UNKNOWN, expose: false, cause: exception });
    }
  } catch {
    // fall through
  }
  return toNestTracedError(exception);
}
