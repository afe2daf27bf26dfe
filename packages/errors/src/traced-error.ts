import { diag } from '@opentelemetry/api';
import { type ErrorCategory, errorCategory, isErrorCategory } from './category.js';
import { GrpcCode, isGrpcCode } from './grpc-code.js';
import { TRACED_ERROR_BRAND } from './internal/brand.js';
import { isErrorHttpStatus } from './internal/checks.js';
import { safeGet } from './internal/safe.js';
import { activeSpanIds } from './internal/span-context.js';
import { grpcCodeFromHttpStatus, httpStatusFromGrpcCode, isServerError } from './status-mapping.js';

/**
 * Options for {@link TracedError}. Every field is optional; see the class for how missing or
 * invalid values are filled in.
 *
 * @example
 * ```ts
 * const options: TracedErrorOptions = { code: GrpcCode.NOT_FOUND, details: { id: '42' } };
 * ```
 */
export interface TracedErrorOptions {
  /** The gRPC code. `OK` and non-canonical values are ignored (an error is never OK). */
  code?: GrpcCode;
  /** The HTTP status; only integers 400..599 are accepted, anything else is ignored. */
  httpStatus?: number;
  /** The ES2022 `cause`; set only when the key is present. */
  cause?: unknown;
  /**
   * Whether `message` (and `details`) may be sent to the client. Defaults to true only for
   * client errors: not a server-class code, status < 500, and category not `dependency`.
   * Even when true, messages of 5xx errors are never sent (see `toProblemDetails`).
   */
  expose?: boolean;
  /** Structured, client-safe details for exposed 4xx errors (serialized JSON-safely). */
  details?: Record<string, unknown>;
  /** Problem title (RFC 9457 §3.1.3); only used together with a custom `type`. */
  title?: string;
  /** Problem type URI (RFC 9457 §3.1.1); `about:blank` when absent. */
  type?: string;
  /** Overrides the category derived from the code (e.g. `dependency`). `ok` is ignored. */
  category?: ErrorCategory;
}

/**
 * An error that knows how it should be reported: gRPC code, HTTP status, category, whether its
 * message is safe for clients, and the trace/span it was created in.
 *
 * Resolution rules:
 * - only `httpStatus` given: `code = grpcCodeFromHttpStatus(httpStatus)`;
 * - only `code` given: `httpStatus = httpStatusFromGrpcCode(code)`;
 * - neither (or both invalid): INTERNAL / 500;
 * - both given: both kept as is (e.g. NOT_FOUND with 410 Gone).
 * `httpStatus` is therefore always an integer 400..599: safe for Node's `res.statusCode`.
 *
 * `traceId`/`spanId` are captured from the active context at construction time, and only when
 * the span context is valid; otherwise the properties are absent (never all-zero ids).
 *
 * @example
 * ```ts
 * throw new TracedError('User 42 not found', { code: GrpcCode.NOT_FOUND });
 * // -> httpStatus 404, category 'not_found', expose true, traceId of the active span
 * ```
 */
export class TracedError extends Error {
  // `name` lives on the prototype (below) so it is not an own enumerable property and the
  // stack header reads "TracedError: ..." from the first line.
  declare readonly name: 'TracedError';
  /** The gRPC status code (never OK). */
  readonly code: GrpcCode;
  /** The HTTP status: always an integer 400..599. */
  readonly httpStatus: number;
  /** The error category. */
  readonly category: ErrorCategory;
  /** Whether `message` is safe to send to a client (only ever used for 4xx). */
  readonly expose: boolean;
  /** Trace id of the span active at construction, when valid. */
  declare readonly traceId?: string;
  /** Span id of the span active at construction, when valid. */
  declare readonly spanId?: string;
  /** Client-safe structured details. */
  declare readonly details?: Record<string, unknown>;
  /** Problem title for a custom `type`. */
  declare readonly title?: string;
  /** Problem type URI. */
  declare readonly type?: string;

  static {
    Object.defineProperty(TracedError.prototype, 'name', {
      value: 'TracedError',
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }

  constructor(message: string, options?: TracedErrorOptions) {
    const opts: TracedErrorOptions = typeof options === 'object' && options !== null ? options : {};
    const text = typeof message === 'string' ? message : '';
    const hasCause = safeHas(opts, 'cause');
    super(text, hasCause ? { cause: safeGet(opts, 'cause') } : undefined);

    const rawCode = safeGet(opts, 'code');
    const rawStatus = safeGet(opts, 'httpStatus');
    const code = isGrpcCode(rawCode) && rawCode !== GrpcCode.OK ? rawCode : undefined;
    const status = isErrorHttpStatus(rawStatus) ? rawStatus : undefined;
    if ((rawCode !== undefined && code === undefined) || (rawStatus !== undefined && status === undefined)) {
      diag.debug('tracewire: TracedError ignored an invalid code or httpStatus option');
    }
    this.code = code ?? (status !== undefined ? grpcCodeFromHttpStatus(status) : GrpcCode.INTERNAL);
    this.httpStatus = status ?? httpStatusFromGrpcCode(this.code);

    const rawCategory = safeGet(opts, 'category');
    this.category =
      isErrorCategory(rawCategory) && rawCategory !== 'ok' ? rawCategory : errorCategory(this.code);

    const rawExpose = safeGet(opts, 'expose');
    this.expose =
      typeof rawExpose === 'boolean'
        ? rawExpose
        : !isServerError(this.code) && this.httpStatus < 500 && this.category !== 'dependency';

    const ids = activeSpanIds();
    if (ids !== undefined) {
      this.traceId = ids.traceId;
      this.spanId = ids.spanId;
    }

    const details = safeGet(opts, 'details');
    if (typeof details === 'object' && details !== null) this.details = details as Record<string, unknown>;
    const title = safeGet(opts, 'title');
    if (typeof title === 'string') this.title = title;
    const type = safeGet(opts, 'type');
    if (typeof type === 'string') this.type = type;

    Object.defineProperty(this, TRACED_ERROR_BRAND, { value: true, enumerable: false });
  }
}

function safeHas(target: object, key: PropertyKey): boolean {
  try {
    return key in target;
  } catch {
    return false;
  }
}

/**
 * Whether `value` is a TracedError, from this or any other copy of the package: it checks the
 * `Symbol.for('tracewire.error.TracedError')` brand rather than `instanceof`, and that the fields
 * every consumer reads have valid values (code 1..16, httpStatus 400..599, string message,
 * boolean expose). Never throws, even for a Proxy whose traps throw.
 *
 * @example
 * ```ts
 * try { await handler(); } catch (err) { if (isTracedError(err)) res.statusCode = err.httpStatus; }
 * ```
 */
export function isTracedError(value: unknown): value is TracedError {
  if (typeof value !== 'object' || value === null) return false;
  try {
    if (Reflect.get(value, TRACED_ERROR_BRAND) !== true) return false;
    const code = Reflect.get(value, 'code');
    return (
      isGrpcCode(code) &&
      code !== GrpcCode.OK &&
      isErrorHttpStatus(Reflect.get(value, 'httpStatus')) &&
      typeof Reflect.get(value, 'message') === 'string' &&
      typeof Reflect.get(value, 'expose') === 'boolean'
    );
  } catch {
    return false;
  }
}
