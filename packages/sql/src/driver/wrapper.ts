// Plumbing every driver wrapper needs around the driver's own methods: hidden own properties,
// callbacks that end the query's telemetry and run in the caller's context, the span active while
// the driver is called, promise results, sqlcommenter, and the pool's connection timings.

import type { Attributes, Context, Span } from '@opentelemetry/api';
import { context } from '@opentelemetry/api';
import { traceResponseHeaderValue } from '@tracewire/core';
import type { AnySqlInstrumentation, SqlOperation } from './instrumentation.js';

// `performance` is a lazy global of Node (a getter and a receiver check on every read): read once.
const clock = performance;

/**
 * `clock.now()`, without reading the global each time (where durations start and end).
 *
 * @example
 * const startedAt = clockNow(); // ... (clockNow() - startedAt) / 1000 seconds later
 */
export function clockNow(): number {
  return clock.now();
}

/** Any function, called with the caller's `this` and arguments. */
export type AnyFunction = (...args: unknown[]) => unknown;

/** Defines an own, non-enumerable, writable property (how wrappers shadow a driver's methods). */
export function defineHidden(target: object, key: PropertyKey, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}

/** Whether `v` has a callable `then`. */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

/** `cb`, run in `caller`'s context whoever calls it. */
export function bindToContext(caller: Context, cb: AnyFunction): AnyFunction {
  return function tracedBoundCallback(this: unknown, ...args: unknown[]): unknown {
    return callInContext(caller, cb, this, args);
  };
}

/** `cb.apply(self, args)` in `ctx`; without a context switch when `ctx` is already the active one. */
export function callInContext(ctx: Context, cb: AnyFunction, self: unknown, args: unknown[]): unknown {
  if (context.active() === ctx) return cb.apply(self, args);
  return context.with(ctx, Reflect.apply, undefined, cb, self, args);
}

/**
 * The callback handed to the driver in place of `cb`: it ends the operation with what the driver
 * reports (`error, result, fields`), then runs `cb` in the caller's context (a pooled connection's
 * socket callbacks run in whichever context opened it).
 */
export function endingCallback(op: SqlOperation, caller: Context, cb: AnyFunction): AnyFunction {
  return function tracedQueryCallback(this: unknown, ...args: unknown[]): unknown {
    op.end(args[0], args[1], args[2]);
    return callInContext(caller, cb, this, args);
  };
}

/**
 * Calls the driver's `original` with the operation's span active in `caller`'s context (and
 * `key` set to `value`, when given). A synchronous throw ends the operation and is rethrown
 * unchanged.
 */
export function callWithSpan(
  op: SqlOperation,
  caller: Context,
  original: AnyFunction,
  self: unknown,
  args: unknown[],
  key?: symbol,
  value?: unknown,
): unknown {
  let active = op.activeIn(caller);
  if (key !== undefined) active = active.setValue(key, value);
  try {
    // `caller` is the active context (the wrapper just read it): no switch needed for it.
    if (active === caller) return original.apply(self, args);
    return context.with(active, Reflect.apply, undefined, original, self, args);
  } catch (error) {
    op.end(error);
    throw error;
  }
}

/**
 * The claim of a pool's query on the call the pool then makes on its connection (which must not
 * open a second span). Pools that take a connection synchronously inside their query (pg-pool's
 * `connect`, mysql2's `getConnection`) let the driver wrapper carry the claim without a context
 * of its own: pending while the pool's query runs, taken by the connect wrapper it calls.
 *
 * @example
 * const claims = new PendingClaim<{ text: unknown }>();
 * claims.callWithSpan({ text }, op, caller, poolQuery, pool, args); // pool.query
 * const claim = claims.take(); // in the connect wrapper, synchronously inside it
 */
export class PendingClaim<T> {
  private current: T | undefined = undefined;

