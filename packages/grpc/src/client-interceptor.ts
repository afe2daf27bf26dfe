import type { Interceptor, InterceptorOptions, Metadata, NextCall, StatusObject } from '@grpc/grpc-js';
import { InterceptingCall } from '@grpc/grpc-js';
import type { Attributes, Context, Span } from '@opentelemetry/api';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  injectContext,
  noteClientSpan,
  parseHost,
  spanKindOf,
} from '@tracewire/core';
import { GrpcCode, grpcCodeName, isGrpcCode } from '@tracewire/errors';
import { GrpcInstrumentation, type RpcInstruments } from './internal/instrumentation.js';
import { cap, MAX_STATUS_MESSAGE_LENGTH } from './internal/limits.js';
import { callKind, type MethodInfo } from './internal/method.js';
import { byteLength } from './internal/sizes.js';
import { canonicalTarget, parseTarget, type ServerEndpoint } from './internal/target.js';
import { grpcMetadataSetter } from './metadata-carrier.js';
import type { GrpcCallKind, OtelGrpcClientOptions } from './options.js';
import { validateGrpcOptions } from './options.js';
import {
  ATTR_RPC_GRPC_STATUS_CODE,
  ATTR_RPC_METHOD,
  ATTR_RPC_METHOD_ORIGINAL,
  ATTR_RPC_REQUEST_METADATA_PREFIX,
  ATTR_RPC_RESPONSE_METADATA_PREFIX,
  ATTR_RPC_STATUS_CODE,
  ATTR_RPC_SYSTEM_NAME,
  RPC_METHOD_OTHER,
  RPC_SYSTEM_GRPC,
} from './semconv.js';
import { SCOPE_NAME } from './version.js';

/**
 * The context key of `suppressTracing()` in `@opentelemetry/core` (`createContextKey` uses
 * `Symbol.for`): exporters mark their own calls with it, and those calls are not traced.
 */
