import { diag } from '@opentelemetry/api';

/**
 * Rate-limited diagnostics. Bad input comes from the network, so a message per request would let a
 * caller flood the logs (GHSA-5wrp-cwcj-q835); at most one message per key per interval goes to
 * `diag`, the rest are counted and summarised in the next message.
 */
export class RateLimitedDiag {
  readonly #intervalMs: number;
  readonly #prefix: string;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(intervalMs = 60_000, prefix = '@tracewire') {
    this.#intervalMs = intervalMs;
    this.#prefix = prefix;
  }

  debug(key: string, message: string, error?: unknown): void {
    this.#emit('debug', key, message, error);
  }

  warn(key: string, message: string, error?: unknown): void {
    this.#emit('warn', key, message, error);
  }

  error(key: string, message: string, error?: unknown): void {
    this.#emit('error', key, message, error);
  }

  /** Forgets the rate-limit state (tests). */
  reset(): void {
    this.#last.clear();
  }

  #emit(level: 'debug' | 'warn' | 'error', key: string, message: string, error: unknown): void {
    const now = Date.now();
    const entry = this.#last.get(key);
    // A clock that went backwards does not silence a key for good.
    if (entry !== undefined && now - entry.at < this.#intervalMs && now >= entry.at) {
      entry.suppressed++;
      return;
    }
    // The key set is closed (hook names, header names), so this map stays small.
    const suppressed = entry?.suppressed ?? 0;
    this.#last.set(key, { at: now, suppressed: 0 });
    const suffix = suppressed > 0 ? ` (${suppressed} similar messages suppressed)` : '';
    try {
      if (error === undefined) diag[level](`${this.#prefix}: ${message}${suffix}`);
      else diag[level](`${this.#prefix}: ${message}${suffix}`, describe(error));
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
