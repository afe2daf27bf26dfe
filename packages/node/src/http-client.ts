import dc from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import {
  type Attributes,
  type BatchObservableCallback,
  type Context,
  context,
  type Histogram,
  type HrTime,
  INVALID_SPAN_CONTEXT,
  type Meter,
  type MeterProvider,
  metrics,
  type ObservableUpDownCounter,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_SCHEME,
  HTTP_DURATION_BUCKETS,
  normalizeMethod,
  noteClientSpan,
  noteDoubleClientPropagation,
  redactQuery,
  resolvePropagator,
  spanKindOf,
  TRACEPARENT_HEADER,
} from '@tracewire/core';
import {
  acquireConnection,
  type Connection,
  closeConnection,
  DEFAULT_MAX_DESTINATIONS,
  type DestinationStats,
  DestinationTable,
  openConnection,
  releaseConnection,
} from './internal/destinations.js';
import { rateLimitedDiag } from './internal/diag.js';
import {
  entryKey,
  MAX_UNDICI_ENTRIES,
  UNDICI_BRIDGE,
  type UndiciBridge,
  UndiciEntries,
  type UndiciEntry,
} from './internal/undici-entries.js';
import { VERSION } from './version.js';

export const METRIC_HTTP_CLIENT_REQUEST_DURATION = 'http.client.request.duration';
export const METRIC_HTTP_CLIENT_OPEN_CONNECTIONS = 'http.client.open_connections';
/** tracewire-specific (semconv has no HTTP name; after `db.client.connection.pending_requests`). */
export const METRIC_HTTP_CLIENT_PENDING_REQUESTS = 'http.client.connection.pending_requests';
/** tracewire-specific (semconv has no HTTP name; after `db.client.connection.wait_time`). */
export const METRIC_HTTP_CLIENT_CONNECTION_WAIT_TIME = 'http.client.connection.wait_time';
/** On CLIENT spans: seconds the request waited for a connection. */
export const ATTR_TRACEWIRE_CONNECTION_WAIT_TIME = 'tracewire.http.client.connection.wait_time';
const ATTR_URL_FULL = 'url.full';
const SCOPE = '@tracewire/node';
// undici's global dispatcher (what `fetch` uses): `.2` is undici ≥ 8's, `.1` the one Node's
// bundled undici (and older undici) read and write. Both are read; a wrapper without `stats` is skipped.
const GLOBAL_DISPATCHERS = [Symbol.for('undici.globalDispatcher.2'), Symbol.for('undici.globalDispatcher.1')];

/** A destination as the baggage policy sees it. */
export interface HttpDestination {
  /** `http:` or `https:` */
  protocol: string;
  hostname: string;
  port: number;
}

/**
 * Which destinations may receive `baggage`: host names (`api.internal`), wildcard suffixes
 * (`*.internal`), origins (`https://api.internal:8443`), regular expressions tested against the
 * origin, or a predicate. Anything else gets `traceparent` but never `baggage` (T12).
 */
export type TrustedDestinations = readonly (string | RegExp)[] | ((destination: HttpDestination) => boolean);

/** Anything with undici's public `stats`: an `Agent` (stats per origin), a `Pool`, a `Client`. */
export interface UndiciStatsSource {
  readonly stats: unknown;
}

/**
 * An undici dispatcher whose own queue tracewire should read: an `Agent` as is, a `Pool` (or
 * `BalancedPool`) with the origin it serves (a pool's stats do not name it).
 */
export type UndiciDispatcherEntry =
  | UndiciStatsSource
  | { origin: string | URL; dispatcher: UndiciStatsSource };

