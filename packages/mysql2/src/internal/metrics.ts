import type {
  Attributes,
  BatchObservableCallback,
  Counter,
  Histogram,
  Meter,
  MeterProvider,
  Observable,
} from '@opentelemetry/api';
import { metrics } from '@opentelemetry/api';
import {
  ATTR_DB_CLIENT_CONNECTION_POOL_NAME,
  ATTR_DB_CLIENT_CONNECTION_STATE,
  DB_DURATION_BUCKETS,
  METRIC_DB_CLIENT_CONNECTION_COUNT,
  METRIC_DB_CLIENT_CONNECTION_CREATE_TIME,
  METRIC_DB_CLIENT_CONNECTION_IDLE_MAX,
  METRIC_DB_CLIENT_CONNECTION_IDLE_MIN,
  METRIC_DB_CLIENT_CONNECTION_MAX,
  METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS,
  METRIC_DB_CLIENT_CONNECTION_TIMEOUTS,
  METRIC_DB_CLIENT_CONNECTION_USE_TIME,
  METRIC_DB_CLIENT_CONNECTION_WAIT_TIME,
  METRIC_DB_CLIENT_OPERATION_DURATION,
} from '../semconv.js';
import { read } from './errors-info.js';

/** The instruments, created against one meter provider. */
export interface Mysql2Instruments {
  duration: Histogram<Attributes>;
  waitTime: Histogram<Attributes>;
  useTime: Histogram<Attributes>;
  createTime: Histogram<Attributes>;
  timeouts: Counter<Attributes>;
}

interface ObservedPool {
  ref: WeakRef<object>;
  pool: Attributes;
  idle: Attributes;
  used: Attributes;
}

interface Registration {
  meter: Meter;
  callback: BatchObservableCallback<Attributes>;
  observables: Observable<Attributes>[];
}

/** Length of one of mysql2's pool queues (`_allConnections`, ...), or undefined. */
function queueLength(pool: object, key: string): number | undefined {
  const length = read(read(pool, key), 'length');
  return typeof length === 'number' && Number.isInteger(length) && length >= 0 ? length : undefined;
}

/**
 * Database client metrics (semantic-conventions docs/db/database-metrics.md). Instruments are
 * created lazily and again whenever the resolved meter provider changes, so a pool wrapped before
 * the SDK was registered still reports once it is. Pool counts are observable instruments read
 * from the pool at collection time (nothing to keep in sync, nothing to drift): mysql2 exposes no
 * public counters, so they are the lengths of its `_allConnections`, `_freeConnections` and
 * `_connectionQueue` queues (a pool laid out differently reports nothing). One instance observes
 * every pool of one `traceMysql2` call (one pool, or the pools of a cluster).
 */
export class Mysql2Metrics {
  readonly #explicit: MeterProvider | undefined;
  readonly #scope: string;
  readonly #version: string;
  #provider: MeterProvider | undefined;
  #instruments: Mysql2Instruments | undefined;
  #registration: Registration | undefined;
  readonly #pools = new Set<ObservedPool>();

  constructor(explicit: MeterProvider | undefined, scope: string, version: string) {
    this.#explicit = explicit;
    this.#scope = scope;
    this.#version = version;
  }

