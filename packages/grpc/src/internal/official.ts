import { Server } from '@grpc/grpc-js';

/**
 * Whether `@opentelemetry/instrumentation-grpc` patched this copy of grpc-js's server: it wraps
 * `Server.prototype.register` (the marker is the `__wrapped` flag its shimmer sets on a wrapper),
 * and every handler registered after that runs inside a SERVER span of its own. Read per call (a
 * property read), so loading or unloading the instrumentation takes effect at once. Never throws.
 */
export function officialServerPatched(): boolean {
  try {
    const register = (Server as unknown as { prototype?: { register?: unknown } }).prototype?.register;
    return typeof register === 'function' && (register as { __wrapped?: unknown }).__wrapped === true;
  } catch {
    return false;
  }
}
