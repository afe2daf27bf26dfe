// Requests that entered an undici dispatcher through `otelUndiciInterceptor()` and whose undici
// `Request` (and so its `undici:request:create` event) does not exist yet: a Pool (or an Agent with
// `connections`) whose connections are all busy keeps them in a queue of its own first.
//
// How an entry finds its request: undici creates the `Request` from the very `opts` the interceptor
// passed on, but keeps neither that object nor anything that identifies it, and publishes only the
// `Request`. Its `origin`, `method` and `path` come from those `opts`. A request created while its
// own `dispatch()` runs (a connection was free) takes its own entry, handed over synchronously.
// Otherwise a Pool hands queued requests to its connections in the order they came (`FixedQueue`,
// first in first out), so the `undici:request:create` event takes the oldest waiting entry with the
// same method, path (without the query) and origin. Two identical requests waiting at once are
// interchangeable for that; a
// request that never gets created (aborted in the queue, the pool destroyed, answered by a cache
// interceptor below) gives its entry up on the first call to its handler, or when its `dispatch()`
// throws.
import type { Context } from '@opentelemetry/api';
import type { DestinationStats } from './destinations.js';

/**
 * Where the interceptor (of any copy of `@tracewire/node`) finds the installed client
 * instrumentation. Versioned: a different shape gets a different key.
 */
export const UNDICI_BRIDGE: unique symbol = Symbol.for('tracewire.node.undiciBridge.v1');

/** Entries waiting at once, across destinations, beyond which new requests are not tracked. */
export const MAX_UNDICI_ENTRIES = 10_000;

/** A request as the interceptor saw it enter the dispatcher. */
export interface UndiciEntry {
  /** `performance.now()` when it entered. */
  readonly start: number;
  /** The caller's context: the span's parent (the Pool later creates it from another callback). */
  readonly ctx: Context;
  /** `new URL(opts.origin).origin`, or undefined when the dispatcher fills it in itself. */
  readonly origin: string | undefined;
  /** `METHOD path-without-query`. */
  readonly key: string;
  /** Counted in `entered` (and `deferred`) of this destination; undefined without an origin. */
  readonly dest: DestinationStats | undefined;
  /** 0 waiting, 1 its request was created, 2 given up. */
  state: 0 | 1 | 2;
  /** Still waiting when its `dispatch()` returned: it sits in a dispatcher's queue. */
  deferred: boolean;
}

/** What the interceptor calls; implemented by `instrumentHttpClient()`. Methods never throw. */
export interface UndiciBridge {
  /** A request enters: the entry to carry, or undefined to leave this request alone. */
  enter(opts: unknown): UndiciEntry | undefined;
  /** Its `dispatch()` returned (`threw`: or threw). */
  dispatched(entry: UndiciEntry, threw: boolean): void;
  /** Its handler was called for the first time: the request was created already, or never will be. */
  settle(entry: UndiciEntry): void;
}

/** `METHOD path` without the query (undici appends `opts.query` to the path it keeps). */
export function entryKey(method: unknown, path: unknown): string {
  const p = typeof path === 'string' ? path : '';
  const q = p.indexOf('?');
  return `${typeof method === 'string' ? method : ''} ${q === -1 ? p : p.slice(0, q)}`;
}

/** The waiting entries, oldest first per key. */
export class UndiciEntries {
  private readonly byKey = new Map<string, UndiciEntry[]>();
  /** Entries whose `dispatch()` is running, innermost last. */
  private readonly dispatching: UndiciEntry[] = [];
  size = 0;

  /** A request entered and its `dispatch()` starts. */
  add(entry: UndiciEntry): void {
    const list = this.byKey.get(entry.key);
    if (list === undefined) this.byKey.set(entry.key, [entry]);
    else list.push(entry);
    this.size++;
    if (entry.dest !== undefined) entry.dest.entered++;
    this.dispatching.push(entry);
  }

  /** Its `dispatch()` returned (or threw). */
  leave(entry: UndiciEntry): void {
    const stack = this.dispatching;
    if (stack[stack.length - 1] === entry) stack.pop();
    else {
      const index = stack.lastIndexOf(entry);
      if (index !== -1) stack.splice(index, 1);
    }
  }

  /** The waiting entry of a created request, now `created`. */
  take(origin: unknown, method: unknown, path: unknown): UndiciEntry | undefined {
    const key = entryKey(method, path);
    const list = this.byKey.get(key);
    if (list === undefined) return undefined;
    const matches = (e: UndiciEntry): boolean =>
      e.state === 0 && e.key === key && (e.origin === undefined || e.origin === origin);
    // Created inside its own dispatch(): that entry, whatever waits in other queues.
    let index = -1;
    for (let i = this.dispatching.length - 1; i >= 0 && index === -1; i--) {
      const current = this.dispatching[i] as UndiciEntry;
      if (matches(current)) index = list.indexOf(current);
    }
    if (index === -1) index = list.findIndex(matches);
    if (index === -1) return undefined;
    const entry = list[index] as UndiciEntry;
    this.remove(list, index, key);
    entry.state = 1;
    return entry;
  }

  /** Gives a waiting entry up (its request will never be created). */
  drop(entry: UndiciEntry): void {
    if (entry.state !== 0) return;
    entry.state = 2;
    const list = this.byKey.get(entry.key);
    const index = list === undefined ? -1 : list.indexOf(entry);
    if (list !== undefined && index !== -1) this.remove(list, index, entry.key);
  }

  private remove(list: UndiciEntry[], index: number, key: string): void {
    const entry = list[index] as UndiciEntry;
    if (index === 0) list.shift();
    else list.splice(index, 1);
    if (list.length === 0) this.byKey.delete(key);
    this.size--;
    const dest = entry.dest;
    if (dest === undefined) return;
    dest.entered--;
    if (entry.deferred) dest.deferred--;
  }

  /** The entry's `dispatch()` returned while it still waits: it is in a dispatcher's queue. */
  defer(entry: UndiciEntry): void {
    if (entry.state !== 0 || entry.deferred) return;
    entry.deferred = true;
    if (entry.dest !== undefined) entry.dest.deferred++;
  }
}