  /** {@link callWithSpan}, with `claim` pending while the driver's call runs. */
  callWithSpan(
    claim: T,
    op: SqlOperation,
    caller: Context,
    original: AnyFunction,
    self: unknown,
    args: unknown[],
  ): unknown {
    this.current = claim;
    try {
      return callWithSpan(op, caller, original, self, args);
    } finally {
      this.current = undefined;
    }
  }

  /** The pending claim, if any, taken: only the first call made inside the query gets it. */
  take(): T | undefined {
    const claim = this.current;
    this.current = undefined;
    return claim;
  }
}

/** Promise form: ends the operation when `result` settles (at once if it is not a promise). */
export function endWhenSettled(
  inst: AnySqlInstrumentation,
  op: SqlOperation,
  result: unknown,
  what: string,
): void {
  if (!isThenable(result)) {
    op.end(undefined, result);
    return;
  }
  try {
    result.then(
      (value) => op.end(undefined, value),
      (error: unknown) => op.end(error ?? new Error('rejected')),
    );
  } catch (error) {
    inst.diag.warn('then', `${what} did not return a usable promise`, error);
    op.end(undefined);
  }
}

/** sqlcommenter: `/*traceparent='…'*\/` before the text in `args[0]`, when it is a string. */
export function withTraceparentComment(args: unknown[], span: Span | undefined): unknown[] {
  const text = args[0];
  if (typeof text !== 'string' || span === undefined) return args;
  const value = traceResponseHeaderValue(span.spanContext());
  if (value === undefined) return args;
  const out = [...args];
  out[0] = `/*traceparent='${value}'*/ ${text}`;
  return out;
}

/**
 * The connection timings of one pool (`db.client.connection.create_time`, `.wait_time`,
 * `.use_time`, `.timeouts`), under its pool-name attributes. The driver wrapper says when a
 * connection starts being created, is created, is handed out and comes back.
 */
export class PoolTimer {
  readonly inst: AnySqlInstrumentation;
  readonly attributes: Attributes;
  private readonly _acquiredAt = new WeakMap<object, number>();
  private readonly _createdAt = new WeakMap<object, number>();

  constructor(inst: AnySqlInstrumentation, attributes: Attributes) {
    this.inst = inst;
    this.attributes = attributes;
  }

  /** Records the time since `startedAt` (a `clockNow()`) into one of the pool histograms; returns now. */
  record(instrument: 'createTime' | 'useTime' | 'waitTime', startedAt: number): number {
    const now = clock.now();
    try {
      this.inst.metrics.get()[instrument].record((now - startedAt) / 1000, this.attributes);
    } catch (error) {
      this.inst.diag.error('metrics', 'could not record a pool metric', error);
    }
    return now;
  }

  /**
   * A request for a connection ended after waiting since `startedAt`; `timedOut`: the pool gave
   * up. Returns the time it ended (where a use time starts).
   */
  waited(startedAt: number, timedOut: boolean): number {
    const now = this.record('waitTime', startedAt);
    if (timedOut) {
      try {
        this.inst.metrics.get().timeouts.add(1, this.attributes);
      } catch (error) {
        this.inst.diag.error('metrics', 'could not record a pool metric', error);
      }
    }
    return now;
  }

  /** A new connection started being created at `startedAt` (the first start counts). */
  creating(connection: object, startedAt: number): void {
    if (!this._createdAt.has(connection)) this._createdAt.set(connection, startedAt);
  }

  /** A connection is now connected: its create time ends. */
  created(connection: object): void {
    const startedAt = this._createdAt.get(connection);
    if (startedAt === undefined) return;
    this._createdAt.delete(connection);
    this.record('createTime', startedAt);
  }

  /** A connection was handed out: its use time starts. */
  acquired(connection: object): void {
    this._acquiredAt.set(connection, clock.now());
  }

  /** A connection went back to the pool (or away): its use time ends. */
  returned(connection: unknown): void {
    if (typeof connection !== 'object' || connection === null) return;
    const acquiredAt = this._acquiredAt.get(connection);
    if (acquiredAt === undefined) return;
    this._acquiredAt.delete(connection);
    this.record('useTime', acquiredAt);
  }
}
