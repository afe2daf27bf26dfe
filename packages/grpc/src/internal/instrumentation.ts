import type {
  Attributes,
  Counter,
  Histogram,
  Meter,
  Span,
  TextMapPropagator,
  Tracer,
} from '@opentelemetry/api';
import { createNoopMeter, ROOT_CONTEXT } from '@opentelemetry/api';
import {
  callHook,
  type ExtractContextOptions,
  LazyInstruments,
  LazyTracer,
  RateLimitedDiag,
  resolvePropagator,
} from '@tracewire/core';
import { GrpcCode, grpcCodeName, isGrpcCode } from '@tracewire/errors';
import { grpcMetadataGetter, type MetadataLike } from '../metadata-carrier.js';
import type { GrpcInstrumentationOptions, GrpcMethodMatcher } from '../options.js';
import { DEFAULT_IGNORE } from '../options.js';
import {
  ATTR_RPC_METHOD,
  ATTR_RPC_SYSTEM_NAME,
  GRPC_LATENCY_BUCKETS,
  GRPC_SIZE_BUCKETS,
  METRIC_GRPC_CLIENT_ATTEMPT_DURATION,
  METRIC_GRPC_CLIENT_ATTEMPT_RCVD_SIZE,
  METRIC_GRPC_CLIENT_ATTEMPT_SENT_SIZE,
  METRIC_GRPC_CLIENT_ATTEMPT_STARTED,
  METRIC_GRPC_CLIENT_CALL_DURATION,
  METRIC_GRPC_SERVER_CALL_DURATION,
  METRIC_GRPC_SERVER_CALL_RCVD_SIZE,
  METRIC_GRPC_SERVER_CALL_SENT_SIZE,
  METRIC_GRPC_SERVER_CALL_STARTED,
  METRIC_RPC_CLIENT_ACTIVE_REQUESTS,
  METRIC_RPC_CLIENT_CALL_DURATION,
  METRIC_RPC_SERVER_ACTIVE_REQUESTS,
  METRIC_RPC_SERVER_CALL_DURATION,
  RPC_DURATION_BUCKETS,
  RPC_METHOD_OTHER,
  RPC_SYSTEM_GRPC,
} from '../semconv.js';
import { SCOPE_NAME, VERSION } from '../version.js';
import { InFlight } from './in-flight.js';
import { cap, MAX_METADATA_VALUE_LENGTH, MAX_METADATA_VALUES } from './limits.js';
import { IgnoreList, type MethodInfo, MethodTable } from './method.js';

/**
 * The instruments of one side: the OpenTelemetry RPC ones (`metricConventions` `'otel'` or
 * `'both'`) and the gRFC A66 ones (`'grpc'` or `'both'`); those of a convention not selected are
 * undefined.
 */
export interface RpcInstruments {
  /** `rpc.<side>.call.duration` */
  duration: Histogram<Attributes> | undefined;
  /** `rpc.<side>.active_requests`: the counts it reports (shared by every interceptor on the meter). */
  active: InFlight | undefined;
  /** `grpc.server.call.started` / `grpc.client.attempt.started` */
  started: Counter<Attributes> | undefined;
  /** `grpc.server.call.duration` / `grpc.client.attempt.duration` */
  grpcDuration: Histogram<Attributes> | undefined;
  /** `grpc.client.call.duration` (client only) */
  callDuration: Histogram<Attributes> | undefined;
  /** `grpc.<side>.{call,attempt}.sent_total_compressed_message_size` */
  sentSize: Histogram<Attributes> | undefined;
  /** `grpc.<side>.{call,attempt}.rcvd_total_compressed_message_size` */
  rcvdSize: Histogram<Attributes> | undefined;
  /** Whether they come from the API's no-op meter (no meter provider registered): record nothing. */
  noop: boolean;
}

