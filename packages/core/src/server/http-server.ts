import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Attributes, Context, Link, Span, SpanContext, Tracer } from '@opentelemetry/api';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { callHook, isPublicRequest, LazyTracer, toRecordableException } from '../instrumentation-scope.js';
import { bindEmitter, hasContextManager } from '../internal/bind-emitter.js';
import { RateLimitedDiag } from '../internal/diag.js';
import { cap } from '../internal/limits.js';
import { HttpServerMetrics } from '../metrics/http-server-metrics.js';
import type { HttpInstrumentationOptions, IgnoreMatcher, RequestLogLike, SpanNameInfo } from '../options.js';
import { validateHttpOptions } from '../options.js';
import {
  hasRandomTraceFlag,
  httpHeaderGetter,
  resolvePropagator,
  TRACERESPONSE_HEADER,
  traceResponseHeaderValue,
} from '../propagation/index.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ERROR_TYPE_ABORTED,
  ERROR_TYPE_OTHER,
} from '../semconv.js';
import { METHOD_OTHER, normalizeMethod } from './method.js';
import { getHttpRpcMetadata, type HttpRpcMetadata } from './official.js';
import { noteNestedServerSpan, noteSharedServerSpan } from './runtime-findings.js';
import { parseHost, splitTarget } from './url.js';

/**
 * Marks a request that already has a tracewire server span, so mounting the middleware twice (or
 * Express plus the Nest module) still gives one span. A `Symbol.for` key, so that two copies of
 * the package agree.
 */
const SERVER_REQUEST = Symbol.for('tracewire.http.server.request');

/** Who is instrumenting: the instrumentation scope of spans and metrics, and adapter hooks. */
export interface HttpServerAdapter<TReq> {
  /** Instrumentation scope name, e.g. `@tracewire/express`. */
  name: string;
  /** Instrumentation scope version. */
  version: string;
  /**
   * Reads the route template when the request ends, if the adapter did not call `setRoute`. A throw
   * is contained (the span just gets no route).
   */
  resolveRoute?: (request: TReq) => string | undefined;
  /**
   * Extra span attributes read when the request ends, only for a recording span (e.g. the
   * framework's controller and handler names). A throw is contained (the span just lacks them).
   */
  resolveAttributes?: (request: TReq) => Attributes | undefined;
}

/**
 * Where a framework keeps the headers it sends itself (Fastify's reply: `reply.header(name, value)`,
 * written with `writeHead(status, headers)`). Given to {@link HttpServerInstrumentation.start}, the
 * `traceresponse` header goes there instead of onto the Node response: once any header is set on
 * the Node response, Node's `writeHead(status, headers)` takes its slow path and copies every
 * header of the framework through `setHeader` again (validation, lower-casing, one array each),
 * about 10k instructions a request on Fastify.
 */
export interface ResponseHeaderSink {
  header(name: string, value: string): unknown;
}

/**
 * One request's telemetry: its server span and context. Adapters get it from
 * {@link HttpServerInstrumentation.start} and user code from {@link getServerRequest}.
 */
export interface ServerRequest {
  /** The SERVER span of this request. */
  readonly span: Span;
  /** The context to run the rest of the request in (the span is active in it). */
  readonly context: Context;
  /** Sets the low-cardinality route template (`/users/:id`); never pass a raw path. */
  setRoute(route: string | undefined): void;
  /**
   * Records an exception on the span, once per error object. `errorType` (low-cardinality, e.g.
   * a gRPC code name) becomes `error.type` if the response never completes with a status.
   */
  recordException(error: unknown, errorType?: string): void;
  /** Whether the span has ended. */
  readonly ended: boolean;
  /** The request's child logger, when `options.logger` is set (adapters expose it as `req.log`). */
  readonly log: RequestLogLike | undefined;
  /**
   * The route template: what `setRoute` set, or what the adapter resolved when the request ended
   * (so listeners of the response's `close` event added after the middleware can read it).
   */
  readonly route: string | undefined;
}

/** Returns the tracewire server request of a Node request, if one is in progress. */
export function getServerRequest(request: object): ServerRequest | undefined {
  return (request as Record<symbol, ServerRequest | undefined>)[SERVER_REQUEST];
}