  /** Observes a pool's counts under `poolAttributes`. */
  observePool(pool: object, poolAttributes: Attributes): void {
    const name = poolAttributes[ATTR_DB_CLIENT_CONNECTION_POOL_NAME];
    this.#pools.add({
      ref: new WeakRef(pool),
      pool: poolAttributes,
      idle: { [ATTR_DB_CLIENT_CONNECTION_POOL_NAME]: name, [ATTR_DB_CLIENT_CONNECTION_STATE]: 'idle' },
      used: { [ATTR_DB_CLIENT_CONNECTION_POOL_NAME]: name, [ATTR_DB_CLIENT_CONNECTION_STATE]: 'used' },
    });
    if (this.#instruments !== undefined && this.#registration === undefined) {
      this.#register((this.#provider as MeterProvider).getMeter(this.#scope, this.#version));
    }
    this.get();
  }

  get(): Mysql2Instruments {
    const provider = this.#explicit ?? metrics.getMeterProvider();
    if (provider !== this.#provider || this.#instruments === undefined) {
      this.#unregister();
      const meter = provider.getMeter(this.#scope, this.#version);
      const seconds = (name: string, description: string): Histogram<Attributes> =>
        meter.createHistogram(name, {
          description,
          unit: 's',
          advice: { explicitBucketBoundaries: [...DB_DURATION_BUCKETS] },
        });
      this.#instruments = {
        duration: seconds(METRIC_DB_CLIENT_OPERATION_DURATION, 'Duration of database client operations.'),
        waitTime: seconds(
          METRIC_DB_CLIENT_CONNECTION_WAIT_TIME,
          'The time it took to obtain an open connection from the pool.',
        ),
        useTime: seconds(
          METRIC_DB_CLIENT_CONNECTION_USE_TIME,
          'The time between borrowing a connection and returning it to the pool.',
        ),
        createTime: seconds(
          METRIC_DB_CLIENT_CONNECTION_CREATE_TIME,
          'The time it took to create a new connection.',
        ),
        timeouts: meter.createCounter(METRIC_DB_CLIENT_CONNECTION_TIMEOUTS, {
          description:
            'The number of connection timeouts that have occurred trying to obtain a connection from the pool.',
          unit: '{timeout}',
        }),
      };
      this.#provider = provider;
      if (this.#pools.size > 0) this.#register(meter);
    }
    return this.#instruments;
  }

  #register(meter: Meter): void {
    const connections = (name: string, description: string) =>
      meter.createObservableUpDownCounter(name, { description, unit: '{connection}' });
    const count = connections(
      METRIC_DB_CLIENT_CONNECTION_COUNT,
      'The number of connections that are currently in state described by the state attribute.',
    );
    const max = connections(
      METRIC_DB_CLIENT_CONNECTION_MAX,
      'The maximum number of open connections allowed.',
    );
    const idleMax = connections(
      METRIC_DB_CLIENT_CONNECTION_IDLE_MAX,
      'The maximum number of idle open connections allowed.',
    );
    const idleMin = connections(
      METRIC_DB_CLIENT_CONNECTION_IDLE_MIN,
      'The minimum number of idle open connections allowed.',
    );
    const pending = meter.createObservableUpDownCounter(METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS, {
      description: 'The number of current pending requests for an open connection.',
      unit: '{request}',
    });
    const observables = [count, max, idleMax, idleMin, pending];
    const observeOne = (r: BatchResult, observed: ObservedPool): boolean => {
      const pool = observed.ref.deref();
      if (pool === undefined || read(pool, '_closed') === true) return false;
      const all = queueLength(pool, '_allConnections');
      const free = queueLength(pool, '_freeConnections');
      const queued = queueLength(pool, '_connectionQueue');
      if (all !== undefined && free !== undefined) {
        r.observe(count, free, observed.idle);
        r.observe(count, Math.max(0, all - free), observed.used);
      }
      if (queued !== undefined) r.observe(pending, queued, observed.pool);
      const config = read(pool, 'config');
      const limit = read(config, 'connectionLimit');
      // 0 means "no limit" in mysql2: nothing to report.
      if (typeof limit === 'number' && Number.isFinite(limit) && limit > 0)
        r.observe(max, limit, observed.pool);
      const maxIdle = read(config, 'maxIdle');
      if (typeof maxIdle === 'number' && Number.isFinite(maxIdle) && maxIdle >= 0) {
        r.observe(idleMax, maxIdle, observed.pool);
        // mysql2 keeps no minimum of idle connections: idle ones above maxIdle, or idle longer
        // than idleTimeout, are closed down to none.
        r.observe(idleMin, 0, observed.pool);
      }
      return true;
    };
    const callback: BatchObservableCallback<Attributes> = (result) => {
      for (const observed of this.#pools) {
        let alive = false;
        try {
          alive = observeOne(result, observed);
        } catch {
          // A pool without the expected layout reports nothing rather than failing the collection.
          alive = true;
        }
        // A pool that is gone or closed stops being reported (and stops being held).
        if (!alive) this.#pools.delete(observed);
      }
      if (this.#pools.size === 0) this.#unregister();
    };
    meter.addBatchObservableCallback(callback, observables);
    this.#registration = { meter, callback, observables };
  }

  #unregister(): void {
    const r = this.#registration;
    if (r === undefined) return;
    this.#registration = undefined;
    try {
      r.meter.removeBatchObservableCallback(r.callback, r.observables);
    } catch {
      // An old provider that is shut down may refuse; nothing else to do.
    }
  }
}

type BatchResult = Parameters<BatchObservableCallback<Attributes>>[0];
