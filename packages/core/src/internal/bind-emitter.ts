import type { EventEmitter } from 'node:events';
import type { Context } from '@opentelemetry/api';
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';

// Runs listeners added to a request's emitters (req.on('data'), res.on('finish')) in the request's
// context, as `context.bind(ctx, emitter)` does, but cheaper per request: instead of creating a
// set of closures and maps for every emitter up front, the emitter gets shared methods (own
// properties, the same functions for every request) and a wrapper is made only when a listener is
// actually added. Listeners added before binding (ours) are untouched.

const CONTEXT = Symbol.for('tracewire.emitter.context');
const WRAPPED = Symbol.for('tracewire.emitter.wrapped');
const ORIGINAL = Symbol.for('tracewire.emitter.original');

type Listener = (...args: unknown[]) => unknown;

interface Methods {
  on: EventEmitter['on'];
  prependListener: EventEmitter['prependListener'];
  removeListener: EventEmitter['removeListener'];
}

interface BoundEmitter extends EventEmitter {
  [CONTEXT]?: Context;
  [WRAPPED]?: Map<Listener, Listener>;
  /** Own methods the emitter had before binding (someone else bound it); usually absent. */
  [ORIGINAL]?: Methods;
}

/** The methods to delegate to: the ones the emitter had before, else its prototype's. */
function base(emitter: BoundEmitter): Methods {
  return emitter[ORIGINAL] ?? Object.getPrototypeOf(emitter);
}

function wrap(emitter: BoundEmitter, listener: Listener): Listener {
  const ctx = emitter[CONTEXT];
  // A non-function is passed through: the emitter itself throws its usual TypeError.
  if (ctx === undefined || typeof listener !== 'function') return listener;
  const original = listener;
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    // Emitted from inside the request (res.end() in a handler, a nextTick of it): already in the
    // context, and entering it again costs a context-frame allocation.
    if (context.active() === ctx) return original.apply(this, args);
    return context.with(ctx, original, this, ...args);
  };
  // `once` wrappers carry the user's function in `.listener`; keeping it lets removeListener(fn)
  // find the entry the way Node does.
  (wrapped as { listener?: unknown }).listener = (original as { listener?: unknown }).listener ?? original;
  let map = emitter[WRAPPED];
  if (map === undefined) {
    // A Map, not a WeakMap: it lives and dies with the emitter (one request), and WeakMaps are
    // ephemerons that cost the GC far more.
    map = new Map();
    emitter[WRAPPED] = map;
  }
  map.set(original, wrapped);
  return wrapped;
}

function unwrap(emitter: BoundEmitter, listener: Listener): Listener {
  return (typeof listener === 'function' && emitter[WRAPPED]?.get(listener)) || listener;
}

// `once` and `prependOnceListener` are not replaced: Node implements them with `this.on` /
// `this.prependListener`, which are.
function on(this: BoundEmitter, event: string | symbol, listener: Listener): BoundEmitter {
  return base(this).on.call(this, event, wrap(this, listener));
}
function prependListener(this: BoundEmitter, event: string | symbol, listener: Listener): BoundEmitter {
  return base(this).prependListener.call(this, event, wrap(this, listener));
}
function removeListener(this: BoundEmitter, event: string | symbol, listener: Listener): BoundEmitter {
  return base(this).removeListener.call(this, event, unwrap(this, listener));
}

const PROBE = ROOT_CONTEXT.setValue(createContextKey('tracewire.probe'), true);
const probeActive = (): boolean => context.active() === PROBE;

// The API's context singleton resolves its manager with `_getContextManager()` (a method of every
// 1.x API, private only in its types). When present it lets the probe below run once per manager
// instead of once per request: the probe enters a context, which costs a context-frame allocation.
const contextApi = context as unknown as { _getContextManager?: () => unknown };
const NOT_PROBED: unique symbol = Symbol('not probed');
let probedManager: unknown = NOT_PROBED;
let probedResult = false;

/**
 * Whether a context manager is registered (contexts actually propagate). Without one, binding would
 * only add cost: the API's no-op manager runs every listener outside any context anyway. Probed
 * again whenever the registered manager changes.
 */
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

/**
 * Makes listeners added to `emitter` from now on run in `ctx`. Idempotent per emitter (a second
 * call only replaces the context). Does nothing when no context manager is registered.
 */
export function bindEmitter(emitter: EventEmitter, ctx: Context): void {
  const e = emitter as BoundEmitter;
  if (e[CONTEXT] !== undefined) {
    e[CONTEXT] = ctx;
    return;
  }
  e[CONTEXT] = ctx;
  if (Object.hasOwn(e, 'on') || Object.hasOwn(e, 'prependListener') || Object.hasOwn(e, 'removeListener')) {
    e[ORIGINAL] = { on: e.on, prependListener: e.prependListener, removeListener: e.removeListener };
  }
  e.on = on;
  e.addListener = on;
  e.prependListener = prependListener;
  e.removeListener = removeListener;
  e.off = removeListener;
}