const PROTOCOL_VERSIONS: Readonly<Record<string, string>> = {
  '1.0': '1.0',
  '1.1': '1.1',
  '2.0': '2',
  '3.0': '3',
};

/**
 * The server request lifecycle every HTTP adapter shares: extract the parent, start the SERVER
 * span with the stable HTTP attributes, count the request as active, and end everything exactly
 * once when the response closes, with the status actually sent.
 *
 * @example
 * const instrumentation = new HttpServerInstrumentation(options, { name: 'my-adapter', version: '1.0.0' });
 * http.createServer((req, res) => {
 *   const request = instrumentation.start(req, res);
 *   if (request === undefined) return handle(req, res);
 *   context.with(request.context, handle, undefined, req, res);
 * });
 */
export class HttpServerInstrumentation<
  TReq extends IncomingMessage = IncomingMessage,
  TRes extends ServerResponse = ServerResponse,
> {
  readonly options: HttpInstrumentationOptions<TReq, TRes>;
  readonly adapter: HttpServerAdapter<TReq>;
  readonly diag: RateLimitedDiag = new RateLimitedDiag();
  readonly metrics: HttpServerMetrics;
  readonly #ignore: IgnoreMatcher<TReq>[];
  readonly #captureRequest: string[];
  readonly #captureResponse: string[];
  readonly #traceResponse: boolean;
  readonly #reuseOfficial: boolean;
  readonly #tracer: LazyTracer;
  #lastHost: string | undefined;
  #lastHostParsed: ReturnType<typeof parseHost>;

  constructor(options: HttpInstrumentationOptions<TReq, TRes> | undefined, adapter: HttpServerAdapter<TReq>) {
    validateHttpOptions(options, adapter.name);
    this.options = { ...options };
    this.adapter = adapter;
    const ignore = this.options.ignore;
    this.#ignore =
      ignore === undefined ? [] : Array.isArray(ignore) ? [...ignore] : [ignore as IgnoreMatcher<TReq>];
    this.#captureRequest = (this.options.captureRequestHeaders ?? []).map((h) => h.toLowerCase());
    this.#captureResponse = (this.options.captureResponseHeaders ?? []).map((h) => h.toLowerCase());
    this.#traceResponse = this.options.traceResponseHeader ?? true;
    this.#reuseOfficial = this.options.officialServerSpan !== 'own';
    this.metrics = new HttpServerMetrics(this.options.meterProvider, adapter.name, adapter.version);
    this.#tracer = new LazyTracer(this.options.tracerProvider, adapter.name, adapter.version);
  }

  /** The tracer, resolved lazily so an SDK registered after the middleware was created is used. */
  tracer(): Tracer {
    return this.#tracer.get();
  }

  /**
   * Starts the telemetry of one request. Returns `undefined` when the request is ignored or
   * already instrumented (the caller then just continues). Never throws. `headers`: where the
   * framework keeps the headers it sends (see {@link ResponseHeaderSink}); without it the
   * `traceresponse` header is set on `response`.
   */
  start(request: TReq, response: TRes, headers?: ResponseHeaderSink): ServerRequest | undefined {
    if ((request as unknown as Record<symbol, unknown>)[SERVER_REQUEST] !== undefined) return undefined;
    try {
      const target = splitTarget(request.url ?? '/');
      if (this.#ignore.length > 0 && this.#isIgnored(request, target.path)) return undefined;
      if (this.#reuseOfficial) {
        // Another instrumentation (instrumentation-http) already made this request's SERVER span and
        // left its RPC metadata in the active context: use that span instead of a second one. Metadata
        // that a tracewire request already claimed belongs to an outer request, not to this one.
        const meta = getHttpRpcMetadata(context.active());
        if (
          meta !== undefined &&
          (meta as unknown as Record<symbol, unknown>)[SERVER_REQUEST] === undefined
        ) {
          return new SharedServerRequest<TReq, TRes>(this, request, response, target.path, meta, headers);
        }
      }
      // The constructor marks the request (SERVER_REQUEST) itself, before anything that may fail.
      return new ActiveServerRequest<TReq, TRes>(this, request, response, target.path, target.query, headers);
    } catch (error) {
      this.diag.error('start', 'could not start the server span; the request continues without it', error);
      return undefined;
    }
  }

  /** Whether the path or request matches `options.ignore`. A throwing predicate does not ignore. */
  #isIgnored(request: TReq, path: string): boolean {
    for (const m of this.#ignore) {
      if (typeof m === 'string') {
        if (m === path) return true;
      } else if (m instanceof RegExp) {
        m.lastIndex = 0;
        if (m.test(path)) return true;
      } else if (this.call('ignore', m, request) === true) {
        return true;
      }
    }
    return false;
  }

  /** Runs a user callback; a throw is contained and reported (rate-limited) under `hook`. */
  call<A extends unknown[], R>(hook: string, fn: (...args: A) => R, ...args: A): R | undefined {
    return callHook(this.diag, hook, fn, ...args);
  }

  /** @internal Whether the request is public (its inbound context is only linked). */
  isPublic(request: TReq): boolean {
    return isPublicRequest(this.diag, this.options.publicEndpoint, request);
  }

  /**
   * @internal `server.address`/`server.port` from a Host header. Nearly every request of a server
   * carries the same Host, so the last parse is remembered (one string compare per request).
   */
  host(header: string | undefined): ReturnType<typeof parseHost> {
    if (header !== this.#lastHost) {
      this.#lastHost = header;
      this.#lastHostParsed = parseHost(header);
    }
    return this.#lastHostParsed;
  }

  /**
   * @internal Whether the tracer is the API's no-op (no SDK registered), as of the last
   * {@link tracer} call.
   */
  tracerIsNoop(): boolean {
    return this.#tracer.noop;
  }

  /** @internal */
  get captureRequest(): readonly string[] {
    return this.#captureRequest;
  }

  /** @internal */
  get captureResponse(): readonly string[] {
    return this.#captureResponse;
  }

  /** @internal */
  get traceResponse(): boolean {
    return this.#traceResponse;
  }
}

