import { rateLimitedDiag } from './internal/diag.js';
import { UNDICI_BRIDGE, type UndiciBridge, type UndiciEntry } from './internal/undici-entries.js';

/** undici's `Dispatcher#dispatch(options, handler)`, typed loosely so any undici major fits. */
export type UndiciDispatch = (options: any, handler: any) => boolean;

/** What `Dispatcher#compose()` takes (undici ≥ 6.x): `DispatcherComposeInterceptor`. */
export type UndiciInterceptor = (dispatch: UndiciDispatch) => UndiciDispatch;

// Every handler method undici calls, in both shapes: undici ≥ 7 (`onRequestStart`, `onResponse*`)
// and undici 6 (`onConnect`, `onHeaders`, `onData`, `onComplete`, `onError`, `onUpgrade`). The
// wrapper has exactly the methods the wrapped handler has, so undici's own checks of a handler's
// shape (`WrapHandler.wrap`, `assertRequestHandler`) see what they would have seen without it.
const METHODS = [
  'onRequestStart',
  'onRequestUpgrade',
  'onResponseStart',
  'onResponseData',
  'onResponseEnd',
  'onResponseError',
  'onResponseStarted',
  'onBodySent',
  'onRequestSent',
  'onConnect',
  'onUpgrade',
  'onHeaders',
  'onData',
  'onComplete',
  'onError',
] as const;

const HANDLER = Symbol('tracewire.handler');
const ENTRY = Symbol('tracewire.entry');
const BRIDGE = Symbol('tracewire.bridge');

interface Wrapped {
  [HANDLER]: Record<string, (...args: unknown[]) => unknown>;
  [ENTRY]: UndiciEntry | undefined;
  [BRIDGE]: UndiciBridge;
}

// One prototype per combination of methods present, built once.
const prototypes = new Map<number, object>();

function prototypeFor(mask: number): object {
  const found = prototypes.get(mask);
  if (found !== undefined) return found;
  const proto: Record<string, unknown> = {};
  METHODS.forEach((name, i) => {
    if ((mask & (1 << i)) === 0) return;
    proto[name] = function forward(this: Wrapped, ...args: unknown[]): unknown {
      const entry = this[ENTRY];
      if (entry !== undefined) {
        // The first call: from here on the request either exists or never will.
        this[ENTRY] = undefined;
        this[BRIDGE].settle(entry);
      }
      return this[HANDLER][name]?.(...args);
    };
  });
  prototypes.set(mask, proto);
  return proto;
}

function wrap(handler: Record<string, unknown>, bridge: UndiciBridge, entry: UndiciEntry): Wrapped {
  let mask = 0;
  for (let i = 0; i < METHODS.length; i++) {
    if (typeof handler[METHODS[i] as string] === 'function') mask |= 1 << i;
  }
  const wrapped = Object.create(prototypeFor(mask)) as Wrapped;
  wrapped[HANDLER] = handler as Wrapped[typeof HANDLER];
  wrapped[ENTRY] = entry;
  wrapped[BRIDGE] = bridge;
  return wrapped;
}

/**
 * An undici interceptor that lets tracewire's outgoing HTTP instrumentation (`start()` or
 * `instrumentHttpClient()`) see a request from the moment it enters the dispatcher, before a Pool
 * (or an Agent with `connections`) whose connections are all busy has created it: its CLIENT span
 * starts then, `http.client.connection.wait_time` and the span's
 * `tracewire.http.client.connection.wait_time` include the time spent in the pool's own queue, and
 * `http.client.connection.pending_requests` counts it from then. Compose it onto the dispatcher
 * itself (`Dispatcher#compose`, undici ≥ 6.x, handlers of undici 6 and ≥ 7 alike): it patches
 * nothing. Responses, errors, aborts and retries are those of the bare dispatcher; it never throws
 * into a request, and does nothing while the client instrumentation is not installed (or tracing is
 * suppressed).
 *
 * @example
 * import { Pool, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
 * import { otelUndiciInterceptor } from '@tracewire/node';
 *
 * const payments = new Pool('http://payments.internal', { connections: 2 }).compose(otelUndiciInterceptor());
 * setGlobalDispatcher(getGlobalDispatcher().compose(otelUndiciInterceptor())); // fetch
 */
export function otelUndiciInterceptor(): UndiciInterceptor {
  return function tracewireUndiciInterceptor(dispatch: UndiciDispatch): UndiciDispatch {
    return function tracewireUndiciDispatch(options: any, handler: any): boolean {
      const bridge = (globalThis as Record<symbol, UndiciBridge | undefined>)[UNDICI_BRIDGE];
      if (bridge === undefined || typeof handler !== 'object' || handler === null) {
        return dispatch(options, handler);
      }
      let entry: UndiciEntry | undefined;
      let wrapped: Wrapped | undefined;
      try {
        entry = bridge.enter(options);
        if (entry !== undefined) wrapped = wrap(handler, bridge, entry);
      } catch (error) {
        rateLimitedDiag('warn', 'undici-interceptor', 'tracking a request entering undici failed', error);
        if (entry !== undefined) bridge.dispatched(entry, true);
        entry = undefined;
      }
      if (entry === undefined || wrapped === undefined) return dispatch(options, handler);
      let threw = true;
      try {
        const result = dispatch(options, wrapped);
        threw = false;
        return result;
      } finally {
        bridge.dispatched(entry, threw);
      }
    };
  };
}
