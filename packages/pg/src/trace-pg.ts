import { errorMonitor } from 'node:events';
import type { Context } from '@opentelemetry/api';
import { context, diag } from '@opentelemetry/api';
import {
  type AnyFunction,
  ATTR_DB_CLIENT_CONNECTION_POOL_NAME,
  bindToContext,
  callInContext,
  callWithSpan,
  clockNow,
  defineHidden as define,
  endingCallback,
  endWhenSettled,
  isThenable,
  PendingClaim,
  type PoolReading,
  PoolTimer,
  withTraceparentComment,
} from '@tracewire/sql/driver';
import {
  type ConnectionInfo,
  connectionFromClient,
  connectionFromOptions,
  defaultPoolName,
} from './internal/connection.js';
import { isPoolTimeout, read } from './internal/errors-info.js';
import {
  createPgInstrumentation,
  describeQuery,
  type Operation,
  type PgInstrumentation,
} from './internal/instrumentation.js';
import { noteOfficialPgQuery, officialPgInstrumentationActive } from './official.js';
import type { PgInstrumentationOptions } from './options.js';
import { validatePgOptions } from './options.js';

// How the instance is wrapped: own, non-enumerable properties (`query`, and for a pool `connect`
// and `newClient`) that shadow the prototype's methods on this one object. Nothing else changes:
// the prototype, `instanceof pg.Pool`/`pg.Client`, events and every other method are pg's own. The
// originals are called with the caller's `this` and arguments, so return values, callback vs
// promise forms and synchronous throws are pg's.

/** Marks an instrumented instance (a `Symbol.for` key, so two copies of the package agree). */
const INSTRUMENTED = Symbol.for('tracewire.pg.instrumented');
/** Marks a Submittable whose protocol hooks we wrapped. */
const SUBMITTABLE = Symbol.for('tracewire.pg.submittable');
/**
 * The pool.query being called: pg-pool's query calls `this.connect` synchronously, and the client
 * it gets then runs the pool's own client.query, which must not open a second span. The connect
 * wrapper takes the claim from here, and hands it to the client for the duration of the
 * callback in which pg-pool makes that call (no context of its own for it: that is one Map and
 * three closures per query).
 */
const pendingClaim = new PendingClaim<PoolQueryClaim>();
/** A client's claim while pg-pool's connect callback runs (a `Symbol.for` key: copies agree). */
const CLAIM = Symbol.for('tracewire.pg.pool-query-claim');

/** The shape `tracePg` accepts: a `pg.Pool`, `pg.Client` or anything with pg's `query`. */
export interface PgQueryable {
  query: (...args: any[]) => any;
}

interface PoolQueryClaim {
  readonly text: unknown;
  /** When pool.query was called (its wait for a connection starts then). */
  readonly startedAt: number;
}

interface PoolState {
  readonly inst: PgInstrumentation;
  readonly connection: ConnectionInfo;
  readonly timer: PoolTimer;
}

/** The pg-pool counters read at collection time (public getters of pg-pool 3.x). */
interface PoolCounts {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  readonly ended?: boolean;
  readonly options?: { max?: number };
}

/** A pool's counts for the pool metrics; undefined once it is ended. */
function readPool(pool: PoolCounts): PoolReading | undefined {
  if (pool.ended === true) return undefined;
  const total = pool.totalCount;
  const idle = pool.idleCount;
  const max = pool.options?.max;
  return {
    idle,
    used: Math.max(0, total - idle),
    pending: pool.waitingCount,
    max: typeof max === 'number' && Number.isFinite(max) ? max : undefined,
  };
}

function isPool(instance: object): boolean {
  return (
    typeof (instance as { connect?: unknown }).connect === 'function' &&
    'totalCount' in instance &&
    'idleCount' in instance &&
    'waitingCount' in instance
  );
}

/**
 * Instruments one `pg.Pool` or `pg.Client` (only the instance handed in; the `pg` module is never
 * patched) and returns it. Every query gets a CLIENT span that is a child of the caller's span,
 * also when the pool queues the request; pool connections are measured with the database
 * semconv metrics. Calling it twice on the same instance keeps the first instrumentation.
 *
 * @example
 * import pg from 'pg';
 * import { tracePg } from '@tracewire/pg';
 * const pool = tracePg(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 * const { rows } = await pool.query('SELECT * FROM users WHERE id = $1', [id]);
 */