/** Options of {@link instrumentHttpClient} (and `start({ httpClient })`). */
export interface HttpClientOptions {
  /** @default the global tracer provider, resolved per request */
  tracerProvider?: TracerProvider;
  /** @default the global meter provider, resolved on first use */
  meterProvider?: MeterProvider;
  /** @default the global propagator if one is registered, else the core W3C propagator */
  propagator?: TextMapPropagator;
  /** Destinations that may receive baggage. @default [] — baggage is never sent */
  trustedDestinations?: TrustedDestinations;
  /** Inject trace context into outgoing requests. @default true */
  propagate?: boolean;
  /**
   * Distinct destinations (`server.address`, `server.port`, `url.scheme`) the metrics keep apart;
   * the rest are reported as `server.address` `_OTHER`. @default 1000
   */
  maxDestinations?: number;
  /**
   * undici dispatchers with a `connections` limit whose queue counts in
   * `http.client.connection.pending_requests` (undici publishes no event for a request waiting in a
   * Pool's own queue). The global dispatcher is always read. @default []
   */
  undiciDispatchers?: readonly UndiciDispatcherEntry[];
}

interface Exchange {
  span: Span;
  /**
   * Another instrumentation (instrumentation-http / -undici) made this request's CLIENT span and
   * propagated it: tracewire makes no span and records no duration, only its connection metrics.
   */
  shared: boolean;
  /** `performance.now()` when the request began: when it entered the dispatcher, with `otelUndiciInterceptor()`. */
  start: number;
  /** With an earlier start than the span's creation: the span's start, epoch milliseconds. */
  epochStart: number | undefined;
  method: string;
  dest: DestinationStats;
  status: number | undefined;
  /** No connection yet: counted in `dest.pending`. */
  waiting: boolean;
  ended: boolean;
}

interface Instruments {
  duration: Histogram;
  wait: Histogram;
  meter: Meter;
  observables: ObservableUpDownCounter[];
  callback: BatchObservableCallback;
}

const INSTALLED = Symbol.for('tracewire.node.httpClient');

/**
 * Instruments outgoing HTTP through `node:diagnostics_channel`, patching nothing: `fetch`/undici
 * (`undici:request:*`, `undici:client:connected`, `undici:client:sendHeaders`) and
 * `node:http`/`https` (`http.client.request.*`, `http.client.response.finish`, the request's
 * `socket` event). Each request gets a CLIENT span ended exactly once, context injection (baggage
 * only to trusted destinations), one `http.client.request.duration` measurement and, once it has a
 * connection, one `http.client.connection.wait_time` measurement (also on the span). Connections
 * are counted by state in `http.client.open_connections`, requests without one in
 * `http.client.connection.pending_requests`. Requests made while tracing is suppressed (the
 * exporters' own) are left alone (T61). Hooks never throw into the app; metrics never break a
 * request.
 *
 * Returns a function that unsubscribes. A second call while installed is a no-op returning a no-op.
 *
 * @example
 * const stop = instrumentHttpClient({ trustedDestinations: ['*.internal'] });
 * await fetch('http://orders.internal/api'); // CLIENT span, traceparent + baggage sent
 * stop();
 */
