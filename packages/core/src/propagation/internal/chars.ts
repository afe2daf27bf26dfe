/**
 * Character classes of the W3C formats as 128-entry lookup tables (all grammars are ASCII-only, so any
 * code unit >= 0x80 is outside every class).
 */

function table(predicate: (code: number) => boolean): Uint8Array {
  const t = new Uint8Array(128);
  for (let c = 0; c < 128; c++) t[c] = predicate(c) ? 1 : 0;
  return t;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isLcAlpha = (c: number): boolean => c >= 0x61 && c <= 0x7a;
const isAlpha = (c: number): boolean => isLcAlpha(c) || (c >= 0x41 && c <= 0x5a);

/** `HEXDIGLC = DIGIT / "a" / "b" / "c" / "d" / "e" / "f"` (W3C Trace Context). */
const LOWER_HEX = table((c) => isDigit(c) || (c >= 0x61 && c <= 0x66));

/** `tchar` of an RFC 9110 token (RFC 9110 §5.6.2; RFC 7230 §3.2.6 in the W3C Baggage text). */
const TCHAR = table((c) => isDigit(c) || isAlpha(c) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)));

/** tracestate key characters after the first: `lcalpha / DIGIT / "_" / "-" / "*" / "/"`. */
const TRACESTATE_KEY_CHAR = table(
  (c) => isLcAlpha(c) || isDigit(c) || c === 0x5f || c === 0x2d || c === 0x2a || c === 0x2f,
);

/** tracestate `nblk-chr = %x21-2B / %x2D-3C / %x3E-7E` (printable ASCII except `,` and `=`). */
const TRACESTATE_NBLK_CHR = table((c) => c >= 0x21 && c <= 0x7e && c !== 0x2c && c !== 0x3d);

/** `baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E` (W3C Baggage). */
const BAGGAGE_OCTET = table(
  (c) => c >= 0x21 && c <= 0x7e && c !== 0x22 && c !== 0x2c && c !== 0x3b && c !== 0x5c,
);

export const SP = 0x20;
export const HTAB = 0x09;
export const DASH = 0x2d;
export const EQUALS = 0x3d;
export const SEMICOLON = 0x3b;
export const AT = 0x40;
export const PERCENT = 0x25;

export function isLowerHex(c: number): boolean {
  return c < 128 && LOWER_HEX[c] === 1;
}

export function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

export function isLcAlphaCode(c: number): boolean {
  return isLcAlpha(c);
}

export function isLcAlphaOrDigit(c: number): boolean {
  return isLcAlpha(c) || isDigit(c);
}

export function isTracestateKeyChar(c: number): boolean {
  return c < 128 && TRACESTATE_KEY_CHAR[c] === 1;
}

/** tracestate `chr = %x20 / nblk-chr`. */
export function isTracestateChr(c: number): boolean {
  return c === SP || (c < 128 && TRACESTATE_NBLK_CHR[c] === 1);
}

export function isTracestateNblkChr(c: number): boolean {
  return c < 128 && TRACESTATE_NBLK_CHR[c] === 1;
}

export function isBaggageOctet(c: number): boolean {
  return c < 128 && BAGGAGE_OCTET[c] === 1;
}

/** `OWS = *( SP / HTAB )` (RFC 9110 §5.6.3). */
export function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/** True when every code unit of `s` is a tchar and `s` is non-empty. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTchar(s.charCodeAt(i))) return false;
  return true;
}

/** Index of the first non-OWS code unit in [start, end), or `end`. */
export function skipOwsForward(s: string, start: number, end: number): number {
  let i = start;
  while (i < end && isOws(s.charCodeAt(i))) i++;
  return i;
}

/** One past the last non-OWS code unit in [start, end), or `start`. */
export function skipOwsBackward(s: string, start: number, end: number): number {
  let i = end;
  while (i > start && isOws(s.charCodeAt(i - 1))) i--;
  return i;
}
