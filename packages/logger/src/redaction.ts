// Redaction: pino's `redact` (paths compiled once, applied while serializing), with defaults.

const OWNER = '@tracewire/logger';

/** pino's redaction options (`redact`), see https://getpino.io/#/docs/redaction. */
export interface RedactOptions {
  /** Paths in dot/bracket notation, with `*` wildcards: `req.headers.authorization`, `*.password`. */
  paths: string[];
  /** Replacement value. @default '[Redacted]' */
  censor?: string;
  /** Remove the key instead of censoring it. @default false */
  remove?: boolean;
}

/**
 * Paths redacted unless `redactDefaults: false`: credentials at the top level and one level
 * down, and the credential and propagation headers of logged requests and responses (inbound
 * `baggage`/`tracestate` are caller-controlled and are not copied into logs: RELIABILITY T11).
 */
export const DEFAULT_REDACT_PATHS: readonly string[] = Object.freeze([
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'cookie',
  '*.cookie',
  '*.headers.authorization',
  '*.headers["proxy-authorization"]',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  '*.headers.baggage',
  '*.headers.tracestate',
]);

/** Validates `redact` and adds the defaults; `undefined` when there is nothing to redact. */
export function resolveRedact(redact: unknown, defaults: boolean): RedactOptions | undefined {
  let paths: string[] = [];
  const out: Partial<RedactOptions> = {};
  if (Array.isArray(redact)) {
    paths = [...redact];
  } else if (typeof redact === 'object' && redact !== null) {
    const r = redact as RedactOptions;
    if (!Array.isArray(r.paths)) throw new TypeError(`${OWNER}: options.redact.paths must be an array`);
    paths = [...r.paths];
    if (r.censor !== undefined) out.censor = r.censor;
    if (r.remove !== undefined) out.remove = r.remove;
  } else if (redact !== undefined) {
    throw new TypeError(`${OWNER}: options.redact must be an array of paths or { paths }`);
  }
  if (paths.some((p) => typeof p !== 'string')) throw new TypeError(`${OWNER}: redact paths must be strings`);
  if (defaults) paths = [...new Set([...DEFAULT_REDACT_PATHS, ...paths])];
  if (paths.length === 0) return undefined;
  return { ...out, paths };
}
