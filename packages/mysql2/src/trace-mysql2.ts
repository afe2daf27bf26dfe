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
  PendingClaim,
  type PoolReading,
  PoolTimer,
  withTraceparentComment,
} from '@tracewire/sql/driver';
import { type ConnectionInfo, connectionFromConfig, defaultPoolName } from './internal/connection.js';
import { read } from './internal/errors-info.js';
import {
  createMysql2Instrumentation,
  describeQuery,
  type Mysql2Instrumentation,
  type Operation,
} from './internal/instrumentation.js';
import type { Mysql2InstrumentationOptions } from './options.js';
import { validateMysql2Options } from './options.js';

// How the instance is wrapped: own, non-enumerable properties (`query` and `execute`; on a pool
// also `getConnection`; on a pooled connection `release` and `destroy`; on a cluster `add`) that
// shadow the prototype's methods on that one object. Nothing else changes: the prototype,
// `instanceof`, events, streams and every other method are mysql2's own. The originals are called
// with the caller's `this` and arguments, so return values (the Query/Execute command objects,
// with `.stream()`), callback forms and synchronous throws are mysql2's. The `mysql2/promise`
// wrappers call the callback objects they hold (`promisePool.pool`, `promiseConnection.connection`,
// `promiseCluster.poolCluster`) through these same properties, so wrapping those traces both APIs.

/** Marks an instrumented core object (a `Symbol.for` key, so two copies of the package agree). */
const INSTRUMENTED = Symbol.for('tracewire.mysql2.instrumented');
/** A pooled connection's ConnectionState. */
const STATE = Symbol.for('tracewire.mysql2.connection-state');
/** Marks getConnection callbacks already bound to their caller's context (mysql2 re-submits them). */
const BOUND = Symbol.for('tracewire.mysql2.bound-callback');
/**
 * The pool.query or pool.execute being called. mysql2's pool calls `getConnection` synchronously
 * in both, then, in its callback, `connection.query(command)` or `connection.execute(sql, ...)`,
 * which must not open a second span: the getConnection wrapper takes the claim from here and
 * hands it to the connection for the duration of that callback. (No WeakMap entry or context of
 * its own per query.)
 */
const pendingClaim = new PendingClaim<PoolClaim>();

/**
 * What `traceMysql2` accepts: a mysql2 `Pool`, `Connection`, `PoolConnection` or `PoolCluster`, or
 * their `mysql2/promise` counterparts.
 */
export type Mysql2Traceable = object;

/** What a pool's own call on its connection looks like. */
interface PoolClaim {
  readonly method: 'query' | 'execute';
  /** execute: the text (mysql2 passes it on as it came). */
  readonly sql: unknown;
  /** query: the Query command pool.query created and returned. */
  command: object | undefined;
  /** An event-mode operation (the connection must end it if it dies). */
  readonly events: Operation | undefined;
  /** When the pool's call was made (its wait for a connection starts then). */
  readonly startedAt: number;
}

interface PoolState {
  readonly inst: Mysql2Instrumentation;
  readonly info: ConnectionInfo;
  readonly timer: PoolTimer;
}

interface ConnectionState {
  readonly inst: Mysql2Instrumentation;
  readonly info: ConnectionInfo;
  /** Event-mode operations in flight (no callback): ended if the connection dies under them. */
  readonly open: Set<Operation>;
  /** The pool's own call to come, while the pool's getConnection callback runs. */
  claim: PoolClaim | undefined;
  /** When a pooled connection was handed out (its use time runs until release or destroy). */
  acquiredAt: number | undefined;
}

type Target =
  | { kind: 'pool'; core: object }
  | { kind: 'connection'; core: object }
  | { kind: 'cluster'; core: object };

const fn = (o: unknown, key: string): boolean => typeof read(o, key) === 'function';

function isCorePool(o: unknown): boolean {
  return (
    fn(o, 'getConnection') &&
    fn(o, 'query') &&
    fn(o, 'releaseConnection') &&
    typeof read(read(o, 'config'), 'connectionConfig') === 'object'
  );
}
function isCoreCluster(o: unknown): boolean {
  return fn(o, 'of') && fn(o, 'add') && fn(o, 'getConnection') && typeof read(o, '_nodes') === 'object';
}
function isCoreConnection(o: unknown): boolean {
  return fn(o, 'query') && fn(o, 'execute') && fn(o, 'addCommand');
}

