import { type ErrorCategory, errorCategory } from '../category.js';
import { GrpcCode, isGrpcCode } from '../grpc-code.js';
import { grpcCodeFromHttpStatus, httpStatusFromGrpcCode } from '../status-mapping.js';
import { isTracedError } from '../traced-error.js';
import { causeChain } from './cause-chain.js';
import { isErrorHttpStatus, isIntegerIn } from './checks.js';
import { isErrorObject, safeGet, safeGetString, truncate } from './safe.js';
import { snapshotTracedError } from './snapshot.js';

/** How a thrown value should be reported. */
export interface Classification {
  readonly code: GrpcCode;
  readonly httpStatus: number;
  readonly category: ErrorCategory;
  readonly expose: boolean;
  readonly message: string;
  /** Which rule matched; `generic` means none did (INTERNAL / 500). */
  readonly rule: ClassificationRule;
}

export type ClassificationRule =
  | 'traced'
  | 'abort'
  | 'timeout'
  | 'http-errors'
  | 'grpc'
  | 'system'
  | 'untrusted-status'
  | 'generic'
  | 'non-error';

/**
 * Node/undici error codes of a failed outgoing connection or request. These are failures of a
 * dependency, answered as UNAVAILABLE (503) or DEADLINE_EXCEEDED (504). Every other string code
 * (ENOENT, EACCES, EMFILE, ERR_*...) is a problem in our own process: INTERNAL.
 */
const SYSTEM_CODES: ReadonlyMap<string, GrpcCode> = new Map<string, GrpcCode>([
  ['ECONNREFUSED', GrpcCode.UNAVAILABLE],
  ['ECONNRESET', GrpcCode.UNAVAILABLE],
  ['ECONNABORTED', GrpcCode.UNAVAILABLE],
  ['EHOSTUNREACH', GrpcCode.UNAVAILABLE],
  ['EHOSTDOWN', GrpcCode.UNAVAILABLE],
  ['ENETUNREACH', GrpcCode.UNAVAILABLE],
  ['ENETDOWN', GrpcCode.UNAVAILABLE],
  ['ENETRESET', GrpcCode.UNAVAILABLE],
  ['ENOTFOUND', GrpcCode.UNAVAILABLE],
  ['EAI_AGAIN', GrpcCode.UNAVAILABLE],
  ['EPIPE', GrpcCode.UNAVAILABLE],
  ['UND_ERR_SOCKET', GrpcCode.UNAVAILABLE],
  ['ETIMEDOUT', GrpcCode.DEADLINE_EXCEEDED],
  ['ESOCKETTIMEDOUT', GrpcCode.DEADLINE_EXCEEDED],
  ['UND_ERR_CONNECT_TIMEOUT', GrpcCode.DEADLINE_EXCEEDED],
  ['UND_ERR_HEADERS_TIMEOUT', GrpcCode.DEADLINE_EXCEEDED],
  ['UND_ERR_BODY_TIMEOUT', GrpcCode.DEADLINE_EXCEEDED],
]);

/** Codes of an aborted operation (Node's AbortError, undici's RequestAbortedError). */
const ABORT_CODES: ReadonlySet<string> = new Set(['ABORT_ERR', 'UND_ERR_ABORTED']);

/** Longest thrown string quoted in a normalized message. */
const MAX_THROWN_STRING = 200;

function result(
  rule: ClassificationRule,
  code: GrpcCode,
  category: ErrorCategory,
  message: string,
  httpStatus: number = httpStatusFromGrpcCode(code),
  expose = false,
): Classification {
  return { rule, code, httpStatus, category, expose, message };
}

/**
 * An upstream gRPC code, as seen by the client that made the call, translated to what *we* should
 * answer. Only transport-level outcomes pass through; anything else means our call was wrong or
 * the upstream broke, which is our internal failure (the caller's request was not necessarily bad).
 */
function fromUpstreamGrpcCode(code: GrpcCode): { code: GrpcCode; category: ErrorCategory } {
  switch (code) {
    case GrpcCode.CANCELLED:
      return { code: GrpcCode.CANCELLED, category: 'cancelled' };
    case GrpcCode.DEADLINE_EXCEEDED:
      return { code: GrpcCode.DEADLINE_EXCEEDED, category: 'dependency' };
    case GrpcCode.UNAVAILABLE:
    case GrpcCode.RESOURCE_EXHAUSTED:
      // RESOURCE_EXHAUSTED upstream is *our* quota, not the caller's: 429 would tell our client
      // to slow down for a limit it does not own. 503 says "try again later" without blaming it.
      return { code: GrpcCode.UNAVAILABLE, category: 'dependency' };
    default:
      return { code: GrpcCode.INTERNAL, category: 'dependency' };
  }
}

