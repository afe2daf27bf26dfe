// Turns whatever the application logs into plain, bounded, JSON-safe data before pino sees it.
// pino's own stringify falls back to safe-stable-stringify, which handles cycles but still calls
// throwing getters and writes 10 MB strings whole; walking a copy here means the log call cannot
// throw and the line is bounded (RELIABILITY T57, spec error-handling: never throw at run time).
import { grpcCodeName, isTracedError } from '@tracewire/errors';
import type { LogLimits } from '../limits.js';
import { has, isError, ownKeys, read, readValue, UNREADABLE } from './safe.js';

export { UNREADABLE };

/** Per-record state: the limits, the remaining size budget and the path (for cycle detection). */
export interface SanitizeState {
  readonly limits: Readonly<Required<LogLimits>>;
  budget: number;
  readonly path: object[];
}

export function newState(limits: Readonly<Required<LogLimits>>): SanitizeState {
  return { limits, budget: limits.maxRecordSize, path: [] };
}

export const TRUNCATED = '[Truncated]';
export const CIRCULAR = '[Circular]';

/** Caps a string to the per-value limit and the remaining record budget. */
export function capString(value: string, state: SanitizeState): string {
  const max = Math.max(0, Math.min(state.limits.maxStringLength, state.budget));
  if (value.length <= max) {
    state.budget -= value.length;
    return value;
  }
  if (max === 0) return TRUNCATED;
  state.budget -= max;
  let end = max;
  // Do not split a surrogate pair: a lone high surrogate would be written as U+FFFD.
  const last = value.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--;
  return `${value.slice(0, end)}...[truncated ${value.length - end} chars]`;
}

/**
 * A JSON-safe copy of `value`: strings capped, BigInt and symbols as strings, functions and
 * `undefined` dropped (as JSON does), Errors serialized, cycles marked, depth and breadth bounded.
 * Never throws.
 */
export function sanitize(value: unknown, depth: number, state: SanitizeState): unknown {
  switch (typeof value) {
    case 'string':
      return capString(value, state);
    case 'number':
    case 'boolean':
      state.budget -= 8;
      return value;
    case 'bigint':
      return capString(value.toString(), state);
    case 'symbol':
      return capString(describeSymbol(value), state);
    case 'undefined':
    case 'function':
      return undefined;
    default:
      if (value === null) return null;
      try {
        return sanitizeObject(value as object, depth, state);
      } catch {
        return UNREADABLE;
      }
  }
}

function describeSymbol(value: symbol): string {
  try {
    return value.toString();
  } catch {
    return 'Symbol()';
  }
}

function sanitizeObject(value: object, depth: number, state: SanitizeState): unknown {
  if (state.budget <= 0) return TRUNCATED;
  if (state.path.includes(value)) return CIRCULAR;
  if (isError(value)) return serializeError(value, depth, state, 0);
  const array = Array.isArray(value);
  if (depth >= state.limits.maxDepth) return array ? '[Array]' : '[Object]';
  if (ArrayBuffer.isView(value)) {
    return `[${constructorName(value) ?? 'TypedArray'} ${value.byteLength} bytes]`;
  }
  if (value instanceof ArrayBuffer) return `[ArrayBuffer ${value.byteLength} bytes]`;

  state.path.push(value);
  try {
    if (array) return sanitizeArray(value as unknown[], depth, state);
    if (value instanceof Map) return sanitizeEntries(value.entries(), value.size, depth, state);
    if (value instanceof Set)
      return sanitizeArray([...takeFirst(value.values(), state)], depth, state, value.size);
    // Dates, URLs, Buffers and user classes describe themselves with toJSON, as JSON.stringify does.
    const toJSON = read(value, 'toJSON');
    if (typeof toJSON === 'function') {
      let json: unknown;
      try {
        json = toJSON.call(value);
      } catch {
        return UNREADABLE;
      }
      return json === value ? sanitizePlain(value, depth, state) : sanitize(json, depth + 1, state);
    }
    return sanitizePlain(value, depth, state);
  } finally {
    state.path.pop();
  }
}

