import type {
  Interceptor,
  InterceptorOptions,
  Listener,
  Metadata,
  NextCall,
  Requester,
  StatusObject,
} from '@grpc/grpc-js';
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
    let call: ClientCall | undefined;
    try {
      call = owner.prepare(callOptions);
    } catch (error) {
      owner.diag.error(
        'client-start',
        'could not instrument a gRPC call; it continues without telemetry',
        error,
      );
    }
    const next = nextCall(callOptions);
    if (call === undefined) return new InterceptingCall(next);
    call.call = next;
    return new InterceptingCall(next, call.requester);
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

  /** Returns the telemetry of a new call, or undefined when the call is not traced. */
  prepare(callOptions: InterceptorOptions): ClientCall | undefined {
    const parent = context.active();
    if (parent.getValue(SUPPRESS_TRACING_KEY) === true) return undefined;
    const marks = callOptions as unknown as Record<symbol, unknown>;
    if (marks[CLIENT_CALL] !== undefined) return undefined;
    const definition = callOptions.method_definition;
    const info = this.methods.get(definition.path);
    if (this.isIgnored(info)) return undefined;
    marks[CLIENT_CALL] = true;
    const call = new ClientCall(
      this,
      info,
      callKind(definition.requestStream, definition.responseStream),
      parent,
    );
    if (this.grpcMetrics) call.measure(definition as unknown as SerializingDefinition);
    return call;
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

/** The telemetry of one client call. */
class ClientCall {
  // Named (TypeScript `private`) fields, not `#private` ones: V8 defines each private field of a
  // new object through a keyed store (about 2.5k instructions per call on the server side).
  readonly requester: Requester;
  /** The next call in the chain (for the peer address). */
  call: { getPeer(): string } | undefined;
  private readonly _owner: ClientInstrumentation;
  private readonly _info: MethodInfo;
  private readonly _kind: GrpcCallKind;
  private readonly _parent: Context;
  private _span: Span | undefined;
  private _instruments: RpcInstruments | undefined;
  private _startedAt = 0;
  /** When the interceptor was invoked (A66 `grpc.client.call.duration` starts before serialization). */
  private readonly _callStartedAt: number = performance.now();
  private _ended = false;
  /** A66 message sizes (bytes, serialized); -1: not measured. */
  private _sentBytes = -1;
  private _rcvdBytes = -1;

  constructor(owner: ClientInstrumentation, info: MethodInfo, kind: GrpcCallKind, parent: Context) {
    this._owner = owner;
    this._info = info;
    this._kind = kind;
    this._parent = parent;
    // Listeners declare their `next` parameter: grpc-js tells listener shapes apart by arity.
    const listener: Listener = {
      onReceiveMetadata: (metadata: Metadata, next: (metadata: Metadata) => void): void => {
        this.#capture(ATTR_RPC_RESPONSE_METADATA_PREFIX, metadata);
        context.with(parent, next, undefined, metadata);
      },
      onReceiveMessage: (message: unknown, next: (message: unknown) => void): void => {
        context.with(parent, next, undefined, message);
      },
      onReceiveStatus: (status: StatusObject, next: (status: StatusObject) => void): void => {
        // End first: the caller's callback may look at the finished span.
        this.#end(status);
        context.with(parent, next, undefined, status);
      },
    };
    this.requester = {
      start: (
        metadata: Metadata,
        _listener: unknown,
        next: (metadata: Metadata, listener: Listener) => void,
      ): void => {
        next(this.#begin(metadata), listener);
      },
    };
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
      this._sentBytes = 0;
      this._rcvdBytes = 0;
      definition.requestSerialize = (value: unknown): Buffer => {
        const out = serialize(value);
        if (this._sentBytes >= 0 && !this._ended) {
          const size = byteLength(out);
          this._sentBytes = size < 0 ? -1 : this._sentBytes + size;
        }
        return out;
      };
      definition.responseDeserialize = (bytes: Buffer): unknown => {
        if (this._rcvdBytes >= 0 && !this._ended) {
          const size = byteLength(bytes);
          this._rcvdBytes = size < 0 ? -1 : this._rcvdBytes + size;
        }
        return deserialize(bytes);
      };
    } catch {
      this._sentBytes = -1;
      this._rcvdBytes = -1;
    }
  }

  /** Starts the span and returns the metadata to send: a copy carrying the span's context. */
  #begin(metadata: Metadata): Metadata {
    const owner = this._owner;
    let out = metadata;
    try {
      const info = this._info;
      this._startedAt = performance.now();
      // Inside another instrumentation's CLIENT span (the patched client methods of
      // @opentelemetry/instrumentation-grpc start one and call grpc-js in it), with
      // `officialClientSpan: 'reuse'`: that span is the call's; this call makes none and sends its
      // context. A non-recording stand-in keeps the rest of the call's bookkeeping uniform.
      const active = trace.getSpan(this._parent);
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
            this._parent,
          );
      }
      if (active !== undefined) noteClientSpan(shared, active, info.path, SCOPE_NAME);
      this._span = span;

      // The caller's Metadata may be reused for other calls (grpc-js passes it through as is):
      // write into a copy, and drop any propagation field it carries (a forwarded or reused
      // object) so the context sent is exactly this span's.
      const copy = metadata.clone();
      out = copy;
      const propagator = owner.propagator();
      for (const field of propagator.fields()) copy.remove(field);
      let ctx = shared ? this._parent : trace.setSpan(this._parent, span);
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
          kind: this._kind,
          metadata: copy,
        });
      }

      const instruments = owner.instruments();
      owner.startCall(instruments, this._info, owner.activeAttributes);
      this._instruments = instruments;
    } catch (error) {
      owner.diag.error('client-start', 'could not start the gRPC client span; the call continues', error);
    }
    return out;
  }

  #capture(prefix: string, metadata: Metadata | null | undefined): void {
    const span = this._span;
    const owner = this._owner;
    const keys = prefix === ATTR_RPC_REQUEST_METADATA_PREFIX ? owner.captureRequest : owner.captureResponse;
    if (span === undefined || this._ended || keys.length === 0) return;
    try {
      if (span.isRecording()) owner.captureMetadata(span, prefix, keys, metadata);
    } catch (error) {
      owner.diag.warn('capture-metadata', 'could not capture metadata', error);
    }
  }

  /** Ends the span and records the metrics, exactly once. */
  #end(status: StatusObject): void {
    const span = this._span;
    if (this._ended || span === undefined) return;
    const owner = this._owner;
    let code: number = GrpcCode.UNKNOWN;
    let info = this._info;
    try {
      this.#capture(ATTR_RPC_RESPONSE_METADATA_PREFIX, status.metadata);
      this._ended = true;
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
        const peer = this.call === undefined ? undefined : parseHost(this.call.getPeer());
        if (peer !== undefined) {
          span.setAttribute(ATTR_NETWORK_PEER_ADDRESS, peer.address);
          if (peer.port !== undefined) span.setAttribute(ATTR_NETWORK_PEER_PORT, peer.port);
        }
        const hook = owner.options.responseHook;
        if (hook !== undefined) {
          owner.call('responseHook', hook, span, {
            path: info.path,
            method: info.method,
            kind: this._kind,
            code,
          });
        }
      }
      if (unknownMethod) {
        info.unimplemented = true;
        info = owner.other;
      }
    } catch (error) {
      this._ended = true;
      owner.diag.error('client-end', 'could not record the end of a gRPC client call', error);
    }
    owner.finishCall(
      span,
      this._instruments,
      this._startedAt,
      info,
      code,
      owner.activeAttributes,
      this._sentBytes,
      this._rcvdBytes,
      this._callStartedAt,
    );
  }
}
