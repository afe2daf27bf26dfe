/** Longest `rpc.method` accepted as a method name; longer paths are `_OTHER`. */
export const MAX_METHOD_LENGTH = 256;
/** Cap of a captured metadata value, and of the number of values per key. */
export const MAX_METADATA_VALUE_LENGTH = 1024;
export const MAX_METADATA_VALUES = 16;
/** Cap of the span status description taken from a status' details. */
export const MAX_STATUS_MESSAGE_LENGTH = 256;
/** At most this many method paths are cached per interceptor (the client may see dynamic paths). */
export const MAX_CACHED_METHODS = 1024;

/** Cap a string taken from input (the SDK's attribute length limit defaults to Infinity). */
export function cap(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}