/** The callback object to instrument: the instance itself, or what a promise wrapper holds. */
function targetOf(instance: object): Target | undefined {
  const promisePool = read(instance, 'pool');
  if (isCorePool(promisePool)) return { kind: 'pool', core: promisePool as object };
  const promiseCluster = read(instance, 'poolCluster');
  if (isCoreCluster(promiseCluster)) return { kind: 'cluster', core: promiseCluster as object };
  if (isCorePool(instance)) return { kind: 'pool', core: instance };
  if (isCoreCluster(instance)) return { kind: 'cluster', core: instance };
  if (isCoreConnection(instance)) return { kind: 'connection', core: instance };
  const promiseConnection = read(instance, 'connection');
  if (isCoreConnection(promiseConnection)) return { kind: 'connection', core: promiseConnection as object };
  return undefined;
}

const instrumented = (o: object): boolean => (o as Record<symbol, unknown>)[INSTRUMENTED] !== undefined;

/**
 * Instruments one mysql2 pool, connection or pool cluster (only the instance handed in, or the
 * callback object a `mysql2/promise` wrapper holds; the `mysql2` module is never patched) and
 * returns it. Every `query` and `execute` gets a CLIENT span that is a child of the caller's
 * span, also when the pool queues the request; pools report the database semconv pool metrics.
 * Calling it twice on the same instance keeps the first instrumentation.
 *
 * @example
 * import mysql from 'mysql2/promise';
 * import { traceMysql2 } from '@tracewire/mysql2';
 * const pool = traceMysql2(mysql.createPool({ uri: process.env.DATABASE_URL, connectionLimit: 10 }));
 * const [rows] = await pool.execute('SELECT * FROM users WHERE id = ?', [id]); // span "SELECT users"
 */
export function traceMysql2<T extends Mysql2Traceable>(
  instance: T,
  options?: Mysql2InstrumentationOptions,
): T {
  validateMysql2Options(options);
  const target = typeof instance === 'object' && instance !== null ? targetOf(instance) : undefined;
  if (target === undefined) {
    throw new TypeError(
      '@tracewire/mysql2: traceMysql2 expects a mysql2 Pool, Connection or PoolCluster (callback or promise API)',
    );
  }
  if (instrumented(target.core)) {
    diag.debug('@tracewire/mysql2: traceMysql2 was called twice on the same instance; keeping the first');
    return instance;
  }
  const inst = createMysql2Instrumentation(options);
  if (target.kind === 'pool') instrumentPool(target.core, inst, inst.options.poolName);
  else if (target.kind === 'cluster') instrumentCluster(target.core, inst);
  else instrumentConnection(target.core, inst, undefined);
  return instance;
}

/** Whether `traceMysql2` instrumented this pool, connection or cluster (or the one it wraps). */
export function isTracedMysql2(instance: unknown): boolean {
  if (typeof instance !== 'object' || instance === null) return false;
  const target = targetOf(instance);
  return target !== undefined && instrumented(target.core);
}

// ---------------------------------------------------------------------------------------------
// Connections

function instrumentConnection(conn: object, inst: Mysql2Instrumentation, pool: PoolState | undefined): void {
  if (instrumented(conn)) return;
  const c = conn as Record<string, unknown>;
  const state: ConnectionState = {
    inst,
    info: pool?.info ?? connectionFromConfig(read(conn, 'config')),
    open: new Set(),
    claim: undefined,
    acquiredAt: undefined,
  };
  define(conn, INSTRUMENTED, inst);
  define(conn, STATE, state);
  for (const method of ['query', 'execute'] as const) {
    const original = c[method] as AnyFunction;
    define(
      conn,
      method,
      {
        [method](this: unknown, ...args: unknown[]): unknown {
          return tracedConnectionCall(method, state, original, this, args);
        },
      }[method],
    );
  }
  if (pool !== undefined) {
    for (const method of ['release', 'destroy'] as const) {
      const original = c[method];
      if (typeof original !== 'function') continue;
      define(
        conn,
        method,
        {
          [method](this: unknown, ...args: unknown[]): unknown {
            const acquiredAt = state.acquiredAt;
            if (acquiredAt !== undefined) {
              state.acquiredAt = undefined;
              pool.timer.record('useTime', acquiredAt);
            }
            return (original as AnyFunction).apply(this, args);
          },
        }[method],
      );
    }
  }
  // A connection that dies under event-mode commands (no callback) tells the connection, not the
  // commands: end their spans with its error. Observed, never handled (errorMonitor).
  try {
    const on = c.on as AnyFunction;
    on.call(conn, errorMonitor, (error: unknown) => endOpen(state, error));
    // 'end' comes before the 'close' that reports the error: let that one win.
    on.call(conn, 'end', () =>
      setImmediate(() => endOpen(state, new Error('Connection lost: The server closed the connection.'))),
    );
  } catch (error) {
    inst.diag.warn('connection-events', 'could not observe a connection', error);
  }
}

