import { diag } from '@opentelemetry/api';

/**
 * Rate-limited diagnostics. Bad input comes from the network, so a message per request would let a
 * caller flood the logs (GHSA-5wrp-cwcj-q835); at most one message per key per interval goes to
 * `diag`, the rest are counted and summarised in the next message.
 */
export class RateLimitedDiag {
  readonly #intervalMs: number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(intervalMs = 60_000) {
    this.#intervalMs = intervalMs;
  }

  warn(key: string, message: string, error?: unknown): void {
    this.#emit('warn', key, message, error);
  }

  error(key: string, message: string, error?: unknown): void {
    this.#emit('error', key, message, error);
  }

  #emit(level: 'warn' | 'error', key: string, message: string, error: unknown): void {
    const now = Date.now();
    const entry = this.#last.get(key);
    if (entry !== undefined && now - entry.at < this.#intervalMs) {
      entry.suppressed++;
      return;
    }
    // The key set is closed (hook names, header names), so this map stays small.
    const suppressed = entry?.suppressed ?? 0;
    this.#last.set(key, { at: now, suppressed: 0 });
    const suffix = suppressed > 0 ? ` (${suppressed} similar messages suppressed)` : '';
    try {
      if (error === undefined) diag[level](`@tracewire: ${message}${suffix}`);
      else diag[level](`@tracewire: ${message}${suffix}`, describe(error));
    } catch {
      // A throwing diag logger must not reach the request.
    }
  }
}

function describe(error: unknown): string {
  try {
    if (error instanceof Error) return `${error.name}: ${error.message}`;
    return typeof error;
  } catch {
    return 'unprintable error';
  }
}