export function tracePg<T extends PgQueryable>(instance: T, options?: PgInstrumentationOptions): T {
  validatePgOptions(options);
  if (typeof instance !== 'object' || instance === null || typeof instance.query !== 'function') {
    throw new TypeError('@tracewire/pg: tracePg expects a pg.Pool or pg.Client instance');
  }
  if ((instance as unknown as Record<symbol, unknown>)[INSTRUMENTED] !== undefined) {
    diag.debug('@tracewire/pg: tracePg was called twice on the same instance; keeping the first');
    return instance;
  }
  const inst = createPgInstrumentation(options);
  if (isPool(instance)) instrumentPool(instance, inst);
  else instrumentClient(instance, inst, connectionFromClient(instance));
  return instance;
}

/** Whether `tracePg` instrumented this pool or client. */
export function isTracedPg(instance: unknown): boolean {
  return (
    typeof instance === 'object' &&
    instance !== null &&
    (instance as Record<symbol, unknown>)[INSTRUMENTED] !== undefined
  );
}

function instrumentClient(client: PgQueryable, inst: PgInstrumentation, connection: ConnectionInfo): void {
  if ((client as unknown as Record<symbol, unknown>)[INSTRUMENTED] !== undefined) return;
  const original = client.query as AnyFunction;
  define(client, INSTRUMENTED, inst);
  define(client, CLAIM, undefined);
  define(client, 'query', function query(this: unknown, ...args: unknown[]): unknown {
    return tracedClientQuery(inst, original, this, connection, args);
  });
}

function tracedClientQuery(
  inst: PgInstrumentation,
  original: AnyFunction,
  self: unknown,
  connection: ConnectionInfo,
  args: unknown[],
): unknown {
  const config = args[0];
  // pg throws synchronously for these; let it, untouched.
  if (config === null || config === undefined) return original.apply(self, args);
  // instrumentation-pg makes this query's CLIENT span: no second one (official.ts).
  if (officialPgInstrumentationActive(self, original)) {
    noteOfficialPgQuery();
    return original.apply(self, args);
  }
  const claim =
    typeof self === 'object' && self !== null
      ? (self as Record<symbol, PoolQueryClaim | undefined>)[CLAIM]
      : undefined;
  if (claim !== undefined && claim.text === config) {
    // pool.query's own call: its span is already open.
    (self as Record<symbol, unknown>)[CLAIM] = undefined;
    return original.apply(self, args);
  }
  const caller = context.active();

  let op: Operation;
  let callArgs = args;
  let mode: 'submittable' | 'callback' | 'promise';
  try {
    const submittable = typeof read(config, 'submit') === 'function';
    op = inst.start(caller, describeQuery(config, args[1]), connection);
    if (submittable) {
      mode = 'submittable';
      observeSubmittable(config as object, op, inst);
      callArgs = bindCallbackArgs(args, caller);
    } else {
      const bound = wrapCallbackArgs(args, op, caller);
      mode = bound === undefined ? 'promise' : 'callback';
      callArgs = bound ?? args;
      if (inst.options.sqlCommenter === true) callArgs = withTraceparentComment(callArgs, op.span);
    }
  } catch (error) {
    inst.diag.error('query', 'could not instrument a query; it runs untraced', error);
    return original.apply(self, args);
  }
  const result = callWithSpan(op, caller, original, self, callArgs);
  if (mode === 'promise') endWhenSettled(inst, op, result, 'client.query');
  return result;
}

/**
 * Finds the callback pg will use (3rd argument, else a function 2nd argument, else
 * `config.callback`, the precedence of pg's `normalizeQueryConfig`) and replaces it with one that
 * ends the span first, then runs the user's callback in the caller's context. Returns undefined
 * for the promise form. A non-function callback is left alone: pg throws its own TypeError.
 */
function wrapCallbackArgs(args: unknown[], op: Operation, caller: Context): unknown[] | undefined {
  const wrap = (cb: AnyFunction): AnyFunction => endingCallback(op, caller, cb);
  if (args.length >= 3 && args[2]) {
    if (typeof args[2] !== 'function') return undefined;
    const out = [...args];
    out[2] = wrap(args[2] as AnyFunction);
    return out;
  }
  if (typeof args[1] === 'function') {
    const out = [...args];
    out[1] = wrap(args[1] as AnyFunction);
    return out;
  }
  const config = args[0];
  if (typeof config === 'object' && config !== null) {
    const cb = read(config, 'callback');
    if (typeof cb === 'function') {
      // The same shallow clone pg makes itself (same prototype, same own properties).
      const clone = Object.defineProperties(
        Object.create(Object.getPrototypeOf(config)),
        Object.getOwnPropertyDescriptors(config),
      ) as Record<string, unknown>;
      clone.callback = wrap(cb as AnyFunction);
      const out = [...args];
      out[0] = clone;
      return out;
    }
  }
  return undefined;
}

