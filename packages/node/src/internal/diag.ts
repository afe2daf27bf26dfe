import { RateLimitedDiag } from '@tracewire/core';

const limiter = new RateLimitedDiag(60_000, '@tracewire/node');

/** One message per key per minute through `diag`; never throws. */
export function rateLimitedDiag(
  level: 'debug' | 'warn' | 'error',
  key: string,
  message: string,
  error?: unknown,
): void {
  limiter[level](key, message, error);
}