function endOpen(state: ConnectionState, error: unknown): void {
  if (state.open.size === 0) return;
  const ops = [...state.open];
  state.open.clear();
  for (const op of ops) op.end(error ?? new Error('connection error'));
}

function track(state: ConnectionState, op: Operation): void {
  if (op.ended) return;
  for (const o of state.open) if (o.ended) state.open.delete(o);
  state.open.add(op);
}

function tracedConnectionCall(
  method: 'query' | 'execute',
  state: ConnectionState,
  original: AnyFunction,
  self: unknown,
  args: unknown[],
): unknown {
  const sql = args[0];
  // mysql2 throws synchronously for these; let it, untouched.
  if (sql === null || sql === undefined) return original.apply(self, args);
  const claim = state.claim;
  if (claim !== undefined && claim.method === method) {
    const own =
      method === 'execute'
        ? claim.sql === sql
        : claim.command === sql || (claim.command === undefined && typeof sql === 'object');
    if (own) {
      // The pool's own call: its span is already open.
      state.claim = undefined;
      if (claim.events !== undefined) track(state, claim.events);
      return original.apply(self, args);
    }
  }
  const caller = context.active();
  const inst = state.inst;
  let op: Operation;
  let callArgs = args;
  let events = false;
  try {
    op = inst.start(caller, describeQuery(method, sql, args[1]), state.info);
    const bound = wrapCallbackArgs(args, op, caller);
    if (bound !== undefined) callArgs = bound;
    else events = !wrapCommandCallback(sql, op, caller);
    if (method === 'query' && inst.options.sqlCommenter === true)
      callArgs = withTraceparentComment(callArgs, op.span);
  } catch (error) {
    inst.diag.error('query', 'could not instrument a query; it runs untraced', error);
    return original.apply(self, args);
  }
  const result = callWithSpan(op, caller, original, self, callArgs);
  if (events) {
    observeCommand(result, op, inst, caller);
    track(state, op);
  }
  return result;
}

/**
 * Finds the callback mysql2 will use (a function 2nd argument, else a function 3rd argument: the
 * precedence of mysql2's `createQuery` and `execute`) and replaces it with one that ends the span
 * first, then runs the user's callback in the caller's context. Returns undefined when there is
 * none (event mode). A non-function 3rd argument is left alone, as mysql2 leaves it.
 */
function wrapCallbackArgs(args: unknown[], op: Operation, caller: Context): unknown[] | undefined {
  const index = typeof args[1] === 'function' ? 1 : typeof args[2] === 'function' ? 2 : -1;
  if (index < 0) return undefined;
  const out = [...args];
  out[index] = endingCallback(op, caller, args[index] as AnyFunction);
  return out;
}

/**
 * A mysql2 Query command passed as the query (`conn.query(Connection.createQuery(...))`) carries
 * its callback as `onResult`: wrap it in place, as mysql2 itself does when tracing channels are on.
 */
function wrapCommandCallback(sql: unknown, op: Operation, caller: Context): boolean {
  if (typeof sql !== 'object' || sql === null || !fn(sql, 'on')) return false;
  const cb = read(sql, 'onResult');
  if (typeof cb !== 'function') return false;
  (sql as { onResult: AnyFunction }).onResult = endingCallback(op, caller, cb as AnyFunction);
  return true;
}

