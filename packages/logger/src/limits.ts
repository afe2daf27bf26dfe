/**
 * Bounds applied to every value a record carries (merging object, bindings, interpolation
 * arguments, errors), so that one log call can neither throw nor write an unbounded line
 * (RELIABILITY T57). Every field is optional; the defaults are {@link DEFAULT_LOG_LIMITS}.
 *
 * @example
 * ```ts
 * createLogger({ limits: { maxStringLength: 4096 } });
 * ```
 */
export interface LogLimits {
  /**
   * Longest string value kept, in UTF-16 code units; longer ones are cut and end with
   * `...[truncated N chars]`. Applies to the message too.
   * @default 16384
   */
  maxStringLength?: number;
  /** Deepest nesting of objects and arrays; deeper values become `"[Object]"` / `"[Array]"`. @default 8 */
  maxDepth?: number;
  /** Array items kept; the rest are summarised by one `"[... N more items]"` entry. @default 100 */
  maxArrayLength?: number;
  /** Keys kept per object; the rest are summarised by a `"..."` key. @default 100 */
  maxObjectKeys?: number;
  /**
   * Approximate budget of one record, in characters of keys and string values; once spent, the
   * remaining values are replaced by `"[Truncated]"`.
   * @default 262144
   */
  maxRecordSize?: number;
  /** Links of an error's `cause` chain written before `"[Truncated]"`. @default 8 */
  maxCauseDepth?: number;
}

/** The default {@link LogLimits}. */
export const DEFAULT_LOG_LIMITS: Readonly<Required<LogLimits>> = Object.freeze({
  maxStringLength: 16_384,
  maxDepth: 8,
  maxArrayLength: 100,
  maxObjectKeys: 100,
  maxRecordSize: 262_144,
  maxCauseDepth: 8,
});

/** Validates `limits` (fail fast at construction) and fills in the defaults. */
export function resolveLimits(limits: LogLimits | undefined, owner: string): Readonly<Required<LogLimits>> {
  if (limits === undefined) return DEFAULT_LOG_LIMITS;
  if (limits === null || typeof limits !== 'object') {
    throw new TypeError(`${owner}: options.limits must be an object`);
  }
  const out: Required<LogLimits> = { ...DEFAULT_LOG_LIMITS };
  for (const key of Object.keys(DEFAULT_LOG_LIMITS) as (keyof LogLimits)[]) {
    const value = limits[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new TypeError(`${owner}: options.limits.${key} must be a positive integer`);
    }
    out[key] = value;
  }
  return Object.freeze(out);
}
