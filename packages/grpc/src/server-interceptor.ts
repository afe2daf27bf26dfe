import type {
  Metadata,
  ServerInterceptingCallInterface,
  ServerInterceptor,
  ServerMethodDefinition,
} from '@grpc/grpc-js';
import { Metadata as GrpcMetadata, ServerInterceptingCall } from '@grpc/grpc-js';
import type { Attributes, Context, Link, Span, Tracer } from '@opentelemetry/api';
import {
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  extractContext,
  hasContextManager,
  isPublicRequest,
  noteSharedServerSpan,
  parseHost,
  spanKindOf,
} from '@tracewire/core';
import { GrpcCode, grpcCodeName, isGrpcCode, isServerError, TRACE_ID_METADATA_KEY } from '@tracewire/errors';
import { hostOf, peerOf } from './internal/connection.js';
import { GrpcInstrumentation, type RpcInstruments } from './internal/instrumentation.js';
import { cap, MAX_STATUS_MESSAGE_LENGTH } from './internal/limits.js';
import { callKind, type MethodInfo } from './internal/method.js';
import { officialServerPatched } from './internal/official.js';
import { byteLength, type MessageDecoder, serverDecoder } from './internal/sizes.js';
import { sentStatusCode, statusWithoutResponse } from './internal/status.js';
import type { GrpcCallKind, GrpcRequestInfo, OtelGrpcServerOptions } from './options.js';
import { validateGrpcOptions } from './options.js';
import {
  ATTR_RPC_GRPC_STATUS_CODE,
  ATTR_RPC_REQUEST_METADATA_PREFIX,
  ATTR_RPC_RESPONSE_METADATA_PREFIX,
  ATTR_RPC_STATUS_CODE,
  RPC_SYSTEM_GRPC,
} from './semconv.js';
import { SCOPE_NAME } from './version.js';

type OutgoingStatus = Parameters<ServerInterceptingCall['sendStatus']>[0];

/**
 * Marks request metadata already handled by a tracewire server interceptor, so registering the
 * interceptor twice still gives one span. `Symbol.for`, so two copies of the package agree.
 */
const SERVER_CALL = Symbol.for('tracewire.grpc.server.call');

/**
 * A grpc-js server interceptor (grpc-js >= 1.10) that gives every call one SERVER span, the RPC
 * server metrics and W3C context propagation from the request metadata. List it **first** in
 * `interceptors`, so it sees what the other interceptors do (grpc-js runs the first one closest to
 * the transport).
 *
 * - The handler (and every listener it registers, such as stream `data` events) runs with the
 *   span active.
 * - The client gets exactly the status the handler sent: code, details, response metadata and
 *   trailers. The one addition: every non-OK status carries the trace id in (a copy of) its
 *   trailing metadata under `trace-id`.
 * - With `redactErrorDetails` (on by default for calls `publicEndpoint` marks public), the
 *   `details` of server-error codes (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
 *   UNAVAILABLE, DATA_LOSS) become the code name, so an `Error`'s message stays in the service.
 * - The span ends exactly once per call, with the status actually sent (client cancel, deadline
 *   and dropped connections included).
 *
 * @example
 * import * as grpc from '@grpc/grpc-js';
 * import { otelGrpcServerInterceptor } from '@tracewire/grpc';
 * const server = new grpc.Server({ interceptors: [otelGrpcServerInterceptor()] });
 */