/**
 * Event mode (no callback: `query(sql).on('result', ...)`, `.stream()`): the command emits
 * `result` per row, `error`, and `end`. The span ends on `end` or on the first error, observed
 * through `errorMonitor` so an unhandled 'error' stays the app's, as without tracing. The
 * command's events are emitted from socket callbacks, in the context of whoever opened the
 * connection (another request, for a pooled one): its `emit` runs them in the caller's context
 * instead, so the app's row handlers and the stream built on them see the caller's trace.
 */
function observeCommand(command: unknown, op: Operation, inst: Mysql2Instrumentation, caller: Context): void {
  if (!fn(command, 'on') || !fn(command, 'once') || !fn(command, 'emit')) {
    op.end(undefined);
    return;
  }
  try {
    const c = command as { on: AnyFunction; once: AnyFunction; emit: AnyFunction };
    define(c, 'emit', bindToContext(caller, c.emit));
    c.once('end', () => op.end(undefined));
    c.on(errorMonitor, (error: unknown) => op.end(error ?? new Error('query failed')));
    c.on('result', (row: unknown) => {
      if (!op.ended && !isResultSetHeader(row)) op.rows++;
    });
  } catch (error) {
    inst.diag.warn('command-events', 'could not observe a query command', error);
    op.end(undefined);
  }
}

function isResultSetHeader(row: unknown): boolean {
  const ctor = read(row, 'constructor');
  return typeof ctor === 'function' && ctor.name === 'ResultSetHeader';
}

// ---------------------------------------------------------------------------------------------
// Pools

function instrumentPool(pool: object, inst: Mysql2Instrumentation, name: string | undefined): void {
  if (instrumented(pool)) return;
  const p = pool as Record<string, unknown>;
  const info = connectionFromConfig(read(read(pool, 'config'), 'connectionConfig'));
  const timer = new PoolTimer(inst, { [ATTR_DB_CLIENT_CONNECTION_POOL_NAME]: name ?? defaultPoolName(info) });
  const state: PoolState = { inst, info, timer };
  define(pool, INSTRUMENTED, inst);
  try {
    inst.metrics.observePool(pool, readPool, timer.attributes);
  } catch (error) {
    inst.diag.error('metrics', 'could not register the pool metrics', error);
  }
  const originalGetConnection = p.getConnection as AnyFunction;
  define(pool, 'getConnection', function getConnection(this: unknown, ...args: unknown[]): unknown {
    return tracedGetConnection(state, originalGetConnection, this, args);
  });
  const originalQuery = p.query as AnyFunction;
  define(pool, 'query', function query(this: unknown, ...args: unknown[]): unknown {
    return tracedPoolQuery(state, originalQuery, this, args);
  });
  const originalExecute = p.execute;
  if (typeof originalExecute === 'function') {
    define(pool, 'execute', function execute(this: unknown, ...args: unknown[]): unknown {
      return tracedPoolExecute(state, originalExecute as AnyFunction, this, args);
    });
  }
  // create_time: from the getConnection call that created a connection to the pool's 'connection'
  // event for it (emitted once it is connected).
  try {
    (p.on as AnyFunction).call(pool, 'connection', (conn: object) => timer.created(conn));
  } catch (error) {
    inst.diag.warn('pool-events', 'could not observe pool events', error);
  }
}

/** Length of one of mysql2's pool queues (`_allConnections`, ...), or undefined. */
function queueLength(pool: object, key: string): number | undefined {
  const length = read(read(pool, key), 'length');
  return typeof length === 'number' && Number.isInteger(length) && length >= 0 ? length : undefined;
}

/**
 * A pool's counts for the pool metrics; undefined once it is closed. mysql2 exposes no public
 * counters: they are the lengths of its `_allConnections`, `_freeConnections` and
 * `_connectionQueue` queues (a pool laid out differently reports nothing).
 */