function* takeFirst<T>(values: Iterator<T>, state: SanitizeState): Generator<T> {
  for (let i = 0; i <= state.limits.maxArrayLength; i++) {
    const next = values.next();
    if (next.done === true) return;
    yield next.value;
  }
}

function sanitizeArray(value: unknown[], depth: number, state: SanitizeState, size?: number): unknown[] {
  const length = size ?? value.length;
  const kept = Math.min(length, state.limits.maxArrayLength);
  const out: unknown[] = [];
  for (let i = 0; i < kept; i++) {
    if (state.budget <= 0) {
      out.push(TRUNCATED);
      return out;
    }
    let item: unknown;
    try {
      item = value[i];
    } catch {
      item = UNREADABLE;
    }
    const clean = sanitize(item, depth + 1, state);
    // JSON writes null for holes, undefined and functions in arrays.
    out.push(clean === undefined ? null : clean);
  }
  if (length > kept) out.push(`[... ${length - kept} more items]`);
  return out;
}

function sanitizeEntries(
  entries: Iterator<[unknown, unknown]>,
  size: number,
  depth: number,
  state: SanitizeState,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let count = 0;
  for (let next = entries.next(); next.done !== true; next = entries.next()) {
    if (count >= state.limits.maxObjectKeys || state.budget <= 0) {
      out['...'] = `${size - count} more entries`;
      break;
    }
    const [k, v] = next.value;
    const key = typeof k === 'string' ? k : String(sanitize(k, state.limits.maxDepth, state));
    const clean = sanitize(v, depth + 1, state);
    if (clean !== undefined) {
      state.budget -= key.length;
      out[capString(key, state)] = clean;
    }
    count++;
  }
  return out;
}

