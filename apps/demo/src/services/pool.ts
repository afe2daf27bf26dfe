// A small concurrency pool: at most `size` holders at a time, the others wait in FIFO order. It
// stands for the payment service's connections to the card network, the resource that ran dry.
import { type Counter, type Histogram, metrics, type UpDownCounter } from '@opentelemetry/api';

export class PoolAbandonedError extends Error {
  override readonly name = 'PoolAbandonedError';
}

interface Waiter {
  readonly grant: () => void;
  readonly enqueuedAt: number;
}

export interface PoolSnapshot {
  readonly size: number;
  readonly inUse: number;
  readonly pending: number;
}

export class ConcurrencyPool {
  private inUse = 0;
  private readonly waiters: Waiter[] = [];
  private readonly attributes: { 'payments.pool.name': string };
  private readonly inUseCounter: UpDownCounter;
  private readonly pendingCounter: UpDownCounter;
  private readonly waitTime: Histogram;
  private readonly abandoned: Counter;

  constructor(
    readonly name: string,
    readonly size: number,
  ) {
    this.attributes = { 'payments.pool.name': name };
    const meter = metrics.getMeter('demo-payments-pool');
    this.inUseCounter = meter.createUpDownCounter('payments.pool.connections.in_use', {
      description: 'Pool connections currently held by a charge',
      unit: '{connection}',
    });
    this.pendingCounter = meter.createUpDownCounter('payments.pool.pending_requests', {
      description: 'Charges waiting for a pool connection',
      unit: '{request}',
    });
    this.waitTime = meter.createHistogram('payments.pool.wait_time', {
      description: 'Time a charge waited for a pool connection (granted or abandoned)',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] },
    });
    this.abandoned = meter.createCounter('payments.pool.abandoned', {
      description: 'Charges that gave up waiting because their call was cancelled or timed out',
      unit: '{request}',
    });
    meter
      .createObservableGauge('payments.pool.connections.max', { unit: '{connection}' })
      .addCallback((result) => result.observe(this.size, this.attributes));
  }

  snapshot(): PoolSnapshot {
    return { size: this.size, inUse: this.inUse, pending: this.waiters.length };
  }

  /**
   * Resolves with a release function once a connection is free. Rejects with
   * `PoolAbandonedError` if `signal` aborts while waiting (the caller is gone).
   */
  acquire(signal: AbortSignal): Promise<() => void> {
    const enqueuedAt = performance.now();
    if (signal.aborted) return Promise.reject(new PoolAbandonedError('call cancelled before queueing'));
    if (this.inUse < this.size) {
      this.take(enqueuedAt);
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        enqueuedAt,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          this.take(enqueuedAt);
          resolve(this.releaser());
        },
      };
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index === -1) return;
        this.waiters.splice(index, 1);
        this.pendingCounter.add(-1, this.attributes);
        this.waitTime.record((performance.now() - enqueuedAt) / 1000, {
          ...this.attributes,
          'payments.pool.outcome': 'abandoned',
        });
        this.abandoned.add(1, this.attributes);
        reject(new PoolAbandonedError('call cancelled while waiting for a pool connection'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.pendingCounter.add(1, this.attributes);
    });
  }

  private take(enqueuedAt: number): void {
    this.inUse += 1;
    this.inUseCounter.add(1, this.attributes);
    this.waitTime.record((performance.now() - enqueuedAt) / 1000, {
      ...this.attributes,
      'payments.pool.outcome': 'granted',
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse -= 1;
      this.inUseCounter.add(-1, this.attributes);
      const next = this.waiters.shift();
      if (next !== undefined) {
        this.pendingCounter.add(-1, this.attributes);
        next.grant();
      }
    };
  }
}