const SUPPRESS_TRACING_KEY = Symbol.for('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

/**
 * Marks the interceptor options of a call already traced by a tracewire client interceptor, so
 * registering it twice (client and call options) still gives one span.
 */
const CLIENT_CALL = Symbol.for('tracewire.grpc.client.call');

/**
 * Marks a method definition whose (de)serializers this interceptor wrapped to measure message
 * sizes. grpc-js builds one definition object per call; one seen twice is shared, and not wrapped
 * again.
 */
const SIZED = Symbol.for('tracewire.grpc.client.sized');

/** The per-call method definition grpc-js hands to interceptors (and serializes with). */
interface SerializingDefinition {
  requestSerialize: (value: any) => Buffer;
  responseDeserialize: (bytes: Buffer) => any;
}

/**
 * A grpc-js client interceptor that gives every call one CLIENT span, the RPC client metrics, and
 * injects the trace context into a **copy** of the caller's metadata (the caller's object is
 * never changed, so one `Metadata` can be reused for concurrent calls).
 *
 * - Every non-OK status is an error on the client (semconv), deadline and cancel included.
 * - A call answered UNIMPLEMENTED is reported with `rpc.method` `_OTHER`: the server does not know
 *   the method, so a client that builds method paths at run time cannot grow the metric series.
 * - Callbacks and stream events of the call run in the caller's context, not in whatever context
 *   the transport happens to carry.
 * - Baggage is only sent when `propagateBaggage` is true.
 *
 * @example
 * import * as grpc from '@grpc/grpc-js';
 * import { otelGrpcClientInterceptor } from '@tracewire/grpc';
 * const target = 'orders.internal:50051';
 * const client = new OrdersClient(target, grpc.credentials.createInsecure(), {
 *   interceptors: [otelGrpcClientInterceptor({ target })],
 * });
 */
export function otelGrpcClientInterceptor(options?: OtelGrpcClientOptions): Interceptor {
  validateGrpcOptions(options, SCOPE_NAME, 'client');
  const owner = new ClientInstrumentation(options);
  return function tracewireGrpcClientInterceptor(
    callOptions: InterceptorOptions,
    nextCall: NextCall,
  ): InterceptingCall {
    // A66 `grpc.client.call.duration` starts here, before the calls below are made.
    const startedAt = performance.now();
    const parent = context.active();
    let info: MethodInfo | undefined;
    try {
      info = owner.prepare(callOptions, parent);
    } catch (error) {
      owner.diag.error(
        'client-start',
        'could not instrument a gRPC call; it continues without telemetry',
        error,
      );
    }
    const next = nextCall(callOptions);
    if (info === undefined) return new InterceptingCall(next);
    const definition = callOptions.method_definition;
    const call = new ClientCall(
      next,
      owner,
      info,
      callKind(definition.requestStream, definition.responseStream),
      parent,
      startedAt,
    );
    if (owner.grpcMetrics) call.measure(definition as unknown as SerializingDefinition);
    return call;
  };
}

class ClientInstrumentation extends GrpcInstrumentation {
  readonly options: OtelGrpcClientOptions;
  readonly endpoint: ServerEndpoint | undefined;
  /** `{ rpc.system.name, server.address, server.port }`: the in-flight counter never carries a method. */
  readonly activeAttributes: Attributes;
  /** The method info used for metrics of calls answered UNIMPLEMENTED. */
  readonly other: MethodInfo;
  /** `grpc.target` (A66): the canonical target, or `other` without the `target` option. */
  readonly grpcTarget: string;
  /** `officialClientSpan` is not `'own'`. */
  readonly reuseOfficial: boolean;
  readonly #spanAttributes = new WeakMap<MethodInfo, Attributes>();

  constructor(options: OtelGrpcClientOptions | undefined) {
    super(options, 'client');
    this.options = { ...options };
    this.endpoint = parseTarget(this.options.target);
    const active: Attributes = { [ATTR_RPC_SYSTEM_NAME]: RPC_SYSTEM_GRPC };
    this.#addEndpoint(active);
    this.activeAttributes = Object.freeze(active);
    this.other = this.methods.get(RPC_METHOD_OTHER);
    this.grpcTarget = canonicalTarget(this.options.target);
    this.reuseOfficial = this.options.officialClientSpan !== 'own';
  }

  #addEndpoint(attributes: Attributes): void {
    const endpoint = this.endpoint;
    if (endpoint === undefined) return;
    attributes[ATTR_SERVER_ADDRESS] = endpoint.address;
    if (endpoint.port !== undefined) attributes[ATTR_SERVER_PORT] = endpoint.port;
  }

  /** The method of a new call to trace (marking its options), or undefined when it is not traced. */
  prepare(callOptions: InterceptorOptions, parent: Context): MethodInfo | undefined {
    if (parent.getValue(SUPPRESS_TRACING_KEY) === true) return undefined;
    const marks = callOptions as unknown as Record<symbol, unknown>;
    if (marks[CLIENT_CALL] !== undefined) return undefined;
    const info = this.methods.get(callOptions.method_definition.path);
    if (this.isIgnored(info)) return undefined;
    marks[CLIENT_CALL] = true;
    return info;
  }

  /**
   * The A66 attribute set of `grpc.client.attempt.started` (cached per method). A path the server
   * answered UNIMPLEMENTED before is counted as `other` from the start.
   */
  override grpcStartAttributes(info: MethodInfo): Attributes {
    return super.grpcStartAttributes(info.unimplemented ? this.other : info);
  }

  /** A66 names a client method by `grpc.method` and the channel's `grpc.target`. */
  protected override grpcMethodAttributes(info: MethodInfo): Attributes {
    return { 'grpc.method': info.grpcMethod, 'grpc.target': this.grpcTarget };
  }

  /** The start attributes of a method's spans (shared: the SDK copies them). */
  spanAttributes(info: MethodInfo): Attributes {
    let attributes = this.#spanAttributes.get(info);
    if (attributes === undefined) {
      const a: Attributes = { ...info.attributes };
      if (info.original !== undefined) a[ATTR_RPC_METHOD_ORIGINAL] = info.original;
      this.#addEndpoint(a);
      attributes = Object.freeze(a);
      this.#spanAttributes.set(info, attributes);
    }
    return attributes;
  }

  /** The attribute set of `rpc.client.call.duration` for a method and final code (cached). */
  override durationAttributes(info: MethodInfo, code: number): Attributes {
    const index = isGrpcCode(code) ? code : GrpcCode.UNKNOWN;
    let attributes = info.durationAttributes[index];
    if (attributes === undefined) {
      const name = grpcCodeName(index);
      const a: Attributes = { ...info.attributes, [ATTR_RPC_STATUS_CODE]: name };
      if (index !== GrpcCode.OK) a[ATTR_ERROR_TYPE] = name;
      this.#addEndpoint(a);
      attributes = Object.freeze(a);
      info.durationAttributes[index] = attributes;
    }
    return attributes;
  }
}

