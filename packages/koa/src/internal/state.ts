import type { ServerRequest } from '@tracewire/core';
import { OTEL_STATE_KEY } from '../state.js';

/**
 * Defines `ctx.state.otel`: non-enumerable (template engines that spread `ctx.state` into locals
 * and JSON loggers do not see the span) and writable (the application may replace it).
 */
export function exposeOnState(state: unknown, request: ServerRequest): void {
  if (typeof state !== 'object' || state === null) return;
  try {
    Object.defineProperty(state, OTEL_STATE_KEY, {
      value: request,
      enumerable: false,
      writable: true,
      configurable: true,
    });
  } catch {
    // A frozen or exotic state object: getKoaServerRequest(ctx) still works.
  }
}