/** The error bookkeeping both request kinds keep (their `private` fields, seen from the helpers). */
interface RequestErrors {
  readonly span: Span;
  readonly ended: boolean;
  readonly _owner: { readonly diag: RateLimitedDiag };
  _errorType: string | undefined;
  _recorded: unknown[] | undefined;
}

/** Records an exception on the request's span, once per error object. */
function recordOnce(handle: RequestErrors, error: unknown, errorType: string | undefined): void {
  if (handle.ended) return;
  if (handle._recorded?.includes(error)) return;
  if (handle._recorded === undefined) handle._recorded = [];
  handle._recorded.push(error);
  if (errorType !== undefined) handle._errorType = errorType;
  try {
    handle.span.recordException(toRecordableException(error));
  } catch (e) {
    handle._owner.diag.warn('recordException', 'could not record an exception', e);
  }
}

/**
 * A response the server destroyed with an error (`res.destroy(err)`, which `stream.pipeline(body,
 * res)` does when the body stream fails after the headers went out) is a server failure, not a
 * client abort: Node keeps that error in `res.errored`. Client aborts leave it null.
 */
function takeResponseError(handle: RequestErrors, response: ServerResponse): void {
  const errored: unknown = (response as { errored?: unknown }).errored;
  if (errored === null || errored === undefined) return;
  handle._errorType = ERROR_TYPE_OTHER;
  if (handle._recorded?.includes(errored)) return;
  handle.span.recordException(toRecordableException(errored));
}

/** The adapter's route for a request that set none (a throwing resolver counts as none). */
function resolveRoute<TReq extends IncomingMessage, TRes extends ServerResponse>(
  owner: HttpServerInstrumentation<TReq, TRes>,
  request: TReq,
): string | undefined {
  if (owner.adapter.resolveRoute === undefined) return undefined;
  const r = owner.call('resolveRoute', owner.adapter.resolveRoute, request);
  return typeof r === 'string' && r.length > 0 ? cap(r, 512) : undefined;
}