export function otelGrpcServerInterceptor(options?: OtelGrpcServerOptions): ServerInterceptor {
  validateGrpcOptions(options, SCOPE_NAME, 'server');
  const owner = new ServerInstrumentation(options);
  return function tracewireGrpcServerInterceptor(
    methodDescriptor: ServerMethodDefinition<any, any>,
    call: ServerInterceptingCallInterface,
  ): ServerInterceptingCall {
    try {
      const info = owner.methods.get(methodDescriptor.path);
      if (!owner.isIgnored(info)) {
        // The providers and the context manager, resolved once per call (an SDK registered later is
        // used from the next call on) and handed to the call.
        const tracer = owner.tracer();
        const noop = owner.tracerIsNoop();
        const instruments = owner.instruments();
        const managed = hasContextManager();
        if (owner.idle(noop, instruments, managed)) return new IdleServerCall(call, owner);
        const kind = callKind(methodDescriptor.requestStream, methodDescriptor.responseStream);
        // Beside @opentelemetry/instrumentation-grpc (`officialServerSpan: 'reuse'`, the default),
        // its handler wrapper makes the call's SERVER span: this call makes none.
        const shared = owner.reuseOfficial && officialServerPatched();
        return new ServerCall(
          call,
          owner,
          info,
          kind,
          methodDescriptor,
          shared ? undefined : tracer,
          noop,
          instruments,
          managed,
        );
      }
    } catch (error) {
      owner.diag.error(
        'server-start',
        'could not instrument a gRPC call; it continues without telemetry',
        error,
      );
    }
    return new ServerInterceptingCall(call);
  };
}

class ServerInstrumentation extends GrpcInstrumentation {
  readonly options: OtelGrpcServerOptions;
  /** `officialServerSpan` is not `'own'`. */
  readonly reuseOfficial: boolean;
  /** No hook, predicate or capture list that needs a call's telemetry (see {@link idle}). */
  readonly #plain: boolean;
  #lastHost: string | undefined;
  #lastEndpoint: { address: string; port: number | undefined } | undefined;

  constructor(options: OtelGrpcServerOptions | undefined) {
    super(options, 'server');
    this.options = { ...options };
    const o = this.options;
    this.reuseOfficial = o.officialServerSpan !== 'own';
    this.#plain =
      o.requestHook === undefined &&
      o.responseHook === undefined &&
      (o.publicEndpoint === undefined || o.publicEndpoint === false) &&
      o.redactErrorDetails === undefined &&
      this.captureRequest.length === 0 &&
      this.captureResponse.length === 0;
  }

  /**
   * Whether a call can go without telemetry at all: no SDK (the tracer and the meter are the API's
   * no-ops), no context manager (nothing would see an entered context), and no option that needs
   * the call. Such a call only gets the caller's trace id in the trailers of an error status, as
   * with a no-op span (see {@link IdleServerCall}). Checked per call: an SDK registered later is
   * used from the next call on.
   */
  idle(noop: boolean, instruments: RpcInstruments, managed: boolean): boolean {
    return this.#plain && noop && instruments.noop && !managed;
  }

  /** `server.address`/`server.port` from `:authority` (caller-chosen: validated, spans only). */
  endpoint(host: string | undefined): { address: string; port: number | undefined } | undefined {
    // Nearly every call of a server carries the same authority: remember the last one.
    if (host !== this.#lastHost) {
      this.#lastHost = host;
      this.#lastEndpoint = typeof host === 'string' ? parseHost(host) : undefined;
    }
    return this.#lastEndpoint;
  }

  /** Whether the request is public. A throwing predicate counts as public (the safe side). */
  isPublic(request: GrpcRequestInfo): boolean {
    return isPublicRequest(this.diag, this.options.publicEndpoint, request);
  }

  /** The attribute set of `rpc.server.call.duration` for a method and final code (cached). */
  override durationAttributes(info: MethodInfo, code: number): Attributes {
    const index = isGrpcCode(code) ? code : GrpcCode.UNKNOWN;
    let attributes = info.durationAttributes[index];
    if (attributes === undefined) {
      const name = grpcCodeName(index);
      const a: Attributes = { ...info.attributes, [ATTR_RPC_STATUS_CODE]: name };
      if (isServerError(index)) a[ATTR_ERROR_TYPE] = name;
      attributes = Object.freeze(a);
      info.durationAttributes[index] = attributes;
    }
    return attributes;
  }

  /** A66 names a server method by `grpc.method` alone. */
  protected override grpcMethodAttributes(info: MethodInfo): Attributes {
    return { 'grpc.method': info.grpcMethod };
  }