function readPool(pool: object): PoolReading | undefined {
  if (read(pool, '_closed') === true) return undefined;
  const all = queueLength(pool, '_allConnections');
  const free = queueLength(pool, '_freeConnections');
  const config = read(pool, 'config');
  const limit = read(config, 'connectionLimit');
  const maxIdle = read(config, 'maxIdle');
  const hasMaxIdle = typeof maxIdle === 'number' && Number.isFinite(maxIdle) && maxIdle >= 0;
  return {
    idle: all !== undefined ? free : undefined,
    used: all !== undefined && free !== undefined ? Math.max(0, all - free) : undefined,
    pending: queueLength(pool, '_connectionQueue'),
    // 0 means "no limit" in mysql2: nothing to report.
    max: typeof limit === 'number' && Number.isFinite(limit) && limit > 0 ? limit : undefined,
    idleMax: hasMaxIdle ? maxIdle : undefined,
    // mysql2 keeps no minimum of idle connections: idle ones above maxIdle, or idle longer than
    // idleTimeout, are closed down to none.
    idleMin: hasMaxIdle ? 0 : undefined,
  };
}

function queueOf(pool: unknown): { length: number; get(i: number): unknown } | undefined {
  const q = read(pool, '_allConnections');
  return typeof read(q, 'length') === 'number' && fn(q, 'get')
    ? (q as { length: number; get(i: number): unknown })
    : undefined;
}

/**
 * pool.getConnection: measures the wait, counts timeouts, instruments the connection handed out,
 * and runs the callback in the caller's context. Without this binding a queued callback runs in
 * the context of whichever query released the connection.
 */
function tracedGetConnection(
  state: PoolState,
  original: AnyFunction,
  self: unknown,
  args: unknown[],
): unknown {
  const cb = args[0];
  // mysql2 re-submits a queued callback itself (after a reset or a removed connection): it is
  // already bound and measured.
  if (typeof cb !== 'function' || (cb as unknown as Record<symbol, unknown>)[BOUND] === true)
    return original.apply(self, args);
  const caller = context.active();
  // pool.query/execute's own getConnection: the pool's call on the connection is claimed.
  const claim = pendingClaim.take();
  const startedAt = claim !== undefined ? claim.startedAt : clockNow();
  let settled = false;
  const wrapped = function tracedGetConnectionCallback(this: unknown, ...cbArgs: unknown[]): unknown {
    const conn = cbArgs[1];
    if (!settled) {
      settled = true;
      settle(state, startedAt, cbArgs[0], conn);
    }
    const connState =
      claim !== undefined && typeof conn === 'object' && conn !== null
        ? ((conn as Record<symbol, unknown>)[STATE] as ConnectionState | undefined)
        : undefined;
    if (connState === undefined) return callInContext(caller, cb as AnyFunction, this, cbArgs);
    connState.claim = claim;
    try {
      return callInContext(caller, cb as AnyFunction, this, cbArgs);
    } finally {
      connState.claim = undefined;
    }
  };
  (wrapped as unknown as Record<symbol, unknown>)[BOUND] = true;
  let before = -1;
  try {
    before = queueOf(self)?.length ?? -1;
  } catch {
    before = -1;
  }
  const out = [...args];
  out[0] = wrapped;
  const result = original.apply(self, out);
  try {
    // A new connection is pushed synchronously when the pool has room: remember when it began.
    const all = queueOf(self);
    if (before >= 0 && all !== undefined && all.length > before) {
      const conn = all.get(all.length - 1);
      if (typeof conn === 'object' && conn !== null) state.timer.creating(conn, startedAt);
    }
  } catch {
    // Another pool layout: no create_time.
  }
  return result;
}

function settle(state: PoolState, startedAt: number, error: unknown, conn: unknown): void {
  try {
    const failed = error !== undefined && error !== null;
    // mysql2 has no acquire timeout: the one timeout is connectTimeout on a new connection.
    const now = state.timer.waited(startedAt, failed && read(error, 'code') === 'ETIMEDOUT');
    if (failed) return;
    if (typeof conn !== 'object' || conn === null) return;
    let connState = (conn as Record<symbol, unknown>)[STATE] as ConnectionState | undefined;
    if (connState === undefined && isCoreConnection(conn)) {
      instrumentConnection(conn, state.inst, state);
      connState = (conn as Record<symbol, unknown>)[STATE] as ConnectionState | undefined;
    }
    if (connState !== undefined) connState.acquiredAt = now;
  } catch (e) {
    state.inst.diag.error('connect', 'could not instrument a pool connection', e);
  }
}

