import type {
  Attributes,
  BatchObservableCallback,
  Counter,
  Histogram,
  Meter,
  MeterProvider,
  Observable,
  ObservableUpDownCounter,
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
} from './semconv.js';

/** A pool's counts at collection time, as its driver reads them; a field left out is not reported. */
export interface PoolReading {
  /** Open connections not in use (`db.client.connection.count{state=idle}`). */
  idle?: number;
  /** Open connections in use (`db.client.connection.count{state=used}`). */
  used?: number;
  /** Requests waiting for a connection (`db.client.connection.pending_requests`). */
  pending?: number;
  /** `db.client.connection.max`. */
  max?: number;
  /** `db.client.connection.idle.max` (reported only with `idleLimits`). */
  idleMax?: number;
  /** `db.client.connection.idle.min` (reported only with `idleLimits`). */
  idleMin?: number;
}

/**
 * Reads one pool; undefined when the pool is closed (it is then no longer reported). A throw (a
 * pool laid out differently) reports nothing for that collection.
 */
export type PoolReader<P extends object> = (pool: P) => PoolReading | undefined;

/** The instruments every driver wrapper records into, created against one meter provider. */
export interface SqlInstruments {
  duration: Histogram<Attributes>;
  waitTime: Histogram<Attributes>;
  useTime: Histogram<Attributes>;
  createTime: Histogram<Attributes>;
  timeouts: Counter<Attributes>;
}

interface ObservedPool {
  ref: WeakRef<object>;
  read: PoolReader<object>;
  pool: Attributes;
  idle: Attributes;
  used: Attributes;
}

interface Registration {
  meter: Meter;
  callback: BatchObservableCallback<Attributes>;
  observables: Observable<Attributes>[];
}

/**
 * Database client metrics (semantic-conventions docs/db/database-metrics.md) of one driver
 * wrapper instance: `db.client.operation.duration` and the pool metrics of the pools it observes.
 * Instruments are created lazily and again whenever the resolved meter provider changes, so a
 * pool wrapped before the SDK was registered still reports once it is. Pool counts are observable
 * instruments read through the driver's reader at collection time (nothing to keep in sync,
 * nothing to drift); a pool is held weakly and dropped once gone or closed.
 *
 * @example
 * const m = new SqlPoolMetrics(undefined, '@tracewire/pg', '0.1.0', false);
 * m.observePool(pool, (p) => ({ idle: p.idleCount, used: p.totalCount - p.idleCount }), { 'db.client.connection.pool.name': 'db' });
 * m.get().duration.record(0.002, { 'db.system.name': 'postgresql' });
 */
export class SqlPoolMetrics {
  private readonly _explicit: MeterProvider | undefined;
  readonly #scope: string;
  readonly #version: string;
  readonly #idleLimits: boolean;
  private _provider: MeterProvider | undefined;
  private _instruments: SqlInstruments | undefined;
  #registration: Registration | undefined;
  readonly #pools = new Set<ObservedPool>();

  /** `idleLimits`: whether the driver reports `.idle.max` and `.idle.min` (the instruments exist). */
  constructor(explicit: MeterProvider | undefined, scope: string, version: string, idleLimits: boolean) {
    this._explicit = explicit;
    this.#scope = scope;
    this.#version = version;
    this.#idleLimits = idleLimits;
  }

  /** Observes a pool's counts, read by `read`, under `poolAttributes` (its pool name). */
  observePool<P extends object>(pool: P, read: PoolReader<P>, poolAttributes: Attributes): void {
    const name = poolAttributes[ATTR_DB_CLIENT_CONNECTION_POOL_NAME];
    this.#pools.add({
      ref: new WeakRef(pool),
      read: read as PoolReader<object>,
      pool: poolAttributes,
      idle: { [ATTR_DB_CLIENT_CONNECTION_POOL_NAME]: name, [ATTR_DB_CLIENT_CONNECTION_STATE]: 'idle' },
      used: { [ATTR_DB_CLIENT_CONNECTION_POOL_NAME]: name, [ATTR_DB_CLIENT_CONNECTION_STATE]: 'used' },
    });
    if (this._instruments !== undefined && this.#registration === undefined) {
      this.#register((this._provider as MeterProvider).getMeter(this.#scope, this.#version));
    }
    this.get();
  }

  /** The instruments of the current meter provider. */
  get(): SqlInstruments {
    const provider = this._explicit ?? metrics.getMeterProvider();
    if (provider === this._provider && this._instruments !== undefined) return this._instruments;
    this.#unregister();
    const meter = provider.getMeter(this.#scope, this.#version);
    const seconds = (name: string, description: string): Histogram<Attributes> =>
      meter.createHistogram(name, {
        description,
        unit: 's',
        advice: { explicitBucketBoundaries: [...DB_DURATION_BUCKETS] },
      });
    const instruments: SqlInstruments = {
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
    this._instruments = instruments;
    this._provider = provider;
    if (this.#pools.size > 0) this.#register(meter);
    return instruments;
  }

  #register(meter: Meter): void {
    const connections = (name: string, description: string): ObservableUpDownCounter<Attributes> =>
      meter.createObservableUpDownCounter(name, { description, unit: '{connection}' });
    const count = connections(
      METRIC_DB_CLIENT_CONNECTION_COUNT,
      'The number of connections that are currently in state described by the state attribute.',
    );
    const max = connections(
      METRIC_DB_CLIENT_CONNECTION_MAX,
      'The maximum number of open connections allowed.',
    );
    const pending = meter.createObservableUpDownCounter(METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS, {
      description: 'The number of current pending requests for an open connection.',
      unit: '{request}',
    });
    const observables: Observable<Attributes>[] = [count, max, pending];
    let idleMax: ObservableUpDownCounter<Attributes> | undefined;
    let idleMin: ObservableUpDownCounter<Attributes> | undefined;
    if (this.#idleLimits) {
      idleMax = connections(
        METRIC_DB_CLIENT_CONNECTION_IDLE_MAX,
        'The maximum number of idle open connections allowed.',
      );
      idleMin = connections(
        METRIC_DB_CLIENT_CONNECTION_IDLE_MIN,
        'The minimum number of idle open connections allowed.',
      );
      observables.push(idleMax, idleMin);
    }
    const callback: BatchObservableCallback<Attributes> = (result) => {
      for (const observed of this.#pools) {
        const pool = observed.ref.deref();
        let reading: PoolReading | undefined;
        try {
          reading = pool === undefined ? undefined : observed.read(pool);
        } catch {
          // A pool without the expected layout reports nothing rather than failing the collection.
          continue;
        }
        if (reading === undefined) {
          // A pool that is gone or closed stops being reported (and stops being held).
          this.#pools.delete(observed);
          continue;
        }
        if (reading.idle !== undefined) result.observe(count, reading.idle, observed.idle);
        if (reading.used !== undefined) result.observe(count, reading.used, observed.used);
        if (reading.pending !== undefined) result.observe(pending, reading.pending, observed.pool);
        if (reading.max !== undefined) result.observe(max, reading.max, observed.pool);
        if (idleMax !== undefined && reading.idleMax !== undefined)
          result.observe(idleMax, reading.idleMax, observed.pool);
        if (idleMin !== undefined && reading.idleMin !== undefined)
          result.observe(idleMin, reading.idleMin, observed.pool);
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