class ActiveServerRequest<TReq extends IncomingMessage, TRes extends ServerResponse>
  implements ServerRequest
{
  // Plain properties, all assigned in the constructor (TypeScript `declare`, so nothing is emitted
  // for them), rather than class fields and `#private` members: each class field definition, each
  // `#private` field and the brand that `#private` methods put on every instance is one more
  // DefineKeyedOwnIC per request, and every `#private` store a keyed store; together about 2k
  // instructions per request, a seventh of the whole no-SDK cost of a Koa request. `private` keeps
  // them out of the typed API.
  declare readonly span: Span;
  declare readonly context: Context;
  declare ended: boolean;
  declare readonly log: RequestLogLike | undefined;
  declare private readonly _owner: HttpServerInstrumentation<TReq, TRes>;
  declare private readonly _request: TReq;
  declare private readonly _response: TRes;
  declare private readonly _startedAt: number;
  declare private readonly _path: string;
  declare private readonly _method: string;
  declare private readonly _activeAttributes: Attributes;
  declare private readonly _protocol: string | undefined;
  declare private readonly _scheme: string;
  declare private _counted: boolean;
  declare private _route: string | undefined;
  declare private _errorType: string | undefined;
  declare private _recorded: unknown[] | undefined;

  constructor(
    owner: HttpServerInstrumentation<TReq, TRes>,
    request: TReq,
    response: TRes,
    path: string,
    query: string | undefined,
    headers: ResponseHeaderSink | undefined,
  ) {
    // Every property in the same order for every request (one hidden class), the late ones first
    // as undefined.
    this._owner = owner;
    this._request = request;
    this._response = response;
    this._startedAt = performance.now();
    this._path = path;
    this.ended = false;
    this._counted = false;
    this._route = undefined;
    this._errorType = undefined;
    this._recorded = undefined;

    const options = owner.options;
    const rawMethod = request.method ?? 'GET';
    const method = normalizeMethod(rawMethod);
    this._method = method;
    const scheme = (request.socket as { encrypted?: boolean } | null)?.encrypted === true ? 'https' : 'http';
    const protocol = PROTOCOL_VERSIONS[request.httpVersion];

    // Parent: the W3C headers, unless the endpoint is public (then a new root linked to them).
    const active = context.active();
    let parent: Context;
    let links: Link[] | undefined;
    try {
      parent = resolvePropagator(options.propagator).extract(active, request.headers, httpHeaderGetter);
    } catch (error) {
      owner.diag.warn('extract', 'the propagator threw while extracting; starting a new trace', error);
      parent = active;
    }
    if (owner.isPublic(request)) {
      const remote = trace.getSpanContext(parent);
      if (remote !== undefined && parent !== active) links = [{ context: remote }];
      parent = propagation.deleteBaggage(trace.deleteSpan(parent));
    }

    const tracer = owner.tracer();
    const noop = owner.tracerIsNoop();
    // With no SDK registered the span records nothing: skip building its attributes. Otherwise they
    // are all given at start, where samplers can see them (semconv lists them as sampling-relevant).
    // The keys are written out as literals, not the ATTR_* constants: computed keys make V8 add every
    // property through the runtime, which cost more than the rest of this constructor together.
    let attributes: Attributes | undefined;
    if (!noop) {
      attributes = { 'http.request.method': method, 'url.path': path, 'url.scheme': scheme };
      if (method === METHOD_OTHER) attributes['http.request.method_original'] = cap(rawMethod, 64);
      if (query !== undefined) attributes['url.query'] = query;
      const host = owner.host(request.headers.host);
      if (host !== undefined) {
        attributes['server.address'] = host.address;
        if (host.port !== undefined) attributes['server.port'] = host.port;
      }
      const socket = request.socket as { remoteAddress?: string; remotePort?: number } | null;
      // Getters that ask the socket each time: read once.
      const remoteAddress = socket?.remoteAddress;
      if (remoteAddress !== undefined) {
        attributes['client.address'] = remoteAddress;
        attributes['network.peer.address'] = remoteAddress;
        const remotePort = socket?.remotePort;
        if (remotePort !== undefined) attributes['network.peer.port'] = remotePort;
      }
      const ua = request.headers['user-agent'];
      if (ua !== undefined) attributes['user_agent.original'] = cap(ua, 512);
      if (protocol !== undefined) attributes['network.protocol.version'] = protocol;
      for (const name of owner.captureRequest) {
        const v = request.headers[name];
        if (v !== undefined) attributes[`http.request.header.${name}`] = headerValues(v);
      }
    }

    const span = tracer.startSpan(
      method === METHOD_OTHER ? 'HTTP' : method,
      { kind: SpanKind.SERVER, attributes, links },
      parent,
    );
    this.span = span;
    // Another instrumentation's SERVER span for this request (with officialServerSpan 'own', or from
    // one that leaves no RPC metadata) means two SERVER spans per request: remembered for the
    // doctor's in-process check. instrumentation-http's span is found through its RPC metadata, as a
    // framework instrumentation's INTERNAL span may be the active one when the middleware runs.
    if (!noop) {
      noteNestedServerSpan(
        getHttpRpcMetadata(active)?.span ?? trace.getSpan(active),
        path,
        owner.adapter.name,
      );
    }
    // The API's no-op span only repeats the parent's span context, which `parent` already carries
    // (or no span at all): a context of its own would be one more Map and three closures (the API's
    // BaseContext) for the same content.
    this.context = noop ? parent : trace.setSpan(parent, span);

    // 'close' fires for every response, once: after 'finish' on success, alone on abort. Ending there
    // (not on 'finish') means an aborted request still ends its span (js-contrib #3461). It is
    // registered first so that the span ends even if a later step of this constructor fails. `on`,
    // not `once`: #end runs once anyway, and `once` allocates a wrapper and removes it again.
    // Marked here, not by start(): the shared listener finds the handle through the request even
    // when a later step of this constructor throws.
    (request as unknown as Record<symbol, unknown>)[SERVER_REQUEST] = this;
    if ((response as { req?: unknown }).req === request) response.on('close', ActiveServerRequest.onClose);
    else response.on('close', () => this._end());

    if (options.requestHook !== undefined) owner.call('requestHook', options.requestHook, span, request);
    const logger = options.logger;
    this.log = logger === undefined ? undefined : owner.call('logger', () => logger.child({}));

    if (owner.traceResponse && !noop) {
      const spanContext = span.spanContext();
      // A tracer that made no span of its own returns the parent's span context: echoing it back
      // would be a lie.
      if (spanContext !== trace.getSpanContext(parent) && !response.headersSent) {
        const value = traceResponseHeaderValue(withRandomFlag(parent, spanContext));
        if (value !== undefined) setTraceResponse(response, headers, value);
      }
    }

    // The active-requests gauge carries method and scheme only (semconv), and the decrement uses
    // this very object so it always matches the increment.
    this._activeAttributes = { 'http.request.method': method, 'url.scheme': scheme };
    this._scheme = scheme;
    this._protocol = protocol;
    owner.metrics.get().activeRequests.add(1, this._activeAttributes);
    this._counted = true;

    // Emitters of the request run their listeners in the request's context.
    if (hasContextManager()) {
      bindEmitter(request, this.context);
      bindEmitter(response, this.context);
    }
  }

  /**
   * The 'close' listener, shared by every response whose `req` is its request (every Node
   * response): one function for all requests instead of a closure per request.
   */
  static readonly onClose = function (this: ServerResponse): void {
    const handle = (this.req as unknown as Record<symbol, unknown> | undefined)?.[SERVER_REQUEST];
    if (handle instanceof ActiveServerRequest) handle._end();
  };

  get route(): string | undefined {
    return this._route;
  }

  setRoute(route: string | undefined): void {
    if (typeof route === 'string' && route.length > 0) this._route = cap(route, 512);
  }

  recordException(error: unknown, errorType?: string): void {
    recordOnce(this as unknown as RequestErrors, error, errorType);
  }

  private _end(): void {
    if (this.ended) return;
    this.ended = true;
    const owner = this._owner;
    try {
      const response = this._response;
      const span = this.span;
      const options = owner.options;
      const finished = response.writableFinished;
      const status = response.headersSent ? wireStatus(response) : undefined;

      let route = this._route;
      if (route === undefined) {
        route = resolveRoute(owner, this._request);
        this._route = route;
      }

      let errorType: string | undefined;
      let failed = false;
      if (status !== undefined && status >= 500) {
        errorType = String(status);
        failed = true;
      } else if (!finished) {
        // The client went away, or the server gave up on the response after an error.
        if (this._errorType === undefined) this._takeResponseError(response);
        if (this._errorType !== undefined) {
          errorType = this._errorType;
          failed = true;
        } else {
          errorType = ERROR_TYPE_ABORTED;
        }
      }

      // Literal keys, as in the constructor.
      const metricAttributes: Attributes = {
        'http.request.method': this._method,
        'url.scheme': this._scheme,
      };
      if (this._protocol !== undefined) metricAttributes['network.protocol.version'] = this._protocol;
      if (route !== undefined) metricAttributes['http.route'] = route;
      if (status !== undefined) metricAttributes['http.response.status_code'] = status;
      if (errorType !== undefined) metricAttributes['error.type'] = errorType;

      if (span.isRecording()) {
        if (route !== undefined) span.setAttribute(ATTR_HTTP_ROUTE, route);
        if (status !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        if (errorType !== undefined) span.setAttribute(ATTR_ERROR_TYPE, errorType);
        for (const name of owner.captureResponse) {
          const v = responseHeader(response, name);
          if (v !== undefined) span.setAttribute(`http.response.header.${name}`, headerValues(v));
        }
        const resolveAttributes = owner.adapter.resolveAttributes;
        if (resolveAttributes !== undefined) {
          const extra = owner.call('resolveAttributes', resolveAttributes, this._request);
          if (typeof extra === 'object' && extra !== null) span.setAttributes(extra);
        }
        if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
        span.updateName(this._spanName(route));
        if (options.responseHook !== undefined)
          owner.call('responseHook', options.responseHook, span, response);
      }
      span.end();

      const instruments = owner.metrics.get();
      instruments.duration.record((performance.now() - this._startedAt) / 1000, metricAttributes);
      if (this._counted) instruments.activeRequests.add(-1, this._activeAttributes);
      if (options.accessLog === true && this.log !== undefined) this._accessLine(route, status, finished);
    } catch (error) {
      owner.diag.error('end', 'could not end the server span cleanly', error);
    }
  }

  /** See {@link takeResponseError}. */
  private _takeResponseError(response: TRes): void {
    takeResponseError(this as unknown as RequestErrors, response);
  }

  /** The access line of `options.accessLog` (contained: a throwing logger changes nothing). */
  private _accessLine(route: string | undefined, status: number | undefined, finished: boolean): void {
    const log = this.log;
    if (log === undefined) return;
    accessLine(
      this._owner,
      this.context,
      log,
      this._request.method,
      route,
      this._path,
      status,
      finished,
      this._startedAt,
    );
  }

  private _spanName(route: string | undefined): string {
    const formatter = this._owner.options.spanNameFormatter;
    if (formatter !== undefined) {
      const info: SpanNameInfo<TReq> = { method: this._method, route, request: this._request };
      const name = this._owner.call('spanNameFormatter', formatter, info);
      if (typeof name === 'string' && name.length > 0) return cap(name, 256);
    }
    const method = this._method === METHOD_OTHER ? 'HTTP' : this._method;
    return route === undefined ? method : `${method} ${route}`;
  }
}

/**
 * A request whose SERVER span another instrumentation made (instrumentation-http, found through its
 * RPC metadata): no second span and no second duration. At the response's `close` (a listener put in
 * front of the official one, so it runs before that span ends and reads the route) it writes the
 * route into the metadata, and tracewire's attributes, exceptions and hooks onto that span; the
 * official instrumentation then names the span `METHOD route`, ends it and records its duration.
 */
class SharedServerRequest<TReq extends IncomingMessage, TRes extends ServerResponse>
  implements ServerRequest
{
  declare readonly span: Span;
  declare readonly context: Context;
  declare ended: boolean;
  declare readonly log: RequestLogLike | undefined;
  declare private readonly _owner: HttpServerInstrumentation<TReq, TRes>;
  declare private readonly _request: TReq;
  declare private readonly _response: TRes;
  declare private readonly _meta: HttpRpcMetadata;
  declare private readonly _startedAt: number;
  declare private readonly _path: string;
  declare private readonly _activeAttributes: Attributes;
  declare private _route: string | undefined;
  declare private _errorType: string | undefined;
  declare private _recorded: unknown[] | undefined;

  constructor(
    owner: HttpServerInstrumentation<TReq, TRes>,
    request: TReq,
    response: TRes,
    path: string,
    meta: HttpRpcMetadata,
    headers: ResponseHeaderSink | undefined,
  ) {
    this._owner = owner;
    this._request = request;
    this._response = response;
    this._meta = meta;
    this._startedAt = performance.now();
    this._path = path;
    this.ended = false;
    this._route = undefined;
    this._errorType = undefined;
    this._recorded = undefined;
    const span = meta.span;
    this.span = span;
    const active = context.active();
    this.context = trace.getSpan(active) === span ? active : trace.setSpan(active, span);
    (request as unknown as Record<symbol, unknown>)[SERVER_REQUEST] = this;
    (meta as unknown as Record<symbol, unknown>)[SERVER_REQUEST] = this;
    noteSharedServerSpan();
    // In front of instrumentation-http's own 'close' listener, which reads the route and ends the span.
    response.prependListener('close', () => this._end());

    const options = owner.options;
    if (span.isRecording() && owner.captureRequest.length > 0) {
      const attributes: Attributes = {};
      for (const name of owner.captureRequest) {
        const v = request.headers[name];
        if (v !== undefined) attributes[`http.request.header.${name}`] = headerValues(v);
      }
      span.setAttributes(attributes);
    }
    if (options.requestHook !== undefined) owner.call('requestHook', options.requestHook, span, request);
    const logger = options.logger;
    this.log = logger === undefined ? undefined : owner.call('logger', () => logger.child({}));
    if (
      owner.traceResponse &&
      !response.headersSent &&
      response.getHeader(TRACERESPONSE_HEADER) === undefined
    ) {
      const value = traceResponseHeaderValue(withRandomFlag(active, span.spanContext()));
      if (value !== undefined) setTraceResponse(response, headers, value);
    }
    // instrumentation-http records no http.server.active_requests: tracewire still does.
    const scheme = (request.socket as { encrypted?: boolean } | null)?.encrypted === true ? 'https' : 'http';
    this._activeAttributes = {
      'http.request.method': normalizeMethod(request.method ?? 'GET'),
      'url.scheme': scheme,
    };
    owner.metrics.get().activeRequests.add(1, this._activeAttributes);
    owner.diag.debug(
      'official-server-span',
      'reusing the SERVER span of @opentelemetry/instrumentation-http (officialServerSpan: "reuse"); no second span or duration',
    );
  }

  get route(): string | undefined {
    return this._route;
  }

  setRoute(route: string | undefined): void {
    if (typeof route === 'string' && route.length > 0) this._route = cap(route, 512);
  }

  recordException(error: unknown, errorType?: string): void {
    recordOnce(this as unknown as RequestErrors, error, errorType);
  }

  private _end(): void {
    if (this.ended) return;
    this.ended = true;
    const owner = this._owner;
    try {
      const response = this._response;
      const span = this.span;
      let route = this._route;
      if (route === undefined) {
        route = resolveRoute(owner, this._request);
        this._route = route;
      }
      // tracewire's route is the full template (mount prefixes included) and absent for unmatched
      // requests: it replaces what a framework instrumentation wrote for its last layer.
      if (route !== undefined) this._meta.route = route;
      else delete this._meta.route;
      const finished = response.writableFinished;
      const status = response.headersSent ? wireStatus(response) : undefined;
      if (span.isRecording()) {
        if (route !== undefined) span.setAttribute(ATTR_HTTP_ROUTE, route);
        if (!finished && (status === undefined || status < 500)) {
          if (this._errorType === undefined) this._takeResponseError(response);
          span.setAttribute(ATTR_ERROR_TYPE, this._errorType ?? ERROR_TYPE_ABORTED);
          if (this._errorType !== undefined) span.setStatus({ code: SpanStatusCode.ERROR });
        }
        for (const name of owner.captureResponse) {
          const v = responseHeader(response, name);
          if (v !== undefined) span.setAttribute(`http.response.header.${name}`, headerValues(v));
        }
        const resolveAttributes = owner.adapter.resolveAttributes;
        if (resolveAttributes !== undefined) {
          const extra = owner.call('resolveAttributes', resolveAttributes, this._request);
          if (typeof extra === 'object' && extra !== null) span.setAttributes(extra);
        }
        const responseHook = owner.options.responseHook;
        if (responseHook !== undefined) owner.call('responseHook', responseHook, span, response);
      }
      owner.metrics.get().activeRequests.add(-1, this._activeAttributes);
      if (owner.options.accessLog === true && this.log !== undefined) {
        accessLine(
          owner,
          this.context,
          this.log,
          this._request.method,
          route,
          this._path,
          status,
          finished,
          this._startedAt,
        );
      }
    } catch (error) {
      owner.diag.error('end', 'could not finish the shared server span cleanly', error);
    }
  }

  private _takeResponseError(response: TRes): void {
    takeResponseError(this as unknown as RequestErrors, response);
  }
}

/**
 * One access line (contained: a throwing logger changes nothing), written in the request's context:
 * the response's 'close' may be emitted outside it (Koa), and a logger that adds the active trace
 * (`@tracewire/logger`) must see the request's span.
 */
function accessLine(
  owner: Pick<HttpServerInstrumentation, 'call'>,
  ctx: Context,
  log: RequestLogLike,
  method: string | undefined,
  route: string | undefined,
  path: string,
  status: number | undefined,
  finished: boolean,
  startedAt: number,
): void {
  const record: Record<string, unknown> = { method };
  if (route !== undefined) record.route = route;
  record.path = path;
  if (status !== undefined) record.status = status;
  record.duration_ms = Math.round((performance.now() - startedAt) * 1000) / 1000;
  if (!finished) {
    record.aborted = true;
    owner.call('logger', () => context.with(ctx, () => log.warn(record, 'request aborted')));
  } else if (status !== undefined && status >= 500) {
    owner.call('logger', () => context.with(ctx, () => log.error(record, 'request completed')));
  } else {
    owner.call('logger', () => context.with(ctx, () => log.info(record, 'request completed')));
  }
}

/** Sets `traceresponse` where the framework keeps its headers, else on the Node response. */
function setTraceResponse(
  response: ServerResponse,
  headers: ResponseHeaderSink | undefined,
  value: string,
): void {
  if (headers !== undefined) headers.header(TRACERESPONSE_HEADER, value);
  else response.setHeader(TRACERESPONSE_HEADER, value);
}

/** The span context with the W3C random flag (0x02) when its trace arrived with it (Level 2). */
function withRandomFlag(ctx: Context, spanContext: SpanContext): SpanContext {
  if ((spanContext.traceFlags & 0x02) !== 0 || !hasRandomTraceFlag(ctx, spanContext.traceId))
    return spanContext;
  return { ...spanContext, traceFlags: spanContext.traceFlags | 0x02 };
}

/**
 * A response header as sent. `getHeader` only knows headers set on the response itself; headers
 * given straight to `writeHead(status, headers)` (what Fastify does with its reply's headers) are
 * only in the head Node wrote (`res._header`), so they are read from there. `name` is lowercase.
 */
function responseHeader(response: ServerResponse, name: string): string | string[] | number | undefined {
  const v = response.getHeader(name);
  if (v !== undefined) return v;
  const head = (response as { _header?: unknown })._header;
  if (typeof head !== 'string') return undefined;
  const lower = head.toLowerCase();
  const key = `\r\n${name}:`;
  const values: string[] = [];
  for (let i = lower.indexOf(key); i !== -1; i = lower.indexOf(key, i + key.length)) {
    const end = head.indexOf('\r\n', i + key.length);
    values.push(head.slice(i + key.length, end === -1 ? head.length : end).trim());
  }
  return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
}

function headerValues(v: string | string[] | number): string[] {
  if (Array.isArray(v)) return v.slice(0, 16).map((x) => cap(String(x), 1024));
  return [cap(String(v), 1024)];
}

/**
 * The status actually sent: the status line Node wrote (`res._header`, "HTTP/1.1 200 OK\r\n..."),
 * not `res.statusCode`, which code may still change after the head went out (Fastify's error
 * handler sets 500 on a reply whose 200 was already sent; so can an Express app). Falls back to
 * `statusCode` when there is no HTTP/1 head to read (HTTP/2 compatibility responses).
 */
function wireStatus(response: ServerResponse): number {
  const head = (response as { _header?: unknown })._header;
  if (typeof head === 'string' && head.length > 12 && head.charCodeAt(8) === 32) {
    const a = head.charCodeAt(9) - 48;
    const b = head.charCodeAt(10) - 48;
    const c = head.charCodeAt(11) - 48;
    if (a >= 1 && a <= 9 && b >= 0 && b <= 9 && c >= 0 && c <= 9) return a * 100 + b * 10 + c;
  }
  return response.statusCode;
}
