import dc from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import {
  type Attributes,
  type Context,
  context,
  type Histogram,
  type MeterProvider,
  metrics,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type TracerProvider,
  trace,
  type UpDownCounter,
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
  redactQuery,
  resolvePropagator,
} from '@tracewire/core';
import { rateLimitedDiag } from './internal/diag.js';
import { VERSION } from './version.js';

export const METRIC_HTTP_CLIENT_REQUEST_DURATION = 'http.client.request.duration';
export const METRIC_HTTP_CLIENT_OPEN_CONNECTIONS = 'http.client.open_connections';
const ATTR_URL_FULL = 'url.full';
const SCOPE = '@tracewire/node';

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
}

interface Exchange {
  span: Span;
  start: number;
  attrs: Attributes;
  ended: boolean;
}

interface Instruments {
  duration: Histogram;
  open: UpDownCounter;
}

const INSTALLED = Symbol.for('tracewire.node.httpClient');

/**
 * Instruments outgoing HTTP through `node:diagnostics_channel`, patching nothing: `fetch`/undici
 * (`undici:request:*`, `undici:client:connected`) and `node:http`/`https` (`http.client.request.*`,
 * `http.client.response.finish`). Each request gets a CLIENT span ended exactly once, context
 * injection (baggage only to trusted destinations), one `http.client.request.duration` measurement,
 * and connections are counted in `http.client.open_connections`. Requests made while tracing is
 * suppressed (the exporters' own) are left alone (T61). Hooks never throw into the app.
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
  holder[INSTALLED] = true;
  const trusted = trustPredicate(options.trustedDestinations ?? []);
  const propagate = options.propagate ?? true;
  let instruments: Instruments | undefined;
  const getInstruments = (): Instruments => {
    if (instruments !== undefined) return instruments;
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE, VERSION);
    instruments = {
      duration: meter.createHistogram(METRIC_HTTP_CLIENT_REQUEST_DURATION, {
        description: 'Duration of HTTP client requests.',
        unit: 's',
        advice: { explicitBucketBoundaries: [...HTTP_DURATION_BUCKETS] },
      }),
      open: meter.createUpDownCounter(METRIC_HTTP_CLIENT_OPEN_CONNECTIONS, {
        description: 'Number of outbound HTTP connections that are currently open.',
        unit: '{connection}',
      }),
    };
    return instruments;
  };

  const exchanges = new WeakMap<object, Exchange>();
  const countedSockets = new WeakSet<object>();

  const begin = (
    key: object,
    method: string,
    dest: HttpDestination,
    pathAndQuery: string,
    inject: (name: string, value: string) => void,
    has: (name: string) => boolean,
  ): void => {
    const active = context.active();
    if (isTracingSuppressed(active)) return;
    const m = normalizeMethod(method);
    const attrs: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: m,
      [ATTR_SERVER_ADDRESS]: dest.hostname,
      [ATTR_SERVER_PORT]: dest.port,
      [ATTR_URL_SCHEME]: dest.protocol.replace(':', ''),
    };
    const spanAttrs: Attributes = { ...attrs, [ATTR_URL_FULL]: fullUrl(dest, pathAndQuery) };
    if (m !== method) spanAttrs[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = method.slice(0, 32);
    const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE, VERSION);
    const span = tracer.startSpan(
      m === '_OTHER' ? 'HTTP' : m,
      { kind: SpanKind.CLIENT, attributes: spanAttrs },
      active,
    );
    exchanges.set(key, { span, start: performance.now(), attrs, ended: false });
    if (!propagate) return;
    let ctx: Context = trace.setSpan(active, span);
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
  };

  const finish = (key: object, status: number | undefined, error: unknown): void => {
    const ex = exchanges.get(key);
    if (ex === undefined || ex.ended) return;
    ex.ended = true;
    exchanges.delete(key);
    const attrs: Attributes = { ...ex.attrs };
    if (status !== undefined) attrs[ATTR_HTTP_RESPONSE_STATUS_CODE] = status;
    let errorType: string | undefined;
    if (error !== undefined) errorType = errorTypeOf(error);
    else if (status === undefined) errorType = 'aborted';
    else if (status >= 400) errorType = String(status);
    if (errorType !== undefined) attrs[ATTR_ERROR_TYPE] = errorType;
    ex.span.setAttributes(attrs);
    if (errorType !== undefined) ex.span.setStatus({ code: SpanStatusCode.ERROR });
    ex.span.end();
    getInstruments().duration.record((performance.now() - ex.start) / 1000, attrs);
  };

  const countSocket = (socket: Socket | null | undefined, dest: HttpDestination): void => {
    if (socket === null || socket === undefined || countedSockets.has(socket)) return;
    countedSockets.add(socket);
    const attrs: Attributes = {
      [ATTR_SERVER_ADDRESS]: dest.hostname,
      [ATTR_SERVER_PORT]: dest.port,
      [ATTR_URL_SCHEME]: dest.protocol.replace(':', ''),
    };
    const { open } = getInstruments();
    open.add(1, attrs);
    socket.once('close', () => open.add(-1, attrs));
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

  // node:http / https
  const onHttpCreated = guard<{ request: ClientRequest }>('http.created', ({ request }) => {
    if (isTracingSuppressed(context.active())) return;
    const dest = httpDestination(request);
    if (dest === undefined) return;
    begin(
      request,
      request.method,
      dest,
      request.path,
      (k, v) => request.setHeader(k, v),
      (k) => request.hasHeader(k),
    );
    request.once('socket', (socket: Socket) => {
      try {
        countSocket(socket, dest);
      } catch {
        // counting is best effort
      }
    });
    request.once('close', () => finish(request, undefined, undefined));
  });
  const onHttpResponse = guard<{ request: ClientRequest; response: IncomingMessage }>(
    'http.response',
    ({ request, response }) => {
      if (!exchanges.has(request)) return;
      const status = response.statusCode;
      const done = (): void => finish(request, status, undefined);
      response.once('end', done);
      response.once('close', done);
    },
  );
  const onHttpError = guard<{ request: ClientRequest; error: unknown }>(
    'http.error',
    ({ request, error }) => {
      finish(request, undefined, error);
    },
  );

  // fetch / undici
  const onUndiciCreate = guard<{ request: UndiciRequest }>('undici.create', ({ request }) => {
    const dest = undiciDestination(request.origin);
    if (dest === undefined) return;
    begin(
      request,
      request.method ?? 'GET',
      dest,
      request.path ?? '/',
      (k, v) => request.addHeader?.(k, v),
      (k) => undiciHasHeader(request.headers, k),
    );
  });
  const onUndiciHeaders = guard<{ request: UndiciRequest; response: { statusCode?: number } }>(
    'undici.headers',
    ({ request, response }) => {
      const ex = exchanges.get(request);
      if (ex !== undefined && typeof response.statusCode === 'number')
        ex.attrs[ATTR_HTTP_RESPONSE_STATUS_CODE] = response.statusCode;
    },
  );
  const onUndiciTrailers = guard<{ request: UndiciRequest }>('undici.trailers', ({ request }) => {
    const ex = exchanges.get(request);
    if (ex === undefined) return;
    const status = ex.attrs[ATTR_HTTP_RESPONSE_STATUS_CODE];
    finish(request, typeof status === 'number' ? status : undefined, undefined);
  });
  const onUndiciError = guard<{ request: UndiciRequest; error: unknown }>(
    'undici.error',
    ({ request, error }) => {
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
    countSocket(socket, { protocol, hostname, port });
  });

  const subscriptions: [string, (message: unknown) => void][] = [
    ['http.client.request.created', onHttpCreated],
    ['http.client.response.finish', onHttpResponse],
    ['http.client.request.error', onHttpError],
    ['undici:request:create', onUndiciCreate],
    ['undici:request:headers', onUndiciHeaders],
    ['undici:request:trailers', onUndiciTrailers],
    ['undici:request:error', onUndiciError],
    ['undici:client:connected', onUndiciConnected],
  ];
  for (const [name, fn] of subscriptions) dc.subscribe(name, fn);
  return function stopHttpClientInstrumentation(): void {
    for (const [name, fn] of subscriptions) dc.unsubscribe(name, fn);
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