  /**
   * The non-OK status to send instead of `status`: the same code, the given details, and the
   * trailers with the trace id added, in a copy (the application may reuse its object). A status
   * object of grpc-js's own shape, so nothing the handler set is lost.
   */
  withTraceId(status: OutgoingStatus, details: string, span: Span): OutgoingStatus {
    let metadata: Metadata;
    try {
      metadata = status.metadata ? status.metadata.clone() : new GrpcMetadata();
    } catch {
      metadata = new GrpcMetadata();
    }
    const spanContext = span.spanContext();
    if (isSpanContextValid(spanContext)) metadata.set(TRACE_ID_METADATA_KEY, spanContext.traceId);
    return { ...status, details, metadata };
  }
}

/** The listener a call above this one (another interceptor, or grpc-js's handler call) starts it with. */
type UpperListener = Parameters<ServerInterceptingCall['start']>[0];

/**
 * An intercepting call that is its own listener: grpc-js's `ServerInterceptingCall` (so every
 * accessor it has, on any version, is inherited) whose `start` hands this object to the call below
 * as the listener and passes each event on to the listener above, synchronously. Compared with a
 * `ServerInterceptingCall` built from a listener and a responder (grpc-js copies their functions
 * into objects of its own, so they must be per-call closures), a call allocates one object instead
 * of about a dozen (listener, responder, their closures, grpc-js's listener wrapper and the
 * closures it makes per event).
 *
 * The events are the ones grpc-js's own wrapper passes on, with its rule: after `onCancel`, nothing
 * else is passed on. Fields are `declare`d and set in the constructor only (a class field would be
 * defined, then assigned again), and are prefixed `tw` so they never meet a field of grpc-js's.
 */
abstract class ListeningServerCall extends ServerInterceptingCall implements UpperListener {
  declare protected readonly twCall: ServerInterceptingCallInterface;
  declare protected twUpper: UpperListener | undefined;
  declare protected twCancelled: boolean;

  constructor(call: ServerInterceptingCallInterface) {
    super(call);
    this.twCall = call;
    this.twUpper = undefined;
    this.twCancelled = false;
  }

  override start(listener: UpperListener): void {
    this.twUpper = listener;
    this.twCall.start(this);
  }

  abstract onReceiveMetadata(metadata: Metadata): void;
  abstract onReceiveMessage(message: unknown): void;
  abstract onReceiveHalfClose(): void;
  abstract onCancel(): void;
}

/** The telemetry of one server call. Every method is safe to call in any order, any number of times. */
class ServerCall extends ListeningServerCall {
  declare private readonly twOwner: ServerInstrumentation;
  declare private readonly twInfo: MethodInfo;
  declare private readonly twKind: GrpcCallKind;
  /** Request messages run application code (client or bidi streaming): delivered in the span's context. */
  declare private readonly twStreaming: boolean;
  /** The A66 message sizes are measured (`metricConventions` 'grpc' or 'both'). */
  declare private readonly twSizes: boolean;
  declare private readonly twSerialize: ((value: any) => Buffer) | undefined;
  /** `undefined`: the official instrumentation makes the SERVER span (see `officialServerSpan`). */
  declare private readonly twTracer: Tracer | undefined;
  /** The instruments resolved for this call; `twInstruments` is set once the call was counted in. */
  declare private readonly twResolved: RpcInstruments;
  declare private readonly twNoop: boolean;
  declare private readonly twManaged: boolean;
  declare private twSpan: Span | undefined;
  declare private twContext: Context | undefined;
  declare private twInstruments: RpcInstruments | undefined;
  declare private twStartedAt: number;
  /** The request metadata, for the `redactErrorDetails` predicate (asked only on server errors). */
  declare private twMetadata: Metadata | undefined;
  declare private twRequest: GrpcRequestInfo | undefined;
  /** Whether `publicEndpoint` marked the call public. */
  declare private twPublic: boolean;
  /** The code of the first status passed on to grpc-js. */
  declare private twSent: number | undefined;
  /** Its details as the handler gave them (for the span), only for non-OK statuses. */
  declare private twSentDetails: unknown;
  declare private twEnded: boolean;
  /** A66 message sizes (bytes): sent, and received (-1: not measurable). */
  declare private twSentBytes: number;
  declare private twRcvdBytes: number;
  declare private twDecoder: MessageDecoder | undefined;