/** For a Submittable, a callback given as argument still runs in the caller's context. */
function bindCallbackArgs(args: unknown[], caller: Context): unknown[] {
  const i = args.length >= 3 && typeof args[2] === 'function' ? 2 : typeof args[1] === 'function' ? 1 : -1;
  if (i < 0) return args;
  const out = [...args];
  out[i] = bindToContext(caller, args[i] as AnyFunction);
  return out;
}

/**
 * A Submittable (pg.Query, pg-cursor, pg-query-stream) is driven by the client through its
 * protocol methods: its span ends when the server says the query is over (`handleReadyForQuery`),
 * on `handleError`, or when a stream closes (destroyed early). Rows are counted on the way. The
 * methods are wrapped as own properties of that one object; errors are observed, never handled
 * (`errorMonitor`), so an unhandled stream error stays the app's, as without tracing.
 */
function observeSubmittable(submittable: object, op: Operation, inst: PgInstrumentation): void {
  const s = submittable as Record<PropertyKey, unknown>;
  if (s[SUBMITTABLE] !== undefined) {
    inst.diag.warn('submittable', 'a Submittable was submitted twice; only the first is traced');
    op.end(undefined);
    return;
  }
  define(s, SUBMITTABLE, true);
  const wrapMethod = (name: string, before: (args: unknown[]) => void, after: (args: unknown[]) => void) => {
    const method = s[name];
    if (typeof method !== 'function') return;
    define(s, name, function (this: unknown, ...args: unknown[]): unknown {
      before(args);
      try {
        return (method as AnyFunction).apply(this, args);
      } finally {
        after(args);
      }
    });
  };
  const noop = (): void => {};
  wrapMethod(
    'handleDataRow',
    () => {
      op.rows++;
    },
    noop,
  );
  wrapMethod('handleReadyForQuery', noop, () => op.end(undefined));
  wrapMethod('handleError', noop, (args) => op.end(args[0] ?? new Error('query failed')));
  const emitter = s as { once?: unknown; on?: unknown };
  if (typeof emitter.once === 'function' && typeof s.destroy === 'function') {
    try {
      (emitter.once as AnyFunction).call(s, 'close', () => op.end(undefined));
      (emitter.on as AnyFunction).call(s, errorMonitor, (error: unknown) => op.end(error));
    } catch (error) {
      inst.diag.warn('submittable-events', 'could not observe a Submittable stream', error);
    }
  }
}

function instrumentPool(pool: PgQueryable, inst: PgInstrumentation): void {
  const p = pool as PgQueryable & Record<string, unknown>;
  const connection = connectionFromOptions(read(p, 'options'));
  const name = inst.options.poolName ?? defaultPoolName(connection);
  const timer = new PoolTimer(inst, { [ATTR_DB_CLIENT_CONNECTION_POOL_NAME]: name });
  const state: PoolState = { inst, connection, timer };
  define(p, INSTRUMENTED, inst);
  try {
    inst.metrics.observePool(pool as unknown as PoolCounts, readPool, timer.attributes);
  } catch (error) {
    inst.diag.error('metrics', 'could not register the pool metrics', error);
  }

  const originalConnect = p.connect as AnyFunction;
  define(p, 'connect', function connect(this: unknown, ...args: unknown[]): unknown {
    return tracedConnect(state, originalConnect, this, args);
  });

  const originalQuery = p.query as AnyFunction;
  define(p, 'query', function query(this: unknown, ...args: unknown[]): unknown {
    return tracedPoolQuery(state, originalQuery, this, args);
  });

  // create_time: from pg-pool's `newClient` (it creates and connects one client, synchronously
  // adding it to `_clients`) to the pool's 'connect' event for that client.
  const originalNewClient = p.newClient;
  if (typeof originalNewClient === 'function') {
    define(p, 'newClient', function newClient(this: unknown, ...args: unknown[]): unknown {
      const startedAt = clockNow();
      const result = (originalNewClient as AnyFunction).apply(this, args);
      try {
        const clients = read(this, '_clients');
        const client = Array.isArray(clients) ? clients[clients.length - 1] : undefined;
        if (typeof client === 'object' && client !== null) timer.creating(client, startedAt);
      } catch {
        // Another pg-pool layout: no create_time.
      }
      return result;
    });
  }
  const on = p.on;
  if (typeof on === 'function') {
    try {
      (on as AnyFunction).call(p, 'connect', (client: object) => timer.created(client));
      (on as AnyFunction).call(p, 'acquire', (client: object) => timer.acquired(client));
      (on as AnyFunction).call(p, 'release', (_error: unknown, client: object) => timer.returned(client));
    } catch (error) {
      inst.diag.warn('pool-events', 'could not observe pool events', error);
    }
  }
}

