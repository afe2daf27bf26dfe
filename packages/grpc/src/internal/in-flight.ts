import type { Attributes, ObservableResult } from '@opentelemetry/api';

/** At most this many in-flight series per interceptor; later attribute sets share the overflow one. */
export const MAX_IN_FLIGHT_SERIES = 1000;

interface Series {
  readonly attributes: Attributes;
  count: number;
}

/**
 * Calls in flight per attribute set, kept as plain numbers and reported through an observable
 * up-down counter when metrics are collected: a call adds and removes itself with two map lookups
 * instead of two SDK measurements (each of which hashes its attribute set into a JSON string). The
 * exported data is the same as an `UpDownCounter`'s: a non-monotonic cumulative sum per attribute
 * set, every set ever seen reported (0 when nothing is in flight). The series are keyed by a
 * string naming the attribute set (bounded: {@link MAX_IN_FLIGHT_SERIES}, then the overflow set).
 */
export class InFlight {
  readonly #series = new Map<string, Series>();
  readonly #overflowKey: string;
  readonly #overflow: Attributes;

  constructor(overflowKey: string, overflow: Attributes) {
    this.#overflowKey = overflowKey;
    this.#overflow = overflow;
  }

  /** Adds `delta` to the series `key` (with `attributes`, the first time it is seen). */
  add(key: string, attributes: Attributes, delta: number): void {
    let series = this.#series.get(key);
    if (series === undefined) {
      if (this.#series.size >= MAX_IN_FLIGHT_SERIES) {
        key = this.#overflowKey;
        series = this.#series.get(key);
      }
      if (series === undefined) {
        series = { attributes: key === this.#overflowKey ? this.#overflow : attributes, count: 0 };
        this.#series.set(key, series);
      }
    }
    series.count += delta;
  }

  /** Reports every series (the observable counter's callback). */
  observe(result: ObservableResult<Attributes>): void {
    for (const series of this.#series.values()) result.observe(series.count, series.attributes);
  }
}
