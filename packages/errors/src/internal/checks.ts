// Small value checks shared by several modules. Not exported from the package.

/**
 * Whether `value` is an integer HTTP status in the error range 400..599.
 * This is the only range a TracedError ever stores, so it is always safe to assign to Node's
 * `res.statusCode` (which throws for values outside 100..999) and always an error per RFC 9110 §15.
 */
export function isErrorHttpStatus(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599;
}

/** Whether `value` is an integer in `[min, max]`. */
export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
