/** Reads a property; a throwing getter or Proxy trap gives `undefined`. */
export function read(target: object, key: PropertyKey): unknown {
  try {
    return Reflect.get(target, key);
  } catch {
    return undefined;
  }
}

/** Whether `key` is in `target` (own or inherited); a throwing Proxy trap gives false. */
export function has(target: object, key: PropertyKey): boolean {
  try {
    return key in target;
  } catch {
    return false;
  }
}

/** Own enumerable string keys (what JSON.stringify walks); a throwing Proxy gives `undefined`. */
export function ownKeys(target: object): string[] | undefined {
  try {
    return Object.keys(target);
  } catch {
    return undefined;
  }
}

/** Whether `value` is an Error (any realm); never throws. */
export function isError(value: object): boolean {
  try {
    if (value instanceof Error) return true;
    return Object.prototype.toString.call(value) === '[object Error]';
  } catch {
    return false;
  }
}

/** What a property whose getter (or Proxy trap) throws is written as. */
export const UNREADABLE = '[Unreadable]';

/** Reads a property for logging; a throwing getter or Proxy trap gives {@link UNREADABLE}. */
export function readValue(target: object, key: PropertyKey): unknown {
  try {
    return Reflect.get(target, key);
  } catch {
    return UNREADABLE;
  }
}