  constructor(
    call: ServerInterceptingCallInterface,
    owner: ServerInstrumentation,
    info: MethodInfo,
    kind: GrpcCallKind,
    descriptor: ServerMethodDefinition<any, any>,
    tracer: Tracer | undefined,
    noop: boolean,
    instruments: RpcInstruments,
    managed: boolean,
  ) {
    super(call);
    // Every field set here, in one order: one object shape for every call.
    this.twOwner = owner;
    this.twInfo = info;
    this.twKind = kind;
    this.twStreaming = kind === 'client_stream' || kind === 'bidi';
    this.twSizes = owner.grpcMetrics;
    this.twSerialize = descriptor.responseSerialize;
    this.twTracer = tracer;
    this.twResolved = instruments;
    this.twNoop = noop;
    this.twManaged = managed;
    this.twSpan = undefined;
    this.twContext = undefined;
    this.twInstruments = undefined;
    this.twStartedAt = 0;
    this.twMetadata = undefined;
    this.twRequest = undefined;
    this.twPublic = false;
    this.twSent = undefined;
    this.twSentDetails = undefined;
    this.twEnded = false;
    this.twSentBytes = 0;
    this.twRcvdBytes = 0;
    this.twDecoder = undefined;
  }

  // --- events from the call below (the transport side), passed on to the listener above ---

  onReceiveMetadata(metadata: Metadata): void {
    if (this.twCancelled) return;
    const ctx = this.twBegin(metadata);
    const upper = this.twUpper!;
    if (ctx === undefined) upper.onReceiveMetadata(metadata);
    else context.with(ctx, upper.onReceiveMetadata, upper, metadata);
  }

  onReceiveMessage(message: unknown): void {
    if (this.twCancelled) return;
    if (this.twSizes) this.twReceived();
    const upper = this.twUpper!;
    // A request message runs application code only when requests stream (the handler's `data`
    // listeners). Unary and server-streaming handlers start at half-close: grpc-js only stores
    // their request when it arrives, so that event is passed on as is (no context entered).
    const ctx = this.twStreaming ? this.twContext : undefined;
    if (ctx === undefined) upper.onReceiveMessage(message);
    else context.with(ctx, upper.onReceiveMessage, upper, message);
  }

  onReceiveHalfClose(): void {
    if (this.twCancelled) return;
    const upper = this.twUpper!;
    const ctx = this.twContext;
    if (ctx === undefined) upper.onReceiveHalfClose();
    else context.with(ctx, upper.onReceiveHalfClose, upper);
  }

  /**
   * grpc-js (>= 1.10) calls onCancel once for every call, after the status was written or when the
   * stream closed without one: the one place where the call is over for sure.
   */
  onCancel(): void {
    this.twCancelled = true;
    this.twEnd();
    this.twUpper?.onCancel();
  }

  // --- what the handler (the call above) sends, passed on to the call below ---

  override sendMetadata(metadata: Metadata): void {
    if (this.twOwner.captureResponse.length > 0) this.twCaptureResponse(metadata);
    super.sendMetadata(metadata);
  }

  override sendMessage(message: any, callback: () => void): void {
    if (this.twSizes) this.twCountSent(message);
    super.sendMessage(message, callback);
  }

  override sendStatus(status: OutgoingStatus): void {
    super.sendStatus(this.twOnStatus(status));
  }