export function instrumentHttpClient(options: HttpClientOptions = {}): () => void {
  const holder = globalThis as Record<symbol, unknown>;
  if (holder[INSTALLED] === true) {
    rateLimitedDiag(
      'warn',
      'http-client-twice',
      'outgoing HTTP is already instrumented; the second call is ignored',
    );
    return () => {};
  }
  const maxDestinations = options.maxDestinations ?? DEFAULT_MAX_DESTINATIONS;
  if (!Number.isInteger(maxDestinations) || maxDestinations < 0) {
    throw new TypeError(
      `instrumentHttpClient: maxDestinations must be a non-negative integer, got ${String(maxDestinations)}`,
    );
  }
  if (options.undiciDispatchers !== undefined && !Array.isArray(options.undiciDispatchers)) {
    throw new TypeError('instrumentHttpClient: undiciDispatchers must be an array');
  }
  holder[INSTALLED] = true;
  const trusted = trustPredicate(options.trustedDestinations ?? []);
  const propagate = options.propagate ?? true;
  const dispatchers = [...(options.undiciDispatchers ?? [])];
  const table = new DestinationTable(maxDestinations);
  const destOf = (d: HttpDestination): DestinationStats =>
    table.get(d.protocol.replace(':', ''), d.hostname, d.port);

  // Requests waiting in undici dispatchers' own queues (no Request object, no event yet).
  const dispatcherQueues = (): Map<DestinationStats, number> => {
    const out = new Map<DestinationStats, number>();
    const seen = new Set<unknown>();
    const add = (origin: unknown, stats: unknown): void => {
      const queued = (stats as { queued?: unknown } | null | undefined)?.queued;
      if (typeof queued !== 'number' || !(queued > 0)) return;
      const dest = undiciDestination(String(origin));
      if (dest === undefined) return;
      const d = destOf(dest);
      out.set(d, (out.get(d) ?? 0) + queued);
    };
    const read = (dispatcher: unknown, origin?: unknown): void => {
      if (typeof dispatcher !== 'object' || dispatcher === null || seen.has(dispatcher)) return;
      seen.add(dispatcher);
      try {
        const stats = (dispatcher as { stats?: unknown }).stats;
        if (typeof stats !== 'object' || stats === null) return;
        if (origin !== undefined) add(origin, stats);
        else for (const [o, s] of Object.entries(stats)) add(o, s);
      } catch (error) {
        rateLimitedDiag(
          'warn',
          'http-client-dispatcher-stats',
          'reading undici dispatcher stats failed',
          error,
        );
      }
    };
    for (const symbol of GLOBAL_DISPATCHERS) read(holder[symbol]);
    for (const entry of dispatchers) {
      if (typeof entry === 'object' && entry !== null && 'dispatcher' in entry && 'origin' in entry)
        read(entry.dispatcher, entry.origin);
      else read(entry);
    }
    return out;
  };

  // undefined: not created yet; null: creating them failed (reported once, metrics stay off).
  let instruments: Instruments | null | undefined;
  const getInstruments = (): Instruments | null => {
    if (instruments !== undefined) return instruments;
    instruments = null;
    try {
      const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE, VERSION);
      const duration = meter.createHistogram(METRIC_HTTP_CLIENT_REQUEST_DURATION, {
        description: 'Duration of HTTP client requests.',
        unit: 's',
        advice: { explicitBucketBoundaries: [...HTTP_DURATION_BUCKETS] },
      });
      const wait = meter.createHistogram(METRIC_HTTP_CLIENT_CONNECTION_WAIT_TIME, {
        description: 'Time an HTTP client request waited until it had a connection.',
        unit: 's',
        advice: { explicitBucketBoundaries: [...HTTP_DURATION_BUCKETS] },
      });
      const open = meter.createObservableUpDownCounter(METRIC_HTTP_CLIENT_OPEN_CONNECTIONS, {
        description: 'Number of outbound HTTP connections that are currently active or idle on the client.',
        unit: '{connection}',
      });
      const pending = meter.createObservableUpDownCounter(METRIC_HTTP_CLIENT_PENDING_REQUESTS, {
        description: 'Number of HTTP client requests waiting for a connection.',
        unit: '{request}',
      });
      const callback: BatchObservableCallback = (result) => {
        try {
          const queued = dispatcherQueues();
          for (const d of table) {
            result.observe(open, d.active, d.activeAttrs);
            result.observe(open, d.idle, d.idleAttrs);
            // A request the interceptor tracks since it entered a Pool's queue is in that Pool's
            // `stats.queued` too: counted once, as the interceptor's.
            const q = Math.max(0, (queued.get(d) ?? 0) - d.deferred);
            result.observe(pending, d.pending + d.entered + q, d.attrs);
          }
        } catch (error) {
          rateLimitedDiag('warn', 'http-client-observe', 'observing outgoing HTTP connections failed', error);
        }
      };
      meter.addBatchObservableCallback(callback, [open, pending]);
      instruments = { duration, wait, meter, observables: [open, pending], callback };
    } catch (error) {
      rateLimitedDiag('warn', 'http-client-instruments', 'creating outgoing HTTP instruments failed', error);
    }
    return instruments;
  };
  const record = (name: 'duration' | 'wait', value: number, attrs: Attributes): void => {
    try {
      getInstruments()?.[name].record(value, attrs);
    } catch (error) {
      rateLimitedDiag('warn', `http-client-record-${name}`, `recording outgoing HTTP ${name} failed`, error);
    }
  };

  const exchanges = new WeakMap<object, Exchange>();
  // Counted sockets, and which counted connection each undici request was written to.
  const connections = new WeakMap<object, Connection>();
  const requestConnections = new WeakMap<object, Connection>();

  const begin = (
    key: object,
    method: string,
    dest: HttpDestination,
    pathAndQuery: string,
    inject: (name: string, value: string) => void,
    has: (name: string) => boolean,
    entry?: UndiciEntry,
  ): Exchange | undefined => {
    const active = entry?.ctx ?? context.active();
    if (isTracingSuppressed(active)) return undefined;
    const m = normalizeMethod(method);
    // Never two CLIENT spans for one request, never one no downstream refers to: when another
    // instrumentation already made the CLIENT span (instrumentation-http runs http.request inside it)
    // or already propagated this request (instrumentation-undici adds `traceparent` on the same
    // diagnostics channel, before us when its SDK started first), tracewire makes no span of its own.
    const activeSpan = trace.getSpan(active);
    const shared = spanKindOf(activeSpan) === SpanKind.CLIENT || has(TRACEPARENT_HEADER);
    noteClientSpan(shared, activeSpan, `${dest.hostname}:${dest.port}`, SCOPE);
    const now = performance.now();
    const start = entry?.start ?? now;
    // The span starts when the request entered the dispatcher: an HrTime, so no SDK mistakes it
    // for a `performance.now()` value, derived from the clock the SDK itself starts spans with.
    const epochStart = entry === undefined ? undefined : Date.now() - (now - start);
    let span: Span;
    if (shared) {
      span = trace.wrapSpanContext(activeSpan?.spanContext() ?? INVALID_SPAN_CONTEXT);
    } else {
      const spanAttrs: Attributes = {
        [ATTR_HTTP_REQUEST_METHOD]: m,
        [ATTR_SERVER_ADDRESS]: dest.hostname,
        [ATTR_SERVER_PORT]: dest.port,
        [ATTR_URL_SCHEME]: dest.protocol.replace(':', ''),
        [ATTR_URL_FULL]: fullUrl(dest, pathAndQuery),
      };
      if (m !== method) spanAttrs[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = method.slice(0, 32);
      const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE, VERSION);
      span = tracer.startSpan(
        m === '_OTHER' ? 'HTTP' : m,
        {
          kind: SpanKind.CLIENT,
          attributes: spanAttrs,
          startTime: epochStart === undefined ? undefined : hrTime(epochStart),
        },
        active,
      );
    }
    if (instruments === undefined) getInstruments(); // the observable counters exist from the first request
    const d = destOf(dest);
    d.pending++;
    const ex: Exchange = {
      span,
      shared,
      start,
      epochStart,
      method: m,
      dest: d,
      status: undefined,
      waiting: true,
      ended: false,
    };
    exchanges.set(key, ex);
    if (!propagate) return ex;
    // Shared: the other instrumentation propagated already, or (a CLIENT span of the app's own, no
    // header yet) the active span is the one the downstream should name as its parent.
    if (shared && has(TRACEPARENT_HEADER)) return ex;
    let ctx: Context = shared ? active : trace.setSpan(active, span);
    if (!trusted(dest)) ctx = propagation.deleteBaggage(ctx);
    const carrier: Record<string, string> = {};
    resolvePropagator(options.propagator).inject(ctx, carrier, {
      set: (c, k, v) => {
        c[k] = v;
      },
    });
    for (const [name, value] of Object.entries(carrier)) {
      // The app (or another library) may have injected already: never send a header twice.
      if (!has(name)) inject(name, value);
    }
    return ex;
  };

  /** The request has its connection: it stops waiting, once. */
  const connected = (ex: Exchange): void => {
    if (!ex.waiting) return;
    ex.waiting = false;
    ex.dest.pending--;
    const seconds = (performance.now() - ex.start) / 1000;
    if (!ex.ended) ex.span.setAttribute(ATTR_TRACEWIRE_CONNECTION_WAIT_TIME, seconds);
    record('wait', seconds, ex.dest.attrs);
  };

  const finish = (key: object, status: number | undefined, error: unknown, aborted = false): void => {
    const ex = exchanges.get(key);
    if (ex === undefined || ex.ended) return;
    ex.ended = true;
    exchanges.delete(key);
    if (ex.waiting) {
      // Never got a connection (refused, aborted while queued): no longer waiting, no wait time.
      ex.waiting = false;
      ex.dest.pending--;
    }
    const outcome: Attributes = {};
    if (status !== undefined) outcome[ATTR_HTTP_RESPONSE_STATUS_CODE] = status;
    let errorType: string | undefined;
    if (error !== undefined) errorType = errorTypeOf(error);
    else if (status === undefined || aborted) errorType = 'aborted';
    else if (status >= 400) errorType = String(status);
    if (errorType !== undefined) outcome[ATTR_ERROR_TYPE] = errorType;
    if (ex.shared) return;
    ex.span.setAttributes(outcome);
    if (errorType !== undefined) ex.span.setStatus({ code: SpanStatusCode.ERROR });
    const elapsed = performance.now() - ex.start;
    if (ex.epochStart === undefined) ex.span.end();
    else ex.span.end(hrTime(ex.epochStart + elapsed));
    record('duration', elapsed / 1000, {
      [ATTR_HTTP_REQUEST_METHOD]: ex.method,
      ...ex.dest.attrs,
      ...outcome,
    });
  };

  /** Starts counting a socket (idle until a request is on it); stops when it closes. */
  const track = (socket: Socket, dest: DestinationStats): Connection | undefined => {
    const known = connections.get(socket);
    if (known !== undefined) return known;
    if (socket.closed) return undefined; // its 'close' already went by
    const conn = openConnection(dest);
    connections.set(socket, conn);
    socket.once('close', () => closeConnection(conn));
    return conn;
  };

  const guard =
    <T>(name: string, fn: (message: T) => void) =>
    (message: unknown): void => {
      try {
        fn(message as T);
      } catch (error) {
        rateLimitedDiag('warn', `http-client-${name}`, `outgoing HTTP hook ${name} failed`, error);
      }
    };

  // node:http / https. A request waits from its creation until the Agent assigns it a socket and
  // that socket is connected (a new one): the Agent's `requests` queue when `maxSockets` is reached.
  const onHttpCreated = guard<{ request: ClientRequest }>('http.created', ({ request }) => {
    if (isTracingSuppressed(context.active())) return;
    const dest = httpDestination(request);
    if (dest === undefined) return;
    const ex = begin(
      request,
      request.method,
      dest,
      request.path,
      (k, v) => request.setHeader(k, v),
      (k) => request.hasHeader(k),
    );
    if (ex === undefined) return;
    let conn: Connection | undefined;
    let closed = false;
    request.once(
      'socket',
      guard<Socket>('http.socket', (socket) => {
        // A new socket counts (and the request has its connection) once it is connected.
        const assign = (): void => {
          if (closed) return;
          conn = track(socket, ex.dest);
          if (conn !== undefined) acquireConnection(conn);
          connected(ex);
        };
        if (socket.connecting) socket.once('connect', guard('http.connect', assign));
        else assign();
      }),
    );
    request.once(
      'close',
      guard('http.close', () => {
        // The response is complete (or the request gave up): the socket goes back to the Agent.
        closed = true;
        if (conn !== undefined) releaseConnection(conn);
        finish(request, undefined, undefined);
      }),
    );
  });
  const onHttpResponse = guard<{ request: ClientRequest; response: IncomingMessage }>(
    'http.response',
    ({ request, response }) => {
      if (!exchanges.has(request)) return;
      const status = response.statusCode;
      response.once('end', () => finish(request, status, undefined));
      // Closed before the end (the connection died mid-response): the exchange failed.
      response.once('close', () => finish(request, status, undefined, !response.complete));
    },
  );
  const onHttpError = guard<{ request: ClientRequest; error: unknown }>(
    'http.error',
    ({ request, error }) => {
      finish(request, undefined, error);
    },
  );

  // fetch / undici. A request waits from `undici:request:create` (it was handed to a connection's
  // client) until `undici:client:sendHeaders` (written to a connected socket).
  const onUndiciCreate = guard<{ request: UndiciRequest }>('undici.create', ({ request }) => {
    const dest = undiciDestination(request.origin);
    if (dest === undefined) return;
    const entry = entries.size === 0 ? undefined : entries.take(request.origin, request.method, request.path);
    begin(
      request,
      request.method ?? 'GET',
      dest,
      request.path ?? '/',
      (k, v) => request.addHeader?.(k, v),
      (k) => undiciHasHeader(request.headers, k),
      entry,
    );
  });
  const onUndiciSendHeaders = guard<{ request: UndiciRequest; socket?: Socket }>(
    'undici.sendHeaders',
    ({ request, socket }) => {
      const conn = socket === undefined ? undefined : connections.get(socket);
      if (conn !== undefined && !requestConnections.has(request)) {
        acquireConnection(conn);
        requestConnections.set(request, conn);
      }
      const ex = exchanges.get(request);
      if (ex === undefined) return;
      connected(ex);
      // instrumentation-undici subscribed after us (its SDK started after instrumentHttpClient()) adds
      // its own traceparent after ours: the request goes out with two, and W3C-strict receivers
      // restart the trace. Too late to fix here; counted for the doctor and reported.
      if (!ex.shared && undiciHeaderCount(request.headers, TRACEPARENT_HEADER) > 1) {
        noteDoubleClientPropagation(
          `${ex.dest.attrs[ATTR_SERVER_ADDRESS]}:${ex.dest.attrs[ATTR_SERVER_PORT]}`,
          SCOPE,
        );
        rateLimitedDiag(
          'warn',
          'http-client-double-traceparent',
          'an outgoing request got a second traceparent from another instrumentation (instrumentation-undici started after instrumentHttpClient()/start()?): start the official SDK first, or disable instrumentation-undici',
        );
      }
    },
  );
  const releaseUndici = (request: UndiciRequest): void => {
    const conn = requestConnections.get(request);
    if (conn === undefined) return;
    requestConnections.delete(request);
    releaseConnection(conn);
  };
  const onUndiciHeaders = guard<{ request: UndiciRequest; response: { statusCode?: number } }>(
    'undici.headers',
    ({ request, response }) => {
      const ex = exchanges.get(request);
      if (ex !== undefined && typeof response.statusCode === 'number') ex.status = response.statusCode;
    },
  );
  const onUndiciTrailers = guard<{ request: UndiciRequest }>('undici.trailers', ({ request }) => {
    releaseUndici(request);
    const ex = exchanges.get(request);
    if (ex === undefined) return;
    finish(request, ex.status, undefined);
  });
  const onUndiciError = guard<{ request: UndiciRequest; error: unknown }>(
    'undici.error',
    ({ request, error }) => {
      releaseUndici(request);
      finish(request, undefined, error);
    },
  );
  const onUndiciConnected = guard<{
    connectParams: { protocol?: string; hostname?: string; port?: string | number };
    socket: Socket;
  }>('undici.connected', ({ connectParams, socket }) => {
    if (isTracingSuppressed(context.active())) return;
    const protocol = connectParams.protocol ?? 'http:';
    const hostname = connectParams.hostname ?? '';
    const port = Number(connectParams.port) || (protocol === 'https:' ? 443 : 80);
    track(socket, destOf({ protocol, hostname, port }));
  });

  // otelUndiciInterceptor(): requests seen entering a dispatcher, before undici creates them.
  const entries = new UndiciEntries();
  // The origin of the last request that entered (most go to one or a few): parsed once.
  let lastOrigin: unknown;
  let lastNormalized: string | undefined;
  let lastDest: DestinationStats | undefined;
  const resolveOrigin = (origin: unknown): void => {
    if (origin === lastOrigin && origin !== undefined) return;
    let normalized: string | undefined;
    if (typeof origin === 'string' || origin instanceof URL) {
      try {
        normalized = new URL(origin).origin;
      } catch {
        normalized = undefined;
      }
    }
    const target = normalized === undefined ? undefined : undiciDestination(normalized);
    lastOrigin = origin;
    lastNormalized = normalized;
    lastDest = target === undefined ? undefined : destOf(target);
  };
  const bridge: UndiciBridge = {
    enter(opts) {
      try {
        if (typeof opts !== 'object' || opts === null) return undefined;
        const ctx = context.active();
        if (isTracingSuppressed(ctx)) return undefined;
        if (entries.size >= MAX_UNDICI_ENTRIES) {
          rateLimitedDiag(
            'warn',
            'undici-entries-full',
            `more than ${MAX_UNDICI_ENTRIES} requests wait in undici dispatchers: the next ones are timed from their creation`,
          );
          return undefined;
        }
        const o = opts as { origin?: unknown; method?: unknown; path?: unknown };
        resolveOrigin(o.origin);
        const entry: UndiciEntry = {
          start: performance.now(),
          ctx,
          origin: lastNormalized,
          key: entryKey(o.method, o.path),
          dest: lastDest,
          state: 0,
          deferred: false,
        };
        if (instruments === undefined) getInstruments();
        entries.add(entry);
        return entry;
      } catch (error) {
        rateLimitedDiag('warn', 'http-client-undici-enter', 'outgoing HTTP hook undici.enter failed', error);
        return undefined;
      }
    },
    dispatched(entry, threw) {
      try {
        entries.leave(entry);
        if (threw) entries.drop(entry);
        else entries.defer(entry);
      } catch (error) {
        rateLimitedDiag('warn', 'http-client-undici-dispatched', 'outgoing HTTP hook failed', error);
      }
    },
    settle(entry) {
      try {
        entries.drop(entry);
      } catch (error) {
        rateLimitedDiag('warn', 'http-client-undici-settle', 'outgoing HTTP hook failed', error);
      }
    },
  };
  holder[UNDICI_BRIDGE] = bridge;

  const subscriptions: [string, (message: unknown) => void][] = [
    ['http.client.request.created', onHttpCreated],
    ['http.client.response.finish', onHttpResponse],
    ['http.client.request.error', onHttpError],
    ['undici:request:create', onUndiciCreate],
    ['undici:client:sendHeaders', onUndiciSendHeaders],
    ['undici:request:headers', onUndiciHeaders],
    ['undici:request:trailers', onUndiciTrailers],
    ['undici:request:error', onUndiciError],
    ['undici:client:connected', onUndiciConnected],
  ];
  for (const [name, fn] of subscriptions) dc.subscribe(name, fn);
  return function stopHttpClientInstrumentation(): void {
    for (const [name, fn] of subscriptions) dc.unsubscribe(name, fn);
    if (instruments) {
      try {
        instruments.meter.removeBatchObservableCallback(instruments.callback, instruments.observables);
      } catch {
        // the provider may be shut down already
      }
    }
    if (holder[UNDICI_BRIDGE] === bridge) delete holder[UNDICI_BRIDGE];
    delete holder[INSTALLED];
  };
}

