import type { ServerRequest } from '@tracewire/core';
import { OTEL_STATE_KEY } from '../state.js';

// One descriptor object for every request: only its value changes (and is cleared right after, so
// that it never holds a request). Saves building a four-property object per request.
const descriptor: PropertyDescriptor = {
  value: undefined,
  enumerable: false,
  writable: true,
  configurable: true,
};

/**
 * Defines `ctx.state.otel`: non-enumerable (template engines that spread `ctx.state` into locals
 * and JSON loggers do not see the span) and writable (the application may replace it).
 */
export function exposeOnState(state: unknown, request: ServerRequest): void {
  if (typeof state !== 'object' || state === null) return;
  descriptor.value = request;
  try {
    Object.defineProperty(state, OTEL_STATE_KEY, descriptor);
  } catch {
    // A frozen or exotic state object: getKoaServerRequest(ctx) still works.
  } finally {
    descriptor.value = undefined;
  }
}