function describeNonError(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `Non-error value thrown: ${JSON.stringify(truncate(value, MAX_THROWN_STRING))}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `Non-error value thrown: ${String(value)}`;
    case 'object':
      return value === null ? 'Non-error value thrown: null' : 'Non-error object thrown';
    default:
      // undefined, symbol, function: the type is all we can say safely.
      return `Non-error value thrown: ${typeof value}`;
  }
}

/** Classifies one value by its own shape (no cause walking). */
export function classifyOwn(value: unknown): Classification {
  if (isTracedError(value)) {
    const s = snapshotTracedError(value);
    return result('traced', s.code, s.category, s.message, s.httpStatus, s.expose);
  }
  if (!isErrorObject(value)) {
    return result('non-error', GrpcCode.INTERNAL, 'internal', describeNonError(value));
  }
  const message = safeGetString(value, 'message') ?? '';
  const name = safeGetString(value, 'name');
  const code = safeGet(value, 'code');

  // Aborted operations: the caller went away or we cancelled the work on its behalf.
  if (name === 'AbortError' || (typeof code === 'string' && ABORT_CODES.has(code))) {
    return result('abort', GrpcCode.CANCELLED, 'cancelled', message);
  }
  // DOMException 'TimeoutError' from AbortSignal.timeout(): a deadline we set expired.
  if (name === 'TimeoutError') {
    return result('timeout', GrpcCode.DEADLINE_EXCEEDED, 'timeout', message);
  }

  const status = safeGet(value, 'status');
  const statusCode = safeGet(value, 'statusCode');
  const expose = safeGet(value, 'expose');
  // http-errors / Koa ctx.throw shape: an Error with a 4xx/5xx status (status and statusCode agree
  // when both are set) and a boolean `expose`. The application built it for its own response.
  const httpErrorStatus = isErrorHttpStatus(status)
    ? status
    : isErrorHttpStatus(statusCode)
      ? statusCode
      : undefined;
  const consistent = status === undefined || statusCode === undefined || status === statusCode;
  if (httpErrorStatus !== undefined && consistent && typeof expose === 'boolean') {
    const grpcCode = grpcCodeFromHttpStatus(httpErrorStatus);
    return result('http-errors', grpcCode, errorCategory(grpcCode), message, httpErrorStatus, expose);
  }

  // grpc-js ServiceError shape: the result of a call we made to another service.
  if (isGrpcCode(code) && typeof safeGet(value, 'details') === 'string') {
    const metadata = safeGet(value, 'metadata');
    if (typeof metadata === 'object' && metadata !== null) {
      const mapped = fromUpstreamGrpcCode(code);
      return result('grpc', mapped.code, mapped.category, message);
    }
  }

  // Node system errors / undici errors of an outgoing connection.
  if (typeof code === 'string') {
    const systemCode = SYSTEM_CODES.get(code);
    if (systemCode !== undefined) return result('system', systemCode, 'dependency', message);
  }

  // Any other status-carrying Error (an HTTP client echoing an upstream status, a framework error
  // without `expose`): not trusted to pick a client-facing status.
  if (isIntegerIn(status, 100, 599) || isIntegerIn(statusCode, 100, 599)) {
    const fromClient = isObject(safeGet(value, 'response')) || isObject(safeGet(value, 'request'));
    return result('untrusted-status', GrpcCode.INTERNAL, fromClient ? 'dependency' : 'internal', message);
  }

  return result('generic', GrpcCode.INTERNAL, 'internal', message);
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

/**
 * Classifies a thrown value. When the value itself is a plain Error that matched no rule, its cause
 * chain is searched (outermost first) for a more specific classification; a cause may only make
 * the result a server error (5xx) or CANCELLED, never a client-facing 4xx, so wrapping an upstream
 * 404 in `new Error(..., { cause })` cannot leak it as our status.
 */
export function classifyThrown(value: unknown): Classification {
  const own = classifyOwn(value);
  if (own.rule !== 'generic') return own;
  const chain = causeChain(value);
  for (let i = 1; i < chain.length; i++) {
    const inner = classifyOwn(chain[i]);
    if (inner.rule === 'generic' || inner.rule === 'non-error') continue;
    if (inner.httpStatus >= 500 || inner.code === GrpcCode.CANCELLED) {
      return { ...inner, message: own.message, expose: false };
    }
  }
  return own;
}