interface UndiciRequest {
  origin?: string;
  method?: string;
  path?: string;
  headers?: unknown;
  addHeader?: (name: string, value: string) => unknown;
}

function undiciHeaderCount(headers: unknown, name: string): number {
  let n = 0;
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) n++;
  } else if (typeof headers === 'string') {
    for (const line of headers.toLowerCase().split('\r\n')) if (line.startsWith(`${name}:`)) n++;
  }
  return n;
}

function undiciHasHeader(headers: unknown, name: string): boolean {
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return true;
    return false;
  }
  if (typeof headers === 'string') return headers.toLowerCase().includes(`${name}:`);
  return false;
}

function undiciDestination(origin: unknown): HttpDestination | undefined {
  if (typeof origin !== 'string') return undefined;
  try {
    const url = new URL(origin);
    return {
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
    };
  } catch {
    return undefined;
  }
}

function httpDestination(request: ClientRequest): HttpDestination | undefined {
  const protocol = typeof request.protocol === 'string' ? request.protocol : 'http:';
  const defaultPort = protocol === 'https:' ? 443 : 80;
  const host = typeof request.host === 'string' ? request.host : undefined;
  if (host === undefined) return undefined;
  let port = defaultPort;
  const header = request.getHeader('host');
  if (typeof header === 'string') {
    const colon = header.lastIndexOf(':');
    if (colon !== -1 && !header.endsWith(']')) port = Number(header.slice(colon + 1)) || defaultPort;
  }
  return { protocol, hostname: host.replace(/^\[|\]$/g, ''), port };
}

