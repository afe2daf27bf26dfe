import { grpcCodeName } from './grpc-code.js';
import { isErrorHttpStatus } from './internal/checks.js';
import { toJsonSafeRecord } from './internal/json-safe.js';
import { reasonPhrase } from './internal/reason-phrase.js';
import { safeGet, truncate } from './internal/safe.js';
import { snapshotTracedError } from './internal/snapshot.js';
import { activeSpanIds, validTraceId } from './internal/span-context.js';
import { toTracedError } from './normalize.js';

/**
 * The media type of an RFC 9457 problem details document (RFC 9457 §3).
 *
 * @example
 * ```ts
 * res.setHeader('content-type', PROBLEM_JSON_CONTENT_TYPE);
 * ```
 */
export const PROBLEM_JSON_CONTENT_TYPE = 'application/problem+json' as const;

/**
 * An RFC 9457 problem details object. `traceId`, `code` and `details` are extension members
 * (RFC 9457 §3.2).
 *
 * @example
 * ```ts
 * const problem: ProblemDetails = { type: 'about:blank', title: 'Not Found', status: 404 };
 * ```
 */
export interface ProblemDetails {
  /** Problem type URI; `about:blank` unless the error set one (RFC 9457 §3.1.1, §4.2.1). */
  type: string;
  /** The HTTP reason phrase for `about:blank`, else the error's own title (RFC 9457 §3.1.3). */
  title: string;
  /** The HTTP status that is sent on the wire: an integer 400..599 (RFC 9457 §3.1.2). */
  status: number;
  /** The error message; only for exposed 4xx errors (RFC 9457 §3.1.4). */
  detail?: string;
  /** The caller-supplied occurrence URI, e.g. the request path (RFC 9457 §3.1.5). */
  instance?: string;
  /** W3C trace id of the failure, for support requests. */
  traceId?: string;
  /** The gRPC code name (e.g. `NOT_FOUND`); only for 4xx. */
  code?: string;
  /** JSON-safe details; only for exposed 4xx errors. */
  details?: Record<string, unknown>;
}

/**
 * Options for {@link toProblemDetails}.
 *
 * @example
 * ```ts
 * const options: ProblemDetailsOptions = { instance: '/orders/42', typeBaseUri: 'https://errors.example.com/' };
 * ```
 */
export interface ProblemDetailsOptions {
  /** The occurrence, usually the request path without the query; capped at 1024 characters. */
  instance?: string;
  /** Base URI a relative `type` of the error is resolved against. */
  typeBaseUri?: string;
  /**
   * The HTTP status to answer with, decided by the caller (usually `httpStatusOfError`, the
   * framework's rule); passed to `toTracedError(err, { httpStatus })`. Only integers 400..599 are
   * used. The body rules do not change: a 5xx never carries the message, a 4xx only when exposed.
   */
  httpStatus?: number | undefined;
}

const ABOUT_BLANK = 'about:blank';
const MAX_INSTANCE = 1024;
const MAX_TYPE = 2048;
/** A URI reference is printable ASCII without spaces (RFC 3986 §2); anything else is not a type. */
const URI_REFERENCE = /^[!-~]+$/;
const FALLBACK_PROBLEM = '{"type":"about:blank","title":"Internal Server Error","status":500}';

function internalServerError(): ProblemDetails {
  return { type: ABOUT_BLANK, title: 'Internal Server Error', status: 500 };
}

function resolveType(type: string | undefined, base: unknown): string {
  if (type === undefined || type.length > MAX_TYPE || !URI_REFERENCE.test(type)) return ABOUT_BLANK;
  if (typeof base !== 'string' || base === '') return type;
  try {
    return new URL(type, base).href;
  } catch {
    return ABOUT_BLANK;
  }
}