/** The API's no-op meter (a singleton): what the global meter provider gives without an SDK. */
const NOOP_METER: Meter = createNoopMeter();

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
  /** Whether the OpenTelemetry RPC metrics (`rpc.*`) are recorded. */
  readonly otelMetrics: boolean;
  /** Whether the gRFC A66 metrics (`grpc.*`) are recorded. */
  readonly grpcMetrics: boolean;
  readonly #propagatorOption: TextMapPropagator | undefined;
  /**
   * What {@link extractContext} is given for a call's request metadata: made once (the propagator
   * left unset is resolved by `extractContext` per call, as {@link propagator} does).
   */
  readonly extractOptions: ExtractContextOptions;
  readonly #tracer: LazyTracer;
  readonly #instruments: LazyInstruments<RpcInstruments>;

  constructor(options: GrpcInstrumentationOptions | undefined, side: 'server' | 'client') {
    this.side = side;
    const conventions = options?.metricConventions ?? 'otel';
    const otel = conventions !== 'grpc';
    const grpc = conventions !== 'otel';
    this.otelMetrics = otel;
    this.grpcMetrics = grpc;
    this.#tracer = new LazyTracer(options?.tracerProvider, SCOPE_NAME, VERSION);
    this.#instruments = new LazyInstruments(options?.meterProvider, SCOPE_NAME, VERSION, (meter) =>
      createInstruments(meter, side, otel, grpc),
    );
    this.#propagatorOption = options?.propagator;
    this.extractOptions = Object.freeze({
      context: ROOT_CONTEXT,
      propagator: options?.propagator,
      getter: grpcMetadataGetter,
    });
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
   * The A66 attributes that name a method on this side: `grpc.method`, plus `grpc.target` on the
   * client. Called once per method (the sets built from it are cached).
   */
  protected abstract grpcMethodAttributes(info: MethodInfo): Attributes;

  /** The A66 attribute set of the `started` counter of a method (cached). */
  grpcStartAttributes(info: MethodInfo): Attributes {
    let attributes = info.grpcStartAttributes;
    if (attributes === undefined) {
      attributes = Object.freeze(this.grpcMethodAttributes(info));
      info.grpcStartAttributes = attributes;
    }
    return attributes;
  }

  /** The A66 attribute set of the end-of-call instruments for a method and final code (cached). */
  grpcAttributes(info: MethodInfo, code: number): Attributes {
    const index = isGrpcCode(code) ? code : GrpcCode.UNKNOWN;
    let attributes = info.grpcAttributes[index];
    if (attributes === undefined) {
      attributes = Object.freeze({ ...this.grpcMethodAttributes(info), 'grpc.status': grpcCodeName(index) });
      info.grpcAttributes[index] = attributes;
    }
    return attributes;
  }

  /**
   * Counts a call in: `rpc.<side>.active_requests` +1 and/or the A66 `started` counter.
   */
  startCall(instruments: RpcInstruments, info: MethodInfo, activeAttributes: Attributes): void {
    const side = this.side;
    // No SDK (the no-op meter): not counted, and not uncounted at the end (same instruments object).
    instruments.active?.add(inFlightKey(activeAttributes), activeAttributes, 1);
    try {
      instruments.started?.add(1, this.grpcStartAttributes(info));
    } catch (error) {
      this.diag.error(`${side}-metrics`, 'could not count a started gRPC call', error);
    }
  }

  /**
   * Ends a call: the span, then one measurement per selected instrument and one in-flight
   * decrement with the increment's attributes. Each step is contained, so a failing one never
   * skips the others. `sent` / `rcvd`: message bytes of the call, negative when not measured.
   * `callStartedAt`: the client's call start (before the attempt), for `grpc.client.call.duration`.
   */
  finishCall(
    span: Span,
    instruments: RpcInstruments | undefined,
    startedAt: number,
    info: MethodInfo,
    code: number,
    activeAttributes: Attributes,
    sent: number = -1,
    rcvd: number = -1,
    callStartedAt: number = startedAt,
  ): void {
    const side = this.side;
    try {
      span.end();
    } catch (error) {
      this.diag.error(`${side}-end`, `could not end a gRPC ${side} span`, error);
    }
    if (instruments === undefined) return;
    const now = performance.now();
    const duration = instruments.duration;
    if (duration !== undefined) {
      try {
        duration.record((now - startedAt) / 1000, this.durationAttributes(info, code));
      } catch (error) {
        this.diag.error(`${side}-metrics`, `could not record rpc.${side}.call.duration`, error);
      }
    }
    instruments.active?.add(inFlightKey(activeAttributes), activeAttributes, -1);
    const grpcDuration = instruments.grpcDuration;
    if (grpcDuration !== undefined) {
      try {
        const attributes = this.grpcAttributes(info, code);
        grpcDuration.record((now - startedAt) / 1000, attributes);
        instruments.callDuration?.record((now - callStartedAt) / 1000, attributes);
        if (sent >= 0) instruments.sentSize?.record(sent, attributes);
        if (rcvd >= 0) instruments.rcvdSize?.record(rcvd, attributes);
      } catch (error) {
        this.diag.error(`${side}-metrics`, `could not record the grpc.${side} metrics`, error);
      }
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

/**
 * The series of an in-flight attribute set: the server's sets differ by `rpc.method` alone, the
 * client's (one per interceptor) by `server.address` and `server.port`.
 */
function inFlightKey(attributes: Attributes): string {
  const method = attributes[ATTR_RPC_METHOD];
  if (typeof method === 'string') return method;
  return `${String(attributes['server.address'] ?? '')}:${String(attributes['server.port'] ?? '')}`;
}

function createInstruments(
  meter: Meter,
  side: 'server' | 'client',
  otel: boolean,
  grpc: boolean,
): RpcInstruments {
  const server = side === 'server';
  const latency = { explicitBucketBoundaries: [...GRPC_LATENCY_BUCKETS] };
  const size = { explicitBucketBoundaries: [...GRPC_SIZE_BUCKETS] };
  const out: RpcInstruments = {
    duration: undefined,
    active: undefined,
    started: undefined,
    grpcDuration: undefined,
    callDuration: undefined,
    sentSize: undefined,
    rcvdSize: undefined,
    noop: meter === NOOP_METER,
  };
  if (otel) {
    out.duration = meter.createHistogram(
      server ? METRIC_RPC_SERVER_CALL_DURATION : METRIC_RPC_CLIENT_CALL_DURATION,
      {
        description: server
          ? 'Measures the duration of an incoming Remote Procedure Call (RPC).'
          : 'Measures the duration of an outgoing Remote Procedure Call (RPC).',
        unit: 's',
        advice: { explicitBucketBoundaries: [...RPC_DURATION_BUCKETS] },
      },
    );
    // No SDK (the no-op meter): nothing to count for.
    if (!out.noop) out.active = sharedInFlight(meter, side);
  }
  if (grpc) {
    // gRFC A66: names, units and bucket boundaries (given as advice; a View can override them).
    if (server) {
      out.started = meter.createCounter(METRIC_GRPC_SERVER_CALL_STARTED, {
        description: 'The total number of RPCs started, including those that have not completed.',
        unit: '{call}',
      });
      out.grpcDuration = meter.createHistogram(METRIC_GRPC_SERVER_CALL_DURATION, {
        description: 'End-to-end time an RPC takes from the server transport perspective.',
        unit: 's',
        advice: latency,
      });
      out.sentSize = meter.createHistogram(METRIC_GRPC_SERVER_CALL_SENT_SIZE, {
        description: 'Total bytes sent across all response messages per RPC (metadata excluded).',
        unit: 'By',
        advice: size,
      });
      out.rcvdSize = meter.createHistogram(METRIC_GRPC_SERVER_CALL_RCVD_SIZE, {
        description: 'Total bytes received across all request messages per RPC (metadata excluded).',
        unit: 'By',
        advice: size,
      });
    } else {
      out.started = meter.createCounter(METRIC_GRPC_CLIENT_ATTEMPT_STARTED, {
        description: 'The total number of RPC attempts started, including those that have not completed.',
        unit: '{attempt}',
      });
      out.grpcDuration = meter.createHistogram(METRIC_GRPC_CLIENT_ATTEMPT_DURATION, {
        description: 'End-to-end time taken to complete an RPC attempt.',
        unit: 's',
        advice: latency,
      });
      out.callDuration = meter.createHistogram(METRIC_GRPC_CLIENT_CALL_DURATION, {
        description:
          'End-to-end time the gRPC library takes to complete an RPC from the application perspective.',
        unit: 's',
        advice: latency,
      });
      out.sentSize = meter.createHistogram(METRIC_GRPC_CLIENT_ATTEMPT_SENT_SIZE, {
        description: 'Total bytes sent across all request messages per RPC attempt (metadata excluded).',
        unit: 'By',
        advice: size,
      });
      out.rcvdSize = meter.createHistogram(METRIC_GRPC_CLIENT_ATTEMPT_RCVD_SIZE, {
        description: 'Total bytes received across all response messages per RPC attempt (metadata excluded).',
        unit: 'By',
        advice: size,
      });
    }
  }
  return out;
}

/**
 * Where the in-flight counts of each meter live: one set of counts and one observable counter per
 * meter and side (the SDK gives every interceptor of this package the same meter), so two
 * interceptors (two clients of one target, two servers, or two copies of this package) add into the
 * same series instead of each reporting its own value for the same attribute set, which the SDK
 * would not add up. Global, under a `Symbol.for` key.
 */
const REGISTRY = Symbol.for('tracewire.grpc.inFlight.v1');

function sharedInFlight(meter: Meter, side: 'server' | 'client'): InFlight {
  const global = globalThis as { [REGISTRY]?: WeakMap<Meter, { server?: InFlight; client?: InFlight }> };
  let registry = global[REGISTRY];
  if (registry === undefined) {
    registry = new WeakMap();
    global[REGISTRY] = registry;
  }
  let sides = registry.get(meter);
  if (sides === undefined) {
    sides = {};
    registry.set(meter, sides);
  }
  let inFlight = sides[side];
  if (inFlight === undefined) {
    const server = side === 'server';
    const created = new InFlight(RPC_METHOD_OTHER, {
      [ATTR_RPC_SYSTEM_NAME]: RPC_SYSTEM_GRPC,
      [ATTR_RPC_METHOD]: RPC_METHOD_OTHER,
    });
    meter
      .createObservableUpDownCounter(
        server ? METRIC_RPC_SERVER_ACTIVE_REQUESTS : METRIC_RPC_CLIENT_ACTIVE_REQUESTS,
        {
          description: server
            ? 'Number of gRPC calls in flight on the server.'
            : 'Number of gRPC calls in flight on the client.',
          unit: '{call}',
        },
      )
      .addCallback((result) => created.observe(result));
    inFlight = created;
    sides[side] = inFlight;
  }
  return inFlight;
}