function fullUrl(dest: HttpDestination, pathAndQuery: string): string {
  const defaultPort = dest.protocol === 'https:' ? 443 : 80;
  const host = dest.hostname.includes(':') ? `[${dest.hostname}]` : dest.hostname;
  const authority = dest.port === defaultPort ? host : `${host}:${dest.port}`;
  const q = pathAndQuery.indexOf('?');
  const path = (q === -1 ? pathAndQuery : pathAndQuery.slice(0, q)).slice(0, 2048);
  const query = q === -1 ? '' : `?${redactQuery(pathAndQuery.slice(q + 1))}`;
  return `${dest.protocol}//${authority}${path}${query}`;
}

const ERROR_CODE = /^[A-Z][A-Z0-9_]{1,40}$/;

/** A low-cardinality `error.type`: a Node/undici error code, else the error class name. */
function errorTypeOf(error: unknown): string {
  try {
    const code = (error as { code?: unknown })?.code;
    if (typeof code === 'string' && ERROR_CODE.test(code)) return code;
    const cause = (error as { cause?: { code?: unknown } })?.cause?.code;
    if (typeof cause === 'string' && ERROR_CODE.test(cause)) return cause;
    if (error instanceof Error && /^[A-Za-z]{1,40}$/.test(error.name)) return error.name;
  } catch {
    // fall through
  }
  return '_OTHER';
}