/**
 * pool.query: one span from the call (so it covers waiting for a connection, and exists even when
 * none is ever obtained) to the result. The pool then hands its Query command to
 * `connection.query`, which lets that known command through without a second span.
 */
function tracedPoolQuery(state: PoolState, original: AnyFunction, self: unknown, args: unknown[]): unknown {
  const sql = args[0];
  if (sql === null || sql === undefined || typeof sql === 'function') return original.apply(self, args);
  const inst = state.inst;
  const caller = context.active();
  let op: Operation;
  let callArgs = args;
  let events = false;
  try {
    op = inst.start(caller, describeQuery('query', sql, args[1]), state.info);
    const bound = wrapCallbackArgs(args, op, caller);
    if (bound !== undefined) callArgs = bound;
    else events = true;
    if (inst.options.sqlCommenter === true) callArgs = withTraceparentComment(callArgs, op.span);
  } catch (error) {
    inst.diag.error('query', 'could not instrument a pool query; it runs untraced', error);
    return original.apply(self, args);
  }
  const claim: PoolClaim = {
    method: 'query',
    sql: undefined,
    command: undefined,
    events: events ? op : undefined,
    startedAt: op.startedAt,
  };
  const result = pendingClaim.callWithSpan(claim, op, caller, original, self, callArgs);
  if (typeof result === 'object' && result !== null) claim.command = result;
  if (events) observeCommand(result, op, inst, caller);
  return result;
}

/**
 * pool.execute: one span from the call to the callback. The pool then calls `connection.execute`
 * with the same text in its getConnection callback; the claim (see `pendingClaim`) lets it
 * through without a second span.
 */
function tracedPoolExecute(state: PoolState, original: AnyFunction, self: unknown, args: unknown[]): unknown {
  const sql = args[0];
  const hasCallback = typeof args[1] === 'function' || typeof args[2] === 'function';
  // Without a callback mysql2's pool.execute cannot report anything: leave it exactly as it is.
  if (sql === null || sql === undefined || !hasCallback) return original.apply(self, args);
  const inst = state.inst;
  const caller = context.active();
  let op: Operation;
  let callArgs: unknown[];
  try {
    op = inst.start(caller, describeQuery('execute', sql, args[1]), state.info);
    callArgs = wrapCallbackArgs(args, op, caller) ?? args;
  } catch (error) {
    inst.diag.error('query', 'could not instrument a pool execute; it runs untraced', error);
    return original.apply(self, args);
  }
  const claim: PoolClaim = {
    method: 'execute',
    sql,
    command: undefined,
    events: undefined,
    startedAt: op.startedAt,
  };
  return pendingClaim.callWithSpan(claim, op, caller, original, self, callArgs);
}

// ---------------------------------------------------------------------------------------------
// Pool clusters

/**
 * A PoolCluster: each node's pool is instrumented (named `<poolName or default>/<node id>`), now
 * and when nodes are added later. Queries through `cluster.of(...)` run on connections of those
 * pools, so they are traced by the connection; their spans start once a connection is obtained.
 */
function instrumentCluster(cluster: object, inst: Mysql2Instrumentation): void {
  define(cluster, INSTRUMENTED, inst);
  const instrumentNodes = (): void => {
    try {
      const nodes = read(cluster, '_nodes');
      if (typeof nodes !== 'object' || nodes === null) return;
      for (const id of Object.keys(nodes)) {
        const pool = read(read(nodes, id), 'pool');
        if (typeof pool !== 'object' || pool === null || !isCorePool(pool) || instrumented(pool)) continue;
        const info = connectionFromConfig(read(read(pool, 'config'), 'connectionConfig'));
        instrumentPool(pool, inst, `${inst.options.poolName ?? defaultPoolName(info)}/${id}`.slice(0, 256));
      }
    } catch (error) {
      inst.diag.error('cluster', 'could not instrument the pools of a cluster', error);
    }
  };
  instrumentNodes();
  const originalAdd = read(cluster, 'add') as AnyFunction;
  define(cluster, 'add', function add(this: unknown, ...args: unknown[]): unknown {
    const result = originalAdd.apply(this, args);
    instrumentNodes();
    return result;
  });
}
