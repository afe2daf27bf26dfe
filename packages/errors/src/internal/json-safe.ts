import { safeGet, truncate } from './safe.js';

/** Bounds for {@link toJsonSafe}: problem details are a response body, not a data dump. */
const MAX_DEPTH = 8;
const MAX_NODES = 256;
const MAX_STRING = 1024;
const MAX_KEY = 128;

interface WalkState {
  budget: number;
  readonly ancestors: Set<object>;
}

/**
 * A JSON-safe copy of `value`: plain objects and arrays of strings, finite numbers, booleans and
 * null. Functions, symbols and `undefined` are dropped (`null` inside arrays, like JSON), BigInt
 * becomes its decimal string, non-finite numbers become null, Dates their ISO string, cycles are
 * dropped, and depth (8), node count (256), string (1024) and key (128) lengths are bounded.
 * `toJSON` is never called and every read is guarded, so hostile objects cannot throw through.
 * Returns `undefined` when nothing representable is left.
 */
export function toJsonSafe(value: unknown): unknown {
  return walk(value, 0, { budget: MAX_NODES, ancestors: new Set() });
}

/** {@link toJsonSafe} restricted to a non-empty plain object result. */
export function toJsonSafeRecord(value: unknown): Record<string, unknown> | undefined {
  const safe = toJsonSafe(value);
  if (typeof safe !== 'object' || safe === null || Array.isArray(safe)) return undefined;
  return Object.keys(safe).length > 0 ? (safe as Record<string, unknown>) : undefined;
}

function walk(value: unknown, depth: number, state: WalkState): unknown {
  if (state.budget <= 0) return undefined;
  state.budget--;
  switch (typeof value) {
    case 'string':
      return truncate(value, MAX_STRING);
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'boolean':
      return value;
    case 'bigint':
      return truncate(value.toString(), MAX_STRING);
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH || state.ancestors.has(value)) return undefined;
  state.ancestors.add(value);
  try {
    return walkObject(value, depth, state);
  } catch {
    return undefined;
  } finally {
    state.ancestors.delete(value);
  }
}

function walkObject(value: object, depth: number, state: WalkState): unknown {
  if (value instanceof Date) {
    const time = value.getTime();
    return Number.isFinite(time) ? value.toISOString() : null;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    const length = Math.min(value.length, MAX_NODES);
    for (let i = 0; i < length && state.budget > 0; i++) {
      const item = walk(safeGet(value, i), depth + 1, state);
      out.push(item === undefined ? null : item);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (state.budget <= 0) break;
    if (key.length > MAX_KEY) continue;
    const item = walk(safeGet(value, key), depth + 1, state);
    // defineProperty, not assignment: a key named "__proto__" must stay a plain data member.
    if (item !== undefined) {
      Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}