/** Compiles the trusted-destination list once. */
export function trustPredicate(trusted: TrustedDestinations): (destination: HttpDestination) => boolean {
  if (typeof trusted === 'function') {
    return (dest) => {
      try {
        return trusted(dest) === true;
      } catch {
        rateLimitedDiag(
          'warn',
          'trusted-destinations',
          'trustedDestinations predicate threw; baggage not sent',
        );
        return false;
      }
    };
  }
  const hosts = new Set<string>();
  const suffixes: string[] = [];
  const origins = new Set<string>();
  const patterns: RegExp[] = [];
  for (const entry of trusted) {
    if (entry instanceof RegExp) patterns.push(entry);
    else if (entry.includes('://')) origins.add(originOf(entry));
    else if (entry.startsWith('*.')) suffixes.push(entry.slice(1).toLowerCase());
    else hosts.add(entry.toLowerCase());
  }
  return (dest) => {
    const host = dest.hostname.toLowerCase();
    if (hosts.has(host)) return true;
    if (suffixes.some((s) => host.endsWith(s))) return true;
    const origin = `${dest.protocol}//${host}:${dest.port}`;
    if (origins.has(origin)) return true;
    return patterns.some((p) => {
      p.lastIndex = 0;
      return p.test(origin);
    });
  };
}

function originOf(entry: string): string {
  try {
    const url = new URL(entry);
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    return `${url.protocol}//${url.hostname.toLowerCase()}:${port}`;
  } catch {
    throw new TypeError(`trustedDestinations: ${JSON.stringify(entry)} is not a valid origin`);
  }
}

/** Epoch milliseconds (with a fraction) as an OpenTelemetry `HrTime`. */
function hrTime(epochMillis: number): HrTime {
  const seconds = Math.floor(epochMillis / 1000);
  const nanos = Math.min(999_999_999, Math.round((epochMillis - seconds * 1000) * 1e6));
  return [seconds, nanos];
}
