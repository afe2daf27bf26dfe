// Guarded access to foreign values. Anything thrown can be a Proxy whose traps throw, an object
// with throwing getters, a revoked Proxy or a frozen object: every read goes through here so that
// normalization never throws.

/** Reads `target[key]`, returning `undefined` when `target` is not an object or the read throws. */
export function safeGet(target: unknown, key: PropertyKey): unknown {
  if ((typeof target !== 'object' || target === null) && typeof target !== 'function') return undefined;
  try {
    return Reflect.get(target, key);
  } catch {
    return undefined;
  }
}

/** Reads a string property, or `undefined` when it is missing, not a string, or throws. */
export function safeGetString(target: unknown, key: PropertyKey): string | undefined {
  const value = safeGet(target, key);
  return typeof value === 'string' ? value : undefined;
}

/**
 * `Error.isError` (ES2026) recognises native errors across realms and ignores `Symbol.toStringTag`
 * spoofing; Node 22 does not have it yet, so fall back to `instanceof`.
 */
const nativeIsError: ((value: unknown) => boolean) | undefined = (() => {
  const candidate: unknown = (Error as unknown as { isError?: unknown }).isError;
  return typeof candidate === 'function' ? (candidate as (value: unknown) => boolean) : undefined;
})();

/**
 * Whether `value` is an Error: a native error object (any realm) or an object inheriting from
 * `Error.prototype`. Never throws, even for a Proxy whose `getPrototypeOf` trap throws.
 */
export function isErrorObject(value: unknown): value is Error {
  if (typeof value !== 'object' || value === null) return false;
  try {
    if (nativeIsError?.(value) === true) return true;
    return value instanceof Error;
  } catch {
    return false;
  }
}

/** Truncates to at most `max` UTF-16 code units without leaving a lone high surrogate behind. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}