function sanitizePlain(value: object, depth: number, state: SanitizeState): Record<string, unknown> {
  const keys = ownKeys(value);
  const out: Record<string, unknown> = {};
  if (keys === undefined) return out;
  const kept = Math.min(keys.length, state.limits.maxObjectKeys);
  for (let i = 0; i < kept; i++) {
    const key = keys[i] as string;
    if (state.budget <= 0) {
      out['...'] = TRUNCATED;
      return out;
    }
    const clean = sanitize(readValue(value, key), depth + 1, state);
    if (clean === undefined) continue;
    state.budget -= key.length;
    // `__proto__` as a plain assignment would change the copy's prototype instead of adding a key.
    Object.defineProperty(out, capString(key, state), {
      value: clean,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  if (keys.length > kept) out['...'] = `${keys.length - kept} more keys`;
  return out;
}

function constructorName(value: object): string | undefined {
  const ctor = read(value, 'constructor');
  if (typeof ctor !== 'function') return undefined;
  const name = read(ctor, 'name');
  return typeof name === 'string' && name.length > 0 ? name.slice(0, 100) : undefined;
}

const HEX_TRACE_ID = /^[0-9a-f]{32}$/i;
const HEX_SPAN_ID = /^[0-9a-f]{16}$/i;
/** Keys written first, in this order; other own enumerable properties follow. */
const ERROR_HEAD = new Set(['type', 'message', 'stack', 'code', 'codeName', 'traceId', 'spanId', 'cause']);

/**
 * Serializes an Error: `type`, `message`, `stack`, `code` (with `codeName` for a TracedError),
 * `traceId`/`spanId` when valid, the other own enumerable properties (`httpStatus`, `category`,
 * `details`, driver fields...), `errors` of an AggregateError, and the `cause` chain, bounded by
 * `maxCauseDepth` and cycle-safe. Never throws.
 */
export function serializeError(
  error: object,
  depth: number,
  state: SanitizeState,
  causeDepth: number,
): Record<string, unknown> | string {
  if (state.path.includes(error)) return CIRCULAR;
  if (state.budget <= 0) return TRUNCATED;
  state.path.push(error);
  try {
    const out: Record<string, unknown> = { type: errorType(error) };
    const message = read(error, 'message');
    out.message =
      typeof message === 'string' ? capString(message, state) : sanitize(message, depth + 1, state);
    const stack = read(error, 'stack');
    if (typeof stack === 'string') out.stack = capString(stack, state);
    const code = read(error, 'code');
    if (typeof code === 'string' || typeof code === 'number') {
      out.code = typeof code === 'string' ? capString(code, state) : code;
      if (isTracedError(error)) out.codeName = grpcCodeName(error.code);
    }
    const traceId = read(error, 'traceId');
    if (typeof traceId === 'string' && HEX_TRACE_ID.test(traceId)) out.traceId = traceId.toLowerCase();
    const spanId = read(error, 'spanId');
    if (typeof spanId === 'string' && HEX_SPAN_ID.test(spanId)) out.spanId = spanId.toLowerCase();

    const keys = ownKeys(error) ?? [];
    let count = 0;
    for (const key of keys) {
      if (ERROR_HEAD.has(key)) continue;
      if (count++ >= state.limits.maxObjectKeys) {
        out['...'] = 'more keys';
        break;
      }
      if (state.budget <= 0) break;
      const clean = key === 'errors' ? sanitizeErrors(read(error, key), depth, state, causeDepth) : undefined;
      const value = clean ?? sanitize(readValue(error, key), depth + 1, state);
      if (value !== undefined) {
        state.budget -= key.length;
        Object.defineProperty(out, capString(key, state), {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
    // AggregateError keeps `errors` as a non-enumerable own property.
    if (!('errors' in out) && error instanceof AggregateError) {
      const errors = sanitizeErrors(read(error, 'errors'), depth, state, causeDepth);
      if (errors !== undefined) out.errors = errors;
    }

    if (has(error, 'cause')) {
      const cause = read(error, 'cause');
      if (causeDepth >= state.limits.maxCauseDepth) {
        out.cause = TRUNCATED;
      } else if (typeof cause === 'object' && cause !== null && isError(cause)) {
        // A cause link does not count against maxDepth: maxCauseDepth bounds the chain.
        out.cause = serializeError(cause, depth, state, causeDepth + 1);
      } else if (cause !== undefined) {
        out.cause = sanitize(cause, depth + 1, state);
      }
    }
    return out;
  } catch {
    return UNREADABLE;
  } finally {
    state.path.pop();
  }
}

function sanitizeErrors(
  errors: unknown,
  depth: number,
  state: SanitizeState,
  causeDepth: number,
): unknown[] | undefined {
  if (!Array.isArray(errors)) return undefined;
  const kept = Math.min(errors.length, state.limits.maxArrayLength);
  const out: unknown[] = [];
  for (let i = 0; i < kept; i++) {
    const item: unknown = errors[i];
    if (
      typeof item === 'object' &&
      item !== null &&
      isError(item) &&
      causeDepth < state.limits.maxCauseDepth
    ) {
      out.push(serializeError(item, depth, state, causeDepth + 1));
    } else {
      out.push(sanitize(item, depth + 1, state) ?? null);
    }
  }
  if (errors.length > kept) out.push(`[... ${errors.length - kept} more items]`);
  return out;
}

/**
 * The error's type: its `name` when it was set to something specific (`ValidationError`), else
 * the constructor's name (a subclass that kept `name = 'Error'`), else `Error`.
 */
function errorType(error: object): string {
  const name = read(error, 'name');
  if (typeof name === 'string' && name.length > 0 && name !== 'Error') return name.slice(0, 200);
  return (
    constructorName(error) ?? (typeof name === 'string' && name.length > 0 ? name.slice(0, 200) : 'Error')
  );
}