/** The call below this one: what `nextCall(options)` returns. */
type InterceptingCallInterface = ReturnType<NextCall>;
/** The listener the caller (or the interceptor above) starts a call with. */
type UpperListener = Partial<ClientListener>;
type ClientListener = NonNullable<Parameters<InterceptingCall['start']>[1]>;

/**
 * The telemetry of one client call, as an intercepting call that is its own listener: grpc-js's
 * `InterceptingCall` (every other method inherited, on any version) whose `start` begins the span
 * and hands this object to the call below as the listener, passing each event on to the caller's
 * listener in the caller's context. Compared with an `InterceptingCall` built from a requester and
 * a listener (grpc-js copies and binds their functions, so they must be per-call closures), a call
 * allocates one object instead of about a dozen. Fields are `declare`d and set in the constructor
 * only (a class field would be defined, then assigned again), prefixed `tw` so they never meet a
 * field of grpc-js's.
 */
class ClientCall extends InterceptingCall implements ClientListener {
  /** The next call in the chain (also for the peer address). */
  declare private readonly twNext: InterceptingCallInterface;
  declare private readonly twOwner: ClientInstrumentation;
  declare private readonly twInfo: MethodInfo;
  declare private readonly twKind: GrpcCallKind;
  declare private readonly twParent: Context;
  /** When the interceptor was invoked (A66 `grpc.client.call.duration` starts before serialization). */
  declare private readonly twCallStartedAt: number;
  declare private twUpper: UpperListener | undefined;
  declare private twSpan: Span | undefined;
  declare private twInstruments: RpcInstruments | undefined;
  declare private twStartedAt: number;
  declare private twEnded: boolean;
  /** A66 message sizes (bytes, serialized); -1: not measured. */
  declare private twSentBytes: number;
  declare private twRcvdBytes: number;

  constructor(
    next: InterceptingCallInterface,
    owner: ClientInstrumentation,
    info: MethodInfo,
    kind: GrpcCallKind,
    parent: Context,
    callStartedAt: number,
  ) {
    super(next);
    // Every field set here, in one order: one object shape for every call.
    this.twNext = next;
    this.twOwner = owner;
    this.twInfo = info;
    this.twKind = kind;
    this.twParent = parent;
    this.twCallStartedAt = callStartedAt;
    this.twUpper = undefined;
    this.twSpan = undefined;
    this.twInstruments = undefined;
    this.twStartedAt = 0;
    this.twEnded = false;
    this.twSentBytes = -1;
    this.twRcvdBytes = -1;
  }

  override start(metadata: Metadata, listener?: UpperListener): void {
    this.twUpper = listener;
    this.twNext.start(this.twBegin(metadata), this);
  }

  // --- events from the call below, passed on to the caller's listener in the caller's context ---