  /** Starts the span from the request metadata; returns the context to run the handler in. */
  private twBegin(metadata: Metadata): Context | undefined {
    const owner = this.twOwner;
    try {
      const marks = metadata as unknown as Record<symbol, unknown>;
      if (marks[SERVER_CALL] !== undefined) return undefined;
      marks[SERVER_CALL] = true;
      this.twStartedAt = performance.now();
      const info = this.twInfo;
      const call = this.twCall;
      const options = owner.options;

      // The parent is only what the caller sent: the async context of a transport event is
      // arbitrary (whatever was active when the HTTP/2 session started).
      let parent = extractContext(metadata, owner.extractOptions);
      this.twMetadata = metadata;
      let request: GrpcRequestInfo | undefined;
      let links: Link[] | undefined;
      if (options.publicEndpoint !== undefined && options.publicEndpoint !== false) {
        request = { path: info.path, method: info.method, kind: this.twKind, metadata };
        this.twRequest = request;
        if (owner.isPublic(request)) {
          this.twPublic = true;
          const remote = trace.getSpanContext(parent);
          if (remote !== undefined) links = [{ context: remote }];
          parent = propagation.deleteBaggage(trace.deleteSpan(parent));
        }
      }

      const tracer = this.twTracer;
      // No SDK registered: the span records nothing, so neither its attributes nor a context of its
      // own (the parent already carries the caller's span context) are built. Literal keys, not the
      // ATTR_* constants: computed keys make V8 add each property through the runtime.
      const noop = this.twNoop;
      let attributes: Attributes | undefined;
      if (!noop && tracer !== undefined) {
        attributes = { 'rpc.system.name': RPC_SYSTEM_GRPC, 'rpc.method': info.method };
        if (info.original !== undefined) attributes['rpc.method_original'] = info.original;
        // grpc-js 1.10 has neither getHost nor getConnectionInfo: feature-detected (internal/connection).
        const endpoint = owner.endpoint(hostOf(call));
        if (endpoint !== undefined) {
          attributes['server.address'] = endpoint.address;
          if (endpoint.port !== undefined) attributes['server.port'] = endpoint.port;
        }
        const connection = peerOf(call);
        if (connection?.remoteAddress !== undefined) {
          attributes['network.peer.address'] = connection.remoteAddress;
          if (connection.remotePort !== undefined) attributes['network.peer.port'] = connection.remotePort;
        }
      }

      let span: Span;
      if (tracer === undefined) {
        // The official instrumentation's handler wrapper makes the SERVER span (from the same
        // metadata) and runs the handler in it: no span and no context of this call's own. A
        // non-recording stand-in carries the caller's span context for the hooks and the trailers.
        span = trace.wrapSpanContext(trace.getSpanContext(parent) ?? INVALID_SPAN_CONTEXT);
        noteSharedServerSpan();
      } else {
        span = tracer.startSpan(info.spanName, { kind: SpanKind.SERVER, attributes, links }, parent);
        // Without a context manager, entering a context changes nothing: the events are passed on
        // directly (twContext stays undefined).
        const ctx = noop ? parent : trace.setSpan(parent, span);
        if (this.twManaged) this.twContext = ctx;
      }
      this.twSpan = span;

      if (owner.captureRequest.length > 0 && span.isRecording()) {
        owner.captureMetadata(span, ATTR_RPC_REQUEST_METADATA_PREFIX, owner.captureRequest, metadata);
      }
      if (options.requestHook !== undefined) {
        request ??= { path: info.path, method: info.method, kind: this.twKind, metadata };
        this.twRequest = request;
        owner.call('requestHook', options.requestHook, span, request);
      }

      // The decrement uses this same instruments object and the same attribute object.
      const instruments = this.twResolved;
      owner.startCall(instruments, info, info.attributes);
      this.twInstruments = instruments;
      return this.twContext;
    } catch (error) {
      owner.diag.error('server-start', 'could not start the gRPC server span; the call continues', error);
      return this.twContext;
    }
  }

