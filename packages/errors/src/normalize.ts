import { errorCategory } from './category.js';
import { GrpcCode, isGrpcCode } from './grpc-code.js';
import { causeChain } from './internal/cause-chain.js';
import { isErrorHttpStatus } from './internal/checks.js';
import { classifyThrown } from './internal/classify.js';
import { safeGet } from './internal/safe.js';
import { snapshotTracedError } from './internal/snapshot.js';
import { type SpanIds, validSpanIds } from './internal/span-context.js';
import { grpcCodeFromHttpStatus } from './status-mapping.js';
import { isTracedError, TracedError, type TracedErrorOptions } from './traced-error.js';

/** What a walk over the cause chain found. */
interface ChainFacts {
  /** The first TracedError in the chain (closest to the top). */
  readonly nearest: TracedError | undefined;
  /** The ids of the deepest TracedError that has valid ids: where the failure first happened. */
  readonly innermostIds: SpanIds | undefined;
}

function chainFacts(start: unknown): ChainFacts {
  let nearest: TracedError | undefined;
  let innermostIds: SpanIds | undefined;
  for (const node of causeChain(start)) {
    if (!isTracedError(node)) continue;
    nearest ??= node;
    const ids = validSpanIds(safeGet(node, 'traceId'), safeGet(node, 'spanId'));
    if (ids !== undefined) innermostIds = ids;
  }
  return { nearest, innermostIds };
}

