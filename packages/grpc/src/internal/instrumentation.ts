import type {
  Attributes,
  Histogram,
  Meter,
  Span,
  TextMapPropagator,
  Tracer,
  UpDownCounter,
} from '@opentelemetry/api';
import { callHook, LazyInstruments, LazyTracer, RateLimitedDiag, resolvePropagator } from '@tracewire/core';
import type { MetadataLike } from '../metadata-carrier.js';
import type { GrpcInstrumentationOptions, GrpcMethodMatcher } from '../options.js';
import { DEFAULT_IGNORE } from '../options.js';
import {
  METRIC_RPC_CLIENT_ACTIVE_REQUESTS,
  METRIC_RPC_CLIENT_CALL_DURATION,
  METRIC_RPC_SERVER_ACTIVE_REQUESTS,
  METRIC_RPC_SERVER_CALL_DURATION,
  RPC_DURATION_BUCKETS,
} from '../semconv.js';
import { SCOPE_NAME, VERSION } from '../version.js';
import { cap, MAX_METADATA_VALUE_LENGTH, MAX_METADATA_VALUES } from './limits.js';
import { IgnoreList, type MethodInfo, MethodTable } from './method.js';

/** The two instruments of one side. */
export interface RpcInstruments {
  duration: Histogram<Attributes>;
  active: UpDownCounter<Attributes>;
}

/**
 * What the server and client interceptors share: providers resolved lazily per call (and cached
 * while the provider stays the same object, as `HttpServerInstrumentation` does), the method
 * table, the metadata allow-lists, and contained user callbacks.
 */
export abstract class GrpcInstrumentation {
  readonly side: 'server' | 'client';
  readonly diag: RateLimitedDiag = new RateLimitedDiag();
  readonly methods: MethodTable;
  readonly ignorePredicates: readonly ((method: string) => boolean)[];
  readonly captureRequest: readonly string[];
  readonly captureResponse: readonly string[];
  readonly #propagatorOption: TextMapPropagator | undefined;
  readonly #tracer: LazyTracer;
  readonly #instruments: LazyInstruments<RpcInstruments>;

  constructor(options: GrpcInstrumentationOptions | undefined, side: 'server' | 'client') {
    this.side = side;
    this.#tracer = new LazyTracer(options?.tracerProvider, SCOPE_NAME, VERSION);
    this.#instruments = new LazyInstruments(options?.meterProvider, SCOPE_NAME, VERSION, (meter) =>
      createInstruments(meter, side),
    );
    this.#propagatorOption = options?.propagator;
    const ignore = options?.ignore ?? DEFAULT_IGNORE;
    const list = new IgnoreList(
      Array.isArray(ignore) ? [...(ignore as GrpcMethodMatcher[])] : [ignore as GrpcMethodMatcher],
    );
    this.ignorePredicates = list.predicates;
    this.methods = new MethodTable(list);
    this.captureRequest = (options?.captureMetadata?.request ?? []).map((k) => k.toLowerCase());
    this.captureResponse = (options?.captureMetadata?.response ?? []).map((k) => k.toLowerCase());
  }

  /** The tracer, resolved per call so an SDK registered after the interceptor was created is used. */
  tracer(): Tracer {
    return this.#tracer.get();
  }
  /** Whether the tracer is the API's no-op (no SDK registered), as of the last {@link tracer} call. */
  tracerIsNoop(): boolean {
    return this.#tracer.noop;
  }

  /** The instruments, re-created whenever the resolved meter provider changes. */
  instruments(): RpcInstruments {
    return this.#instruments.get();
  }

  /** The propagator, resolved per call (explicit, else the registered global, else built-in W3C). */
  propagator(): TextMapPropagator {
    return resolvePropagator(this.#propagatorOption);
  }

  /** Whether a call of `info` gets no telemetry. A throwing predicate does not ignore. */
  isIgnored(info: MethodInfo): boolean {
    if (info.ignored) return true;
    const predicates = this.ignorePredicates;
    for (let i = 0; i < predicates.length; i++) {
      if (this.call('ignore', predicates[i]!, info.name) === true) return true;
    }
    return false;
  }

  /** The attribute set of `rpc.<side>.call.duration` for a method and final code (cached). */
  abstract durationAttributes(info: MethodInfo, code: number): Attributes;

  /**
   * Ends a call: the span, then one duration measurement and one in-flight decrement with the
   * increment's attributes. Each step is contained, so a failing one never skips the others.
   */
  finishCall(
    span: Span,
    instruments: RpcInstruments | undefined,
    startedAt: number,
    info: MethodInfo,
    code: number,
    activeAttributes: Attributes,
  ): void {
    const side = this.side;
    try {
      span.end();
    } catch (error) {
      this.diag.error(`${side}-end`, `could not end a gRPC ${side} span`, error);
    }
    if (instruments === undefined) return;
    try {
      instruments.duration.record(
        (performance.now() - startedAt) / 1000,
        this.durationAttributes(info, code),
      );
    } catch (error) {
      this.diag.error(`${side}-metrics`, `could not record rpc.${side}.call.duration`, error);
    }
    try {
      instruments.active.add(-1, activeAttributes);
    } catch (error) {
      this.diag.error(`${side}-metrics`, `could not decrement rpc.${side}.active_requests`, error);
    }
  }

  /** Runs a user callback; a throw is contained and reported (rate-limited) under `hook`. */
  call<A extends unknown[], R>(hook: string, fn: (...args: A) => R, ...args: A): R | undefined {
    return callHook(this.diag, hook, fn, ...args);
  }

  /** Records allow-listed metadata keys on the span (`<prefix><key>`). Binary values are skipped. */
  captureMetadata(
    span: Span,
    prefix: string,
    keys: readonly string[],
    metadata: MetadataLike | null | undefined,
  ): void {
    if (metadata === null || metadata === undefined) return;
    for (const key of keys) {
      let values: unknown[];
      try {
        values = metadata.get(key);
      } catch {
        continue;
      }
      if (!Array.isArray(values) || values.length === 0) continue;
      const out: string[] = [];
      for (const v of values) {
        if (typeof v === 'string') out.push(cap(v, MAX_METADATA_VALUE_LENGTH));
        if (out.length === MAX_METADATA_VALUES) break;
      }
      if (out.length > 0) span.setAttribute(prefix + key, out);
    }
  }
}

function createInstruments(meter: Meter, side: 'server' | 'client'): RpcInstruments {
  const server = side === 'server';
  return {
    duration: meter.createHistogram(
      server ? METRIC_RPC_SERVER_CALL_DURATION : METRIC_RPC_CLIENT_CALL_DURATION,
      {
        description: server
          ? 'Measures the duration of an incoming Remote Procedure Call (RPC).'
          : 'Measures the duration of an outgoing Remote Procedure Call (RPC).',
        unit: 's',
        advice: { explicitBucketBoundaries: [...RPC_DURATION_BUCKETS] },
      },
    ),
    active: meter.createUpDownCounter(
      server ? METRIC_RPC_SERVER_ACTIVE_REQUESTS : METRIC_RPC_CLIENT_ACTIVE_REQUESTS,
      {
        description: server
          ? 'Number of gRPC calls in flight on the server.'
          : 'Number of gRPC calls in flight on the client.',
        unit: '{call}',
      },
    ),
  };
}