  /**
   * Adds the size of the request message being delivered: the length prefix of the last message
   * grpc-js's per-call decoder read (the size on the wire, compressed if the client compressed).
   */
  private twReceived(): void {
    if (this.twSpan === undefined || this.twEnded || this.twRcvdBytes < 0) return;
    let decoder = this.twDecoder;
    if (decoder === undefined) {
      decoder = serverDecoder(this.twCall);
      if (decoder === undefined) {
        this.twRcvdBytes = -1;
        return;
      }
      this.twDecoder = decoder;
    }
    const size = decoder.readMessageSize;
    if (size >= 0) this.twRcvdBytes += size;
  }

  /**
   * Adds the size of a response message: its serialized length. grpc-js serializes it again below
   * this interceptor (and never compresses responses), so this is the size on the wire.
   */
  private twCountSent(message: unknown): void {
    const serialize = this.twSerialize;
    if (this.twSpan === undefined || this.twEnded || this.twSentBytes < 0 || serialize === undefined) return;
    try {
      const size = byteLength(serialize(message));
      this.twSentBytes = size < 0 ? -1 : this.twSentBytes + size;
    } catch {
      // grpc-js fails the same serialization below and sends INTERNAL; nothing was sent.
    }
  }

  /**
   * Remembers the first outgoing status and passes it on: unchanged when OK (no allocation), else
   * with the trace id added to a copy of its trailers and, if `redactErrorDetails` says so, the
   * details of a server error replaced by the code name. Code and everything else are untouched.
   */
  private twOnStatus(status: OutgoingStatus): OutgoingStatus {
    const span = this.twSpan;
    if (span === undefined || this.twEnded || this.twSent !== undefined) return status;
    try {
      const code = status.code;
      this.twSent = code;
      if (code === GrpcCode.OK) {
        if (status.metadata) this.twCaptureResponse(status.metadata);
        return status;
      }
      const details = status.details;
      this.twSentDetails = details;
      // Beside the official instrumentation, the trace id is its SERVER span's: the handler's
      // context (still active while the handler sends its status), else the caller's.
      let carrier = span;
      if (this.twTracer === undefined) {
        const active = trace.getActiveSpan();
        if (active !== undefined && spanKindOf(active) === SpanKind.SERVER) carrier = active;
      }
      const out = this.twOwner.withTraceId(
        status,
        isServerError(code) && this.twRedacts() ? grpcCodeName(code) : details,
        carrier,
      );
      if (out.metadata) this.twCaptureResponse(out.metadata);
      return out;
    } catch (error) {
      this.twOwner.diag.error(
        'server-status',
        'could not add the trace id to a gRPC status; it is sent unchanged',
        error,
      );
      return status;
    }
  }

  /** `redactErrorDetails` for this call: the option, else whether the call is public. */
  private twRedacts(): boolean {
    const owner = this.twOwner;
    const option = owner.options.redactErrorDetails;
    if (option === undefined) return this.twPublic;
    if (typeof option === 'boolean') return option;
    let request = this.twRequest;
    if (request === undefined) {
      const info = this.twInfo;
      const metadata = this.twMetadata ?? new GrpcMetadata();
      request = { path: info.path, method: info.method, kind: this.twKind, metadata };
      this.twRequest = request;
    }
    try {
      return option(request) === true;
    } catch (error) {
      owner.diag.error(
        'hook:redactErrorDetails',
        'the redactErrorDetails predicate threw; the details are redacted',
        error,
      );
      return true;
    }
  }

  private twCaptureResponse(metadata: Metadata): void {
    const span = this.twSpan;
    const owner = this.twOwner;
    if (span === undefined || this.twEnded || owner.captureResponse.length === 0) return;
    try {
      if (span.isRecording()) {
        owner.captureMetadata(span, ATTR_RPC_RESPONSE_METADATA_PREFIX, owner.captureResponse, metadata);
      }
    } catch (error) {
      owner.diag.warn('capture-metadata', 'could not capture response metadata', error);
    }
  }

