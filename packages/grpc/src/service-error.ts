import type { ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { toGrpcStatus } from '@tracewire/errors';

/**
 * Turns anything a handler caught into the error to pass to a grpc-js callback (or to
 * `call.destroy(err)` / `call.emit('error', err)` on streams), with the status the tracewire error
 * model chooses (`toGrpcStatus` of `@tracewire/errors`): a `TracedError` keeps its code and its
 * `expose` decision, an `http-errors` error its status, and anything else becomes INTERNAL with no
 * message. The trailers carry the trace id under `trace-id`. Never throws.
 *
 * The server interceptor already hides the details of server errors and adds the trace id to
 * whatever a handler sends; use this when the code and `expose` should follow the error model too
 * (grpc-js itself only copies an integer `code` and the message).
 *
 * @example
 * getOrder(call, callback) {
 *   loadOrder(call.request.id).then(
 *     (order) => callback(null, order),
 *     (err) => callback(toGrpcServiceError(err)),
 *   );
 * }
 */
export function toGrpcServiceError(err: unknown): ServiceError {
  const status = toGrpcStatus(err);
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(status.metadata)) {
    try {
      metadata.set(key, value);
    } catch {
      // toGrpcStatus only produces legal keys and values; skip anything else.
    }
  }
  const error = new Error(status.details) as ServiceError;
  error.code = status.code;
  error.details = status.details;
  error.metadata = metadata;
  return error;
}
