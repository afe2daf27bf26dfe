import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';

// Whether entering a context has any effect: without a registered context manager the API's no-op
// manager runs every callback outside any context, so entering one per call event only costs.

const PROBE = ROOT_CONTEXT.setValue(createContextKey('tracewire.grpc.probe'), true);
const probeActive = (): boolean => context.active() === PROBE;

// `_getContextManager()` is a method of every 1.x API context singleton (private only in its
// types): with it the probe runs once per registered manager instead of once per call.
const contextApi = context as unknown as { _getContextManager?: () => unknown };
const NOT_PROBED: unique symbol = Symbol('not probed');
let probedManager: unknown = NOT_PROBED;
let probedResult = false;

/** Whether a context manager is registered (contexts propagate). Probed again when it changes. */
export function hasContextManager(): boolean {
  const getManager = contextApi._getContextManager;
  if (typeof getManager !== 'function') return context.with(PROBE, probeActive);
  const manager = getManager.call(context);
  if (manager !== probedManager) {
    probedResult = context.with(PROBE, probeActive);
    probedManager = manager;
  }
  return probedResult;
}