/**
 * Builds the RFC 9457 (`application/problem+json`) body for any thrown value. Never throws.
 *
 * The value is normalized with `toTracedError` first (with `options.httpStatus` when given). Then:
 * - `status` is the error's `httpStatus` (an integer 400..599: what goes on the wire);
 * - `type` is `about:blank` unless the error has its own `type` (resolved against
 *   `typeBaseUri`); with `about:blank`, `title` is the status phrase (RFC 9457 §4.2.1), otherwise
 *   the error's `title` when set;
 * - 4xx: `detail` is the message and `details` the JSON-safe details, both only when the error is
 *   exposed; `code` is the gRPC code name;
 * - 5xx: only `type`, `title`, `status`, `instance` and `traceId`. No message, stack, cause,
 *   details or anything read from a foreign error (pg `detail`/`where`/`hint`, upstream statuses);
 * - `traceId` is the one captured by the error, else the active span's, when valid;
 * - `instance` is only ever `options.instance`, capped at 1024 characters.
 *
 * @example
 * ```ts
 * const problem = toProblemDetails(err, { instance: req.path });
 * res.status(problem.status).type(PROBLEM_JSON_CONTENT_TYPE).send(serializeProblemDetails(problem));
 * ```
 */
export function toProblemDetails(err: unknown, options?: ProblemDetailsOptions): ProblemDetails {
  try {
    const s = snapshotTracedError(
      toTracedError(err, { httpStatus: safeGet(options, 'httpStatus') as number | undefined }),
    );
    const status = s.httpStatus;
    const clientError = status < 500;
    const type = resolveType(s.type, safeGet(options, 'typeBaseUri'));
    const title =
      type !== ABOUT_BLANK && s.title !== undefined && s.title !== '' ? s.title : reasonPhrase(status);
    const problem: ProblemDetails = { type, title, status };
    if (clientError && s.expose && s.message !== '') problem.detail = s.message;
    const instance = safeGet(options, 'instance');
    if (typeof instance === 'string' && instance !== '') problem.instance = truncate(instance, MAX_INSTANCE);
    const traceId = s.ids?.traceId ?? activeSpanIds()?.traceId;
    if (traceId !== undefined) problem.traceId = traceId;
    if (clientError) problem.code = grpcCodeName(s.code);
    if (clientError && s.expose) {
      const details = toJsonSafeRecord(s.details);
      if (details !== undefined) problem.details = details;
    }
    return problem;
  } catch {
    return internalServerError();
  }
}

/**
 * Serializes a problem details object to JSON. Never throws.
 *
 * Only the members of {@link ProblemDetails} are written, each validated (`details` made
 * JSON-safe: no BigInt, cycle, function or symbol can break it). U+2028 and U+2029 are escaped so
 * the body is also safe to embed in a script. If `type`, `title` or `status` is invalid, or
 * anything else goes wrong, the result is
 * `{"type":"about:blank","title":"Internal Server Error","status":500}`. It does not re-apply
 * the 4xx/5xx exposure policy: that is `toProblemDetails`' job.
 *
 * @example
 * ```ts
 * res.end(serializeProblemDetails(toProblemDetails(err)));
 * ```
 */
export function serializeProblemDetails(problem: ProblemDetails): string {
  try {
    const type = safeGet(problem, 'type');
    const title = safeGet(problem, 'title');
    const status = safeGet(problem, 'status');
    if (typeof type !== 'string' || typeof title !== 'string' || !isErrorHttpStatus(status))
      return FALLBACK_PROBLEM;
    const out: Record<string, unknown> = { type, title, status };
    const detail = safeGet(problem, 'detail');
    if (typeof detail === 'string') out.detail = detail;
    const instance = safeGet(problem, 'instance');
    if (typeof instance === 'string') out.instance = truncate(instance, MAX_INSTANCE);
    const traceId = validTraceId(safeGet(problem, 'traceId'));
    if (traceId !== undefined) out.traceId = traceId;
    const code = safeGet(problem, 'code');
    if (typeof code === 'string' && /^[A-Z_]{1,32}$/.test(code)) out.code = code;
    const details = toJsonSafeRecord(safeGet(problem, 'details'));
    if (details !== undefined) out.details = details;
    return JSON.stringify(out)
      .replace(/\u2028/g, '\\u2028')
      .replace(/\u2029/g, '\\u2029');
  } catch {
    return FALLBACK_PROBLEM;
  }
}