  onReceiveMetadata(metadata: Metadata): void {
    this.twCapture(ATTR_RPC_RESPONSE_METADATA_PREFIX, metadata);
    const upper = this.twUpper;
    const fn = upper?.onReceiveMetadata;
    if (fn !== undefined) context.with(this.twParent, fn, upper, metadata);
  }

  onReceiveMessage(message: unknown): void {
    const upper = this.twUpper;
    const fn = upper?.onReceiveMessage;
    if (fn !== undefined) context.with(this.twParent, fn, upper, message);
  }

  onReceiveStatus(status: StatusObject): void {
    // End first: the caller's callback may look at the finished span.
    this.twEnd(status);
    const upper = this.twUpper;
    const fn = upper?.onReceiveStatus;
    if (fn !== undefined) context.with(this.twParent, fn, upper, status);
  }

  /**
   * Measures the call's message sizes by wrapping the serializer and deserializer of its method
   * definition: grpc-js builds that object for this one call and serializes each request (and
   * deserializes each response) with it below every interceptor, so the lengths are the
   * serialized, uncompressed message sizes. A definition already wrapped (shared between calls) is
   * left alone and the sizes of that call are not recorded.
   */
  measure(definition: SerializingDefinition): void {
    try {
      const marks = definition as unknown as Record<symbol, unknown>;
      if (marks[SIZED] !== undefined || Object.isFrozen(definition)) return;
      const serialize = definition.requestSerialize;
      const deserialize = definition.responseDeserialize;
      if (typeof serialize !== 'function' || typeof deserialize !== 'function') return;
      marks[SIZED] = true;
      this.twSentBytes = 0;
      this.twRcvdBytes = 0;
      definition.requestSerialize = (value: unknown): Buffer => {
        const out = serialize(value);
        if (this.twSentBytes >= 0 && !this.twEnded) {
          const size = byteLength(out);
          this.twSentBytes = size < 0 ? -1 : this.twSentBytes + size;
        }
        return out;
      };
      definition.responseDeserialize = (bytes: Buffer): unknown => {
        if (this.twRcvdBytes >= 0 && !this.twEnded) {
          const size = byteLength(bytes);
          this.twRcvdBytes = size < 0 ? -1 : this.twRcvdBytes + size;
        }
        return deserialize(bytes);
      };
    } catch {
      this.twSentBytes = -1;
      this.twRcvdBytes = -1;
    }
  }

  /** Starts the span and returns the metadata to send: a copy carrying the span's context. */
  private twBegin(metadata: Metadata): Metadata {
    const owner = this.twOwner;
    let out = metadata;
    try {
      const info = this.twInfo;
      const parent = this.twParent;
      this.twStartedAt = performance.now();
      // Inside another instrumentation's CLIENT span (the patched client methods of
      // @opentelemetry/instrumentation-grpc start one and call grpc-js in it), with
      // `officialClientSpan: 'reuse'`: that span is the call's; this call makes none and sends its
      // context. A non-recording stand-in keeps the rest of the call's bookkeeping uniform.
      const active = trace.getSpan(parent);
      const shared = owner.reuseOfficial && active !== undefined && spanKindOf(active) === SpanKind.CLIENT;
      let span: Span;
      if (shared) {
        span = trace.wrapSpanContext(active.spanContext());
      } else {
        span = owner
          .tracer()
          .startSpan(
            info.spanName,
            { kind: SpanKind.CLIENT, attributes: owner.spanAttributes(info) },
            parent,
          );
      }
      if (active !== undefined) noteClientSpan(shared, active, info.path, SCOPE_NAME);
      this.twSpan = span;

      // The caller's Metadata may be reused for other calls (grpc-js passes it through as is):
      // write into a copy, and drop any propagation field it carries (a forwarded or reused
      // object) so the context sent is exactly this span's.
      const copy = metadata.clone();
      out = copy;
      const propagator = owner.propagator();
      for (const field of propagator.fields()) copy.remove(field);
      let ctx = shared ? parent : trace.setSpan(parent, span);
      if (owner.options.propagateBaggage !== true && propagation.getBaggage(ctx) !== undefined) {
        ctx = propagation.deleteBaggage(ctx);
      }
      injectContext(copy as unknown as Record<string, unknown>, {
        context: ctx,
        propagator,
        setter: grpcMetadataSetter,
      });

      if (owner.captureRequest.length > 0 && span.isRecording()) {
        owner.captureMetadata(span, ATTR_RPC_REQUEST_METADATA_PREFIX, owner.captureRequest, copy);
      }
      const hook = owner.options.requestHook;
      if (hook !== undefined) {
        owner.call('requestHook', hook, span, {
          path: info.path,
          method: info.method,
          kind: this.twKind,
          metadata: copy,
        });
      }

      const instruments = owner.instruments();
      owner.startCall(instruments, info, owner.activeAttributes);
      this.twInstruments = instruments;
    } catch (error) {
      owner.diag.error('client-start', 'could not start the gRPC client span; the call continues', error);
    }
    return out;
  }

