import { diag } from '@opentelemetry/api';

/**
 * Rate-limited diagnostics through the OpenTelemetry `diag` logger: at most one message per key
 * per interval, the rest counted and summarised in the next one. A logger that fails on every
 * record (a broken destination, a throwing serializer) must not flood anything, and the library
 * never prints on its own.
 */
export class RateLimitedDiag {
  readonly #intervalMs: number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(intervalMs = 60_000) {
    this.#intervalMs = intervalMs;
  }

  warn(key: string, message: string, error?: unknown): void {
    const now = Date.now();
    const entry = this.#last.get(key);
    if (entry !== undefined && now - entry.at < this.#intervalMs) {
      entry.suppressed++;
      return;
    }
    // Keys are a closed set of call sites, so the map stays small.
    this.#last.set(key, { at: now, suppressed: 0 });
    const suppressed = entry?.suppressed ?? 0;
    const suffix = suppressed > 0 ? ` (${suppressed} similar messages suppressed)` : '';
    try {
      diag.warn(`@tracewire/logger: ${message}${suffix}`, describe(error));
    } catch {
      // A throwing diag logger must not reach the application.
    }
  }
}

function describe(error: unknown): string {
  try {
    if (error === undefined) return '';
    if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 500);
    return typeof error;
  } catch {
    return 'unprintable error';
  }
}

/** The diagnostics channel shared by the package. */
export const logDiag: RateLimitedDiag = new RateLimitedDiag();
