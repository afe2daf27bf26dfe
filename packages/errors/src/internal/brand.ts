/**
 * The brand every TracedError instance carries. `Symbol.for` makes the key shared by every copy
 * of the package loaded in the process (two installs, ESM + CJS, bundled copies), which
 * `instanceof` cannot do.
 */
export const TRACED_ERROR_BRAND: unique symbol = Symbol.for('tracewire.error.TracedError');