/** Replaces the ids captured at construction (the properties are plain writable data). */
function pointAt(error: TracedError, ids: SpanIds): void {
  Object.defineProperty(error, 'traceId', {
    value: ids.traceId,
    writable: true,
    enumerable: true,
    configurable: true,
  });
  Object.defineProperty(error, 'spanId', {
    value: ids.spanId,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/**
 * Options for {@link toTracedError}.
 *
 * @example
 * ```ts
 * const options: ToTracedErrorOptions = { httpStatus: httpStatusOfError(err) };
 * ```
 */
export interface ToTracedErrorOptions {
  /**
   * The HTTP status the response is answered with, decided by the caller (usually the framework's
   * rule, `httpStatusOfError`). When it is an integer 400..599 the result carries it, whatever
   * the classification rules say; anything else (including `undefined`) is ignored.
   */
  httpStatus?: number | undefined;
}

/** Last resort when even classification failed: an INTERNAL error that carries the value. */
function fallback(err: unknown): TracedError {
  return new TracedError('Unclassifiable error', { cause: err, expose: false });
}

/**
 * Turns anything that was thrown into a TracedError. Never throws.
 *
 * - A TracedError (from any copy of the package, recognised by its brand) is returned as is.
 * - An `http-errors`-style Error (integer `status`/`statusCode` 400..599 and a boolean `expose`,
 *   as built by `http-errors` and Koa's `ctx.throw`) is trusted: status, code and `expose` kept.
 * - `AbortError` / `ABORT_ERR` -> CANCELLED (499), category `cancelled`.
 * - `TimeoutError` (`AbortSignal.timeout()`) -> DEADLINE_EXCEEDED (504), category `timeout`.
 * - A grpc-js `ServiceError` (integer `code` 0..16, string `details`, `metadata` object) is the
 *   failure of a call we made: CANCELLED -> CANCELLED; DEADLINE_EXCEEDED -> DEADLINE_EXCEEDED;
 *   UNAVAILABLE and RESOURCE_EXHAUSTED -> UNAVAILABLE; everything else -> INTERNAL; category
 *   `dependency` (`cancelled` for CANCELLED); upstream details are never exposed.
 * - Node/undici network errors (`ECONNREFUSED`, `ECONNRESET`, `ENOTFOUND`, `EAI_AGAIN`, ...) ->
 *   UNAVAILABLE (503); timeouts (`ETIMEDOUT`, `UND_ERR_*_TIMEOUT`, ...) -> DEADLINE_EXCEEDED (504);
 *   category `dependency`.
 * - Any other Error with a `status`/`statusCode` (HTTP client errors, framework errors without
 *   `expose`) is not trusted with a client-facing status: INTERNAL (500), category `dependency`
 *   when it has a `response` or `request` object, else `internal`.
 * - Any other Error: INTERNAL (500), category `internal`, unless its cause chain holds one of the
 *   5xx/CANCELLED classifications above (e.g. `TypeError('fetch failed')` caused by ECONNREFUSED).
 * - Anything else (strings, numbers, null, undefined, symbols, plain objects, Proxies): INTERNAL
 *   (500) with a short description as message.
 *
 * Only the http-errors rule can produce `expose: true`. The original value is always the `cause`.
 *
 * With `options.httpStatus` (an integer 400..599, e.g. from `httpStatusOfError`) the result
 * has that status instead: `code = grpcCodeFromHttpStatus(status)`, the category of that code
 * (`dependency` is kept), `expose` only when the rules above gave `expose: true` and the status is
 * below 500. A TracedError with a different status is wrapped (its `details`, `title` and `type`
 * are kept); with the same status it is returned as is. Any other `httpStatus` is ignored.
 * `traceId`/`spanId` come from the innermost TracedError in the cause chain, else the active span.
 *
 * @example
 * ```ts
 * app.use((err, req, res, next) => {
 *   const error = toTracedError(err);
 *   res.status(error.httpStatus).json(toProblemDetails(error));
 * });
 * // The framework's status rule (Express's finalhandler): `status`/`statusCode` 400..599 of any error.
 * toTracedError(err, { httpStatus: httpStatusOfError(err) });
 * ```
 */
export function toTracedError(err: unknown, options?: ToTracedErrorOptions): TracedError {
  try {
    const forced = safeGet(options, 'httpStatus');
    const status = isErrorHttpStatus(forced) ? forced : undefined;
    if (isTracedError(err) && (status === undefined || safeGet(err, 'httpStatus') === status)) return err;
    const c = classifyThrown(err);
    const opts: TracedErrorOptions = {
      code: c.code,
      httpStatus: c.httpStatus,
      category: c.category,
      expose: c.expose,
      cause: err,
    };
    if (status !== undefined && status !== c.httpStatus) {
      // The caller's status wins: the code follows it; a failed call of ours stays `dependency`;
      // the message is exposed only when the value itself said so, and never for 5xx.
      opts.httpStatus = status;
      opts.code = grpcCodeFromHttpStatus(status);
      opts.category = c.category === 'dependency' ? 'dependency' : errorCategory(opts.code);
      opts.expose = c.expose && status < 500;
    }
    if (isTracedError(err)) {
      const s = snapshotTracedError(err);
      if (s.details !== undefined) opts.details = s.details as Record<string, unknown>;
      if (s.title !== undefined) opts.title = s.title;
      if (s.type !== undefined) opts.type = s.type;
    }
    const out = new TracedError(c.message, opts);
    const { innermostIds } = chainFacts(err);
    if (innermostIds !== undefined) pointAt(out, innermostIds);
    return out;
  } catch {
    return fallback(err);
  }
}

/**
 * Wraps `err` in a new TracedError with `message`, keeping `err` as the `cause`. Never throws.
 *
 * - `traceId`/`spanId` are those of the innermost TracedError in the cause chain (followed up to
 *   16 links, cycle-safe), so the wrapper still points at the span where the failure first
 *   happened; if there is none, the active span at wrap time.
 * - If `options` sets a valid `code` or `httpStatus`, they decide. Otherwise the classification is
 *   inherited from the nearest TracedError in the chain (the most recent deliberate decision:
 *   every TracedError already carries what it inherited), else from classifying `err` with the
 *   {@link toTracedError} rules.
 * - `expose` follows `options.expose`, else the TracedError default for the resulting code (the
 *   wrapper's message is new text, so the cause's `expose` does not carry over).
 *
 * @example
 * ```ts
 * try { await repo.load(id); }
 * catch (err) { throw wrapError(err, 'could not load the order'); }
 * ```
 */
export function wrapError(err: unknown, message: string, options?: TracedErrorOptions): TracedError {
  try {
    const opts: TracedErrorOptions = typeof options === 'object' && options !== null ? { ...options } : {};
    const facts = chainFacts(err);
    const explicit =
      (isGrpcCode(opts.code) && opts.code !== GrpcCode.OK) || isErrorHttpStatus(opts.httpStatus);
    if (!explicit) {
      if (facts.nearest !== undefined) {
        const s = snapshotTracedError(facts.nearest);
        opts.code = s.code;
        opts.httpStatus = s.httpStatus;
        opts.category ??= s.category;
      } else {
        const c = classifyThrown(err);
        opts.code = c.code;
        opts.httpStatus = c.httpStatus;
        opts.category ??= c.category;
      }
    }
    opts.cause = err;
    const out = new TracedError(typeof message === 'string' ? message : '', opts);
    if (facts.innermostIds !== undefined) pointAt(out, facts.innermostIds);
    return out;
  } catch {
    return fallback(err);
  }
}
