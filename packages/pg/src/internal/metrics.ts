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
  METRIC_DB_CLIENT_CONNECTION_MAX,
  METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS,
  METRIC_DB_CLIENT_CONNECTION_TIMEOUTS,
  METRIC_DB_CLIENT_CONNECTION_USE_TIME,
  METRIC_DB_CLIENT_CONNECTION_WAIT_TIME,
  METRIC_DB_CLIENT_OPERATION_DURATION,
} from '../semconv.js';

/** The pg-pool counters read at collection time (public getters of pg-pool 3.x). */
export interface PoolCounts {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  readonly ended?: boolean;
  readonly options?: { max?: number };
}

/** The instruments, created against one meter provider. */
export interface PgInstruments {
  duration: Histogram<Attributes>;
  waitTime: Histogram<Attributes>;
  useTime: Histogram<Attributes>;
  createTime: Histogram<Attributes>;
  timeouts: Counter<Attributes>;
}

interface ObservedPool {
  ref: WeakRef<PoolCounts>;
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
 * Database client metrics (semantic-conventions docs/db/database-metrics.md). Instruments are
 * created lazily and again whenever the resolved meter provider changes, so a pool wrapped before
 * the SDK was registered still reports once it is. Pool counts are observable instruments read
 * from pg-pool at collection time (nothing to keep in sync, nothing to drift); times and timeouts
 * are measured around `connect`.
 */
export class PgMetrics {
  readonly #explicit: MeterProvider | undefined;
  readonly #scope: string;
  readonly #version: string;
  #provider: MeterProvider | undefined;
  #instruments: PgInstruments | undefined;
  #registration: Registration | undefined;
  #pool: ObservedPool | undefined;

  constructor(explicit: MeterProvider | undefined, scope: string, version: string) {
    this.#explicit = explicit;
    this.#scope = scope;
    this.#version = version;
  }

  /** Observes a pool's counts under `poolAttributes` (one pool per instrumentation). */
  observePool(pool: PoolCounts, poolAttributes: Attributes): void {
    const name = poolAttributes[ATTR_DB_CLIENT_CONNECTION_POOL_NAME];
    this.#pool = {
      ref: new WeakRef(pool),
      pool: poolAttributes,
      idle: { [ATTR_DB_CLIENT_CONNECTION_POOL_NAME]: name, [ATTR_DB_CLIENT_CONNECTION_STATE]: 'idle' },
      used: { [ATTR_DB_CLIENT_CONNECTION_POOL_NAME]: name, [ATTR_DB_CLIENT_CONNECTION_STATE]: 'used' },
    };
    this.get();
  }

  get(): PgInstruments {
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
      if (this.#pool !== undefined) this.#register(meter);
    }
    return this.#instruments;
  }

  #register(meter: Meter): void {
    const count: ObservableUpDownCounter<Attributes> = meter.createObservableUpDownCounter(
      METRIC_DB_CLIENT_CONNECTION_COUNT,
      {
        description:
          'The number of connections that are currently in state described by the state attribute.',
        unit: '{connection}',
      },
    );
    const max = meter.createObservableUpDownCounter(METRIC_DB_CLIENT_CONNECTION_MAX, {
      description: 'The maximum number of open connections allowed.',
      unit: '{connection}',
    });
    const pending = meter.createObservableUpDownCounter(METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS, {
      description: 'The number of current pending requests for an open connection.',
      unit: '{request}',
    });
    const observables = [count, max, pending];
    const callback: BatchObservableCallback<Attributes> = (result) => {
      const observed = this.#pool;
      const pool = observed?.ref.deref();
      if (observed === undefined || pool === undefined || pool.ended === true) {
        // The pool is gone or ended: stop reporting it (and stop holding the callback).
        this.#unregister();
        return;
      }
      try {
        const total = pool.totalCount;
        const idle = pool.idleCount;
        result.observe(count, idle, observed.idle);
        result.observe(count, Math.max(0, total - idle), observed.used);
        result.observe(pending, pool.waitingCount, observed.pool);
        const m = pool.options?.max;
        if (typeof m === 'number' && Number.isFinite(m)) result.observe(max, m, observed.pool);
      } catch {
        // A pool without the expected getters reports nothing rather than failing the collection.
      }
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