  /** Ends the span and records the metrics, exactly once. Never throws. */
  private twEnd(): void {
    const span = this.twSpan;
    if (this.twEnded || span === undefined) return;
    this.twEnded = true;
    const owner = this.twOwner;
    const info = this.twInfo;
    let code: number = GrpcCode.CANCELLED;
    try {
      // What went on the wire wins; then what passed through this interceptor; then, with no
      // status at all, the deadline decides between DEADLINE_EXCEEDED and CANCELLED.
      const wire = sentStatusCode(this.twCall);
      const sent = (wire === undefined ? this.twSent : wire) ?? statusWithoutResponse(this.twCall);
      // A code outside 0-16 goes to the client as sent; telemetry records it as UNKNOWN.
      code = isGrpcCode(sent) ? sent : GrpcCode.UNKNOWN;
      if (span.isRecording()) {
        const name = grpcCodeName(code);
        span.setAttribute(ATTR_RPC_STATUS_CODE, name);
        span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, code);
        if (isServerError(code)) {
          span.setAttribute(ATTR_ERROR_TYPE, name);
          // The span is internal telemetry: it keeps the details the handler sent (even when they
          // were redacted for the client), capped; the code name when grpc-js sent the status.
          const details = sent === this.twSent ? this.twSentDetails : undefined;
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message:
              typeof details === 'string' && details.length > 0
                ? cap(details, MAX_STATUS_MESSAGE_LENGTH)
                : name,
          });
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
    } catch (error) {
      owner.diag.error('server-end', 'could not record the end of a gRPC server call', error);
    }
    owner.finishCall(
      span,
      this.twInstruments,
      this.twStartedAt,
      info,
      code,
      info.attributes,
      this.twSentBytes,
      this.twRcvdBytes,
    );
  }
}

/**
 * A call served while nothing records (see {@link ServerInstrumentation.idle}): no span, no
 * metric, no context. What is left is what a no-op span would give: an error status carries the
 * caller's trace id (from the request's trace context, extracted only then) in a copy of its
 * trailers. OK statuses pass through untouched.
 */
class IdleServerCall extends ListeningServerCall {
  declare private readonly twOwner: ServerInstrumentation;
  declare private twMetadata: Metadata | undefined;
  declare private twDone: boolean;

  constructor(call: ServerInterceptingCallInterface, owner: ServerInstrumentation) {
    super(call);
    this.twOwner = owner;
    this.twMetadata = undefined;
    this.twDone = false;
  }

  // No SERVER_CALL mark: a second tracewire interceptor with options (hooks) still gets the call,
  // and two idle ones write the same trace id (set, not appended).
  onReceiveMetadata(metadata: Metadata): void {
    if (this.twCancelled) return;
    this.twMetadata = metadata;
    this.twUpper!.onReceiveMetadata(metadata);
  }

  onReceiveMessage(message: unknown): void {
    if (!this.twCancelled) this.twUpper!.onReceiveMessage(message);
  }

  onReceiveHalfClose(): void {
    if (!this.twCancelled) this.twUpper!.onReceiveHalfClose();
  }

  onCancel(): void {
    this.twCancelled = true;
    this.twUpper?.onCancel();
  }

  override sendStatus(status: OutgoingStatus): void {
    super.sendStatus(this.twOnStatus(status));
  }

  private twOnStatus(status: OutgoingStatus): OutgoingStatus {
    const metadata = this.twMetadata;
    if (this.twDone || metadata === undefined) return status;
    this.twDone = true;
    if (status.code === GrpcCode.OK) return status;
    const owner = this.twOwner;
    try {
      const parent = extractContext(metadata, owner.extractOptions);
      const remote = trace.getSpanContext(parent);
      if (remote === undefined || !isSpanContextValid(remote)) return status;
      return owner.withTraceId(status, status.details, trace.wrapSpanContext(remote));
    } catch (error) {
      owner.diag.error(
        'server-status',
        'could not add the trace id to a gRPC status; it is sent unchanged',
        error,
      );
      return status;
    }
  }
}