/**
 * pool.connect: measures the wait, counts timeouts, instruments the client handed out, and runs
 * the callback in the caller's context. Without this binding a queued callback runs in the
 * context of whichever query released the connection (brianc/node-postgres#2533).
 */
function tracedConnect(state: PoolState, original: AnyFunction, self: unknown, args: unknown[]): unknown {
  const caller = context.active();
  // pool.query's own connect (synchronous in pg-pool's query): its client's query is claimed.
  const claim = pendingClaim.take();
  const startedAt = claim !== undefined ? claim.startedAt : clockNow();
  let settled = false;
  const settle = (error: unknown, client: unknown): void => {
    if (settled) return;
    settled = true;
    try {
      state.timer.waited(startedAt, error !== undefined && error !== null && isPoolTimeout(error));
      if (typeof client === 'object' && client !== null && typeof read(client, 'query') === 'function') {
        instrumentClient(client as PgQueryable, state.inst, state.connection);
      }
    } catch (e) {
      state.inst.diag.error('connect', 'could not instrument a pool connection', e);
    }
  };
  const cb = args[0];
  if (typeof cb === 'function') {
    const out = [...args];
    out[0] = function tracedConnectCallback(this: unknown, ...cbArgs: unknown[]): unknown {
      settle(cbArgs[0], cbArgs[1]);
      const client = cbArgs[1];
      if (claim === undefined || typeof client !== 'object' || client === null)
        return callInContext(caller, cb as AnyFunction, this, cbArgs);
      const c = client as Record<symbol, unknown>;
      c[CLAIM] = claim;
      try {
        return callInContext(caller, cb as AnyFunction, this, cbArgs);
      } finally {
        c[CLAIM] = undefined;
      }
    };
    return original.apply(self, out);
  }
  const result = original.apply(self, args);
  if (isThenable(result)) {
    try {
      result.then(
        (client) => settle(undefined, client),
        (error: unknown) => settle(error ?? new Error('rejected'), undefined),
      );
    } catch (error) {
      state.inst.diag.warn('then', 'pool.connect did not return a usable promise', error);
    }
  }
  return result;
}

/**
 * pool.query: one span from the call (so it covers waiting for a connection, and exists even when
 * none is ever obtained) to the result. The pool then calls `client.query` on its own client with
 * the same text: the claim (see `pendingClaim`) lets that call through without a second span.
 */
function tracedPoolQuery(state: PoolState, original: AnyFunction, self: unknown, args: unknown[]): unknown {
  const text = args[0];
  const inst = state.inst;
  // Invalid calls (pg-pool reports them itself) and Submittables (traced by the client wrapper,
  // where their protocol methods are) go straight through.
  if (
    text === null ||
    text === undefined ||
    typeof text === 'function' ||
    typeof read(text, 'submit') === 'function' ||
    officialPgInstrumentationActive(self, undefined)
  ) {
    return original.apply(self, args);
  }
  const caller = context.active();
  let op: Operation;
  let callArgs = args;
  let mode: 'callback' | 'promise';
  try {
    op = inst.start(caller, describeQuery(text, args[1]), state.connection);
    if (inst.options.sqlCommenter === true) callArgs = withTraceparentComment(callArgs, op.span);
    // pg-pool: a function 2nd argument is the callback; else the 3rd.
    const cbIndex = typeof args[1] === 'function' ? 1 : typeof args[2] === 'function' ? 2 : -1;
    if (cbIndex >= 0) {
      const out = [...callArgs];
      out[cbIndex] = endingCallback(op, caller, args[cbIndex] as AnyFunction);
      callArgs = out;
      mode = 'callback';
    } else {
      mode = 'promise';
    }
  } catch (error) {
    inst.diag.error('query', 'could not instrument a pool query; it runs untraced', error);
    return original.apply(self, args);
  }
  const claim: PoolQueryClaim = { text: callArgs[0], startedAt: op.startedAt };
  const result = pendingClaim.callWithSpan(claim, op, caller, original, self, callArgs);
  if (mode === 'promise') endWhenSettled(inst, op, result, 'pool.query');
  return result;
}
