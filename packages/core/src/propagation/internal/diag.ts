import { RateLimitedDiag } from '../../internal/diag.js';

/**
 * The closed set of diagnostic kinds of the propagation code. A closed set keeps the rate-limit map
 * bounded and keeps attacker-controlled text out of log messages (messages are fixed strings).
 */
export type PropagationDiagKind =
  | 'traceparent-invalid'
  | 'tracestate-dropped'
  | 'tracestate-truncated'
  | 'baggage-dropped'
  | 'baggage-truncated'
  | 'baggage-inject-skipped'
  | 'header-write-refused'
  | 'carrier-failed'
  | 'propagator-failed';

/** At most one message per kind per interval. */
export const DIAG_INTERVAL_MS = 60_000;

const limiter = new RateLimitedDiag(DIAG_INTERVAL_MS, '@tracewire/core propagation');

/**
 * Rate-limited diagnostics: header values come from the network, so one message per request would let
 * a client flood the logs. At most one message per kind per minute reaches `diag`; the rest are counted.
 * Remote input problems are `debug` (a restart is the specified outcome, not an error); local problems
 * (a refused header write, a throwing carrier or propagator) are `warn`.
 */
export function rateLimitedDiag(level: 'debug' | 'warn', kind: PropagationDiagKind, message: string): void {
  if (level === 'debug') limiter.debug(kind, message);
  else limiter.warn(kind, message);
}

/** Test hook: forget all rate-limit state. Not exported from the package. */
export function resetPropagationDiag(): void {
  limiter.reset();
}