  private twCapture(prefix: string, metadata: Metadata | null | undefined): void {
    const span = this.twSpan;
    const owner = this.twOwner;
    const keys = prefix === ATTR_RPC_REQUEST_METADATA_PREFIX ? owner.captureRequest : owner.captureResponse;
    if (span === undefined || this.twEnded || keys.length === 0) return;
    try {
      if (span.isRecording()) owner.captureMetadata(span, prefix, keys, metadata);
    } catch (error) {
      owner.diag.warn('capture-metadata', 'could not capture metadata', error);
    }
  }

  /** Ends the span and records the metrics, exactly once. Never throws. */
  private twEnd(status: StatusObject): void {
    const span = this.twSpan;
    if (this.twEnded || span === undefined) return;
    const owner = this.twOwner;
    let code: number = GrpcCode.UNKNOWN;
    let info = this.twInfo;
    try {
      this.twCapture(ATTR_RPC_RESPONSE_METADATA_PREFIX, status.metadata);
      this.twEnded = true;
      code = status.code;
      // The server does not know this method: report it as _OTHER (semconv rpc.method).
      const unknownMethod = code === GrpcCode.UNIMPLEMENTED && info.method !== RPC_METHOD_OTHER;
      if (span.isRecording()) {
        const name = grpcCodeName(code);
        span.setAttribute(ATTR_RPC_STATUS_CODE, name);
        span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, code);
        if (unknownMethod) {
          span.setAttribute(ATTR_RPC_METHOD, RPC_METHOD_OTHER);
          span.setAttribute(ATTR_RPC_METHOD_ORIGINAL, info.method);
          span.updateName(RPC_SYSTEM_GRPC);
        }
        if (code !== GrpcCode.OK) {
          span.setAttribute(ATTR_ERROR_TYPE, name);
          const details = typeof status.details === 'string' ? status.details : name;
          span.setStatus({ code: SpanStatusCode.ERROR, message: cap(details, MAX_STATUS_MESSAGE_LENGTH) });
        }
        const peer = parseHost(this.twNext.getPeer());
        if (peer !== undefined) {
          span.setAttribute(ATTR_NETWORK_PEER_ADDRESS, peer.address);
          if (peer.port !== undefined) span.setAttribute(ATTR_NETWORK_PEER_PORT, peer.port);
        }
        const hook = owner.options.responseHook;
        if (hook !== undefined) {
          owner.call('responseHook', hook, span, {
            path: info.path,
            method: info.method,
            kind: this.twKind,
            code,
          });
        }
      }
      if (unknownMethod) {
        info.unimplemented = true;
        info = owner.other;
      }
    } catch (error) {
      this.twEnded = true;
      owner.diag.error('client-end', 'could not record the end of a gRPC client call', error);
    }
    owner.finishCall(
      span,
      this.twInstruments,
      this.twStartedAt,
      info,
      code,
      owner.activeAttributes,
      this.twSentBytes,
      this.twRcvdBytes,
      this.twCallStartedAt,
    );
  }
}
