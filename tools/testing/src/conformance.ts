// The behavioural suite every tracewire HTTP adapter must pass. An adapter describes how to build an
// app for its framework from abstract routes (prefixes, template, handler); the suite registers the
// same vitest tests for every adapter, so Express, Koa (and later Nest) are held to one set of
// assertions instead of copies. Cases come from /work/shared/RELIABILITY.md (T01, T16, T17, T19,
// T20, T22, T24, T28, T34, T36, T37, T38).

import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import {
  context,
  type MeterProvider,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { rawRequest, startServer, type TestServer } from './http.js';
import { createTelemetry } from './telemetry.js';

/**
 * The shared instrumentation options the suite passes to the adapter's middleware (a subset of
 * `HttpInstrumentationOptions` from `@tracewire/core`, kept structural so this harness does not
 * depend on the core).
 */
export interface ConformanceOptions {
  tracerProvider: TracerProvider;
  meterProvider: MeterProvider;
  ignore?: (string | RegExp | ((request: http.IncomingMessage) => boolean))[];
  spanNameFormatter?: (info: {
    method: string;
    route: string | undefined;
    request: http.IncomingMessage;
  }) => string;
  requestHook?: (span: Span, request: http.IncomingMessage) => void;
  responseHook?: (span: Span, response: http.ServerResponse) => void;
  captureRequestHeaders?: string[];
  captureResponseHeaders?: string[];
  publicEndpoint?: boolean | ((request: http.IncomingMessage) => boolean);
}

/** What a route handler may do, each in the framework's own idiom. */
export interface ConformanceResponder {
  /** The Node request (Express `req`, Koa `ctx.req`). */
  readonly req: http.IncomingMessage;
  /**
   * Sends a text body the framework's usual way (Express `res.status(s).send(b)`, Koa
   * `ctx.status = s; ctx.body = b`). Without a status, the framework's default for a body (200).
   */
  send(body: string, status?: number): void;
  /** Sets a response header the framework's way. */
  setHeader(name: string, value: string): void;
  /**
   * Sends a body stream the framework's way (Express `stream.pipeline(body, res)`, Koa
   * `ctx.body = body`).
   */
  stream(body: Readable): void;
}

/**
 * A route handler. It may throw synchronously, return a promise that rejects, or throw any value:
 * the adapter must hand the handler's return value to the framework unchanged.
 */
export type ConformanceHandler = (res: ConformanceResponder) => unknown;

/** One route of a conformance app. */
export interface ConformanceRoute {
  /** `ALL` matches every method, including `PROPFIND`. @default 'GET' */
  method?: 'GET' | 'POST' | 'ALL';
  /** Mount prefixes, outermost first; each one nests a router (`['/api', '/v1']`). @default [] */
  prefixes?: readonly string[];
  /** The route's own path inside the innermost router (`/users/:id`). */
  path: string;
  handler: ConformanceHandler;
}

/** What the adapter must build. */
export interface ConformanceApp {
  /** Options for the adapter's middleware (SDK providers included). */
  options: ConformanceOptions;
  routes: readonly ConformanceRoute[];
  /** Mount the adapter's middleware twice in a row (one span is expected). */
  mountTwice?: boolean;
}

/** An HTTP adapter under test. */
export interface HttpAdapterUnderTest {
  /** Shown in test names, e.g. `otelKoa`. */
  name: string;
  /** The instrumentation scope name its spans carry, e.g. `@tracewire/koa`. */
  scope: string;
  /**
   * Builds a request listener: the adapter's middleware first, then the routes (each under its
   * nested prefixes), then whatever the adapter needs to answer errors with problem+json.
   */
  createListener(app: ConformanceApp): http.RequestListener;
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;
/** An internal error message that must never reach a client (T28). */
const SECRET = 'connect ECONNREFUSED 10.1.2.3:5432 user=admin password=hunter2';
const LEAKS = ['hunter2', '10.1.2.3', 'inner cause', 'alice@example.com', 'SQL function', 'pg hint', 'at '];

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pgLikeError(): Error {
  const err = new Error(SECRET, { cause: new Error('inner cause text') }) as Error & Record<string, unknown>;
  err.detail = 'Key (email)=(alice@example.com) already exists';
  err.where = 'SQL function';
  err.hint = 'pg hint';
  return err;
}

/** An error shaped like `http-errors` / Koa `ctx.throw` (status + boolean expose). */
function httpError(status: number, message: string): Error {
  return Object.assign(new Error(message), { status, statusCode: status, expose: status < 500 });
}

/** A response that may be cut off: what the client saw. */
interface CutResponse {
  status: number | undefined;
  body: string;
  complete: boolean;
}

function getAllowingAbort(url: string): Promise<CutResponse> {
  return new Promise((resolve) => {
    let status: number | undefined;
    let body = '';
    const req = http.get(url, { agent: false }, (res) => {
      status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status, body, complete: true }));
      res.on('error', () => resolve({ status, body, complete: false }));
    });
    req.on('error', () => resolve({ status, body, complete: false }));
  });
}

/**
 * Registers the shared HTTP adapter conformance tests (vitest `describe`/`it`) for one adapter.
 *
 * @example
 * describeHttpAdapterConformance({
 *   name: 'otelKoa',
 *   scope: '@tracewire/koa',
 *   createListener: ({ options, routes }) => buildKoaApp(options, routes).callback(),
 * });
 */
export function describeHttpAdapterConformance(adapter: HttpAdapterUnderTest): void {
  const telemetry = createTelemetry();
  let server: TestServer | undefined;

  async function serve(
    routes: readonly ConformanceRoute[],
    extra: Partial<ConformanceOptions> = {},
    mountTwice = false,
  ): Promise<string> {
    const options: ConformanceOptions = {
      tracerProvider: telemetry.tracerProvider,
      // Read after every reset(): each test gets a fresh meter provider.
      meterProvider: telemetry.meterProvider,
      ...extra,
    };
    server = await startServer(adapter.createListener({ options, routes, mountTwice }));
    return server.url;
  }

  async function activeRequests(): Promise<number> {
    const points = await telemetry.points('http.server.active_requests');
    return points.reduce((sum, p) => sum + p.value, 0);
  }

  async function durationCount(): Promise<number> {
    const points = await telemetry.points('http.server.request.duration');
    return points.reduce((n, p) => n + p.value, 0);
  }

  const ok: ConformanceHandler = (r) => r.send('ok');

  describe(`${adapter.name}: HTTP adapter conformance`, () => {
    afterEach(async () => {
      await server?.close();
      server = undefined;
      telemetry.reset();
    });

    afterAll(async () => {
      await telemetry.shutdown();
    });

    describe('spans', () => {
      it('creates one SERVER span named after the route template with semconv attributes', async () => {
        const url = await serve([{ path: '/users/:id', handler: (r) => r.send('{"id":"42"}') }]);
        const res = await rawRequest(`${url}/users/42?color=blue`, { headers: [['user-agent', 'vitest']] });
        expect(res.status).toBe(200);
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.name).toBe('GET /users/:id');
        expect(span?.kind).toBe(SpanKind.SERVER);
        expect(span?.status.code).toBe(SpanStatusCode.UNSET);
        expect(span?.instrumentationScope.name).toBe(adapter.scope);
        expect(span?.attributes).toMatchObject({
          'http.request.method': 'GET',
          'http.route': '/users/:id',
          'http.response.status_code': 200,
          'url.path': '/users/42',
          'url.query': 'color=blue',
          'url.scheme': 'http',
          'server.address': '127.0.0.1',
          'server.port': server?.port,
          'client.address': '127.0.0.1',
          'user_agent.original': 'vitest',
          'network.protocol.version': '1.1',
        });
        expect(span?.attributes['error.type']).toBeUndefined();
      });

      it('continues a valid W3C parent and answers traceresponse with the server span', async () => {
        const url = await serve([{ path: '/x', handler: ok }]);
        const res = await rawRequest(`${url}/x`, { headers: [['traceparent', TRACEPARENT]] });
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.spanContext().traceId).toBe(TRACE_ID);
        expect(span?.parentSpanContext?.spanId).toBe(PARENT_ID);
        expect(res.headers.traceresponse).toBe(`00-${TRACE_ID}-${span?.spanContext().spanId}-01`);
      });

      it.each([
        ['version ff', `ff-${TRACE_ID}-${PARENT_ID}-01`],
        ['uppercase hex', `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`],
        ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT_ID}-01`],
        ['all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
        ['short trace id', `00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`],
        ['1-char flags', `00-${TRACE_ID}-${PARENT_ID}-1`],
        ['trailing dot', `${TRACEPARENT}.`],
        ['trailing data on v00', `${TRACEPARENT}-extra`],
        ['garbage', 'not a traceparent'],
      ])('restarts the trace on an invalid traceparent (%s) and drops tracestate', async (_name, header) => {
        let seenTraceState: string | undefined = 'unset';
        const url = await serve([
          {
            path: '/x',
            handler: (r) => {
              seenTraceState = trace.getActiveSpan()?.spanContext().traceState?.serialize();
              r.send('ok');
            },
          },
        ]);
        const res = await rawRequest(`${url}/x`, {
          headers: [
            ['traceparent', header],
            ['tracestate', 'vendor=value'],
          ],
        });
        expect(res.status).toBe(200);
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.spanContext().traceId).not.toBe(TRACE_ID);
        expect(span?.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(span?.parentSpanContext).toBeUndefined();
        expect(seenTraceState).toBeUndefined();
      });

      it('restarts the trace when traceparent is sent twice', async () => {
        const url = await serve([{ path: '/x', handler: ok }]);
        await rawRequest(`${url}/x`, {
          headers: [
            ['traceparent', TRACEPARENT],
            ['traceparent', `00-${'1'.repeat(32)}-${PARENT_ID}-01`],
          ],
        });
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.spanContext().traceId).not.toBe(TRACE_ID);
        expect(span?.parentSpanContext).toBeUndefined();
      });

      it('leaves http.route unset and names the span by method for a 404', async () => {
        const url = await serve([{ path: '/users/:id', handler: ok }]);
        const res = await rawRequest(`${url}/nothing/here`);
        expect(res.status).toBe(404);
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.name).toBe('GET');
        expect(span?.attributes['http.route']).toBeUndefined();
        expect(span?.attributes['http.response.status_code']).toBe(404);
        expect(span?.status.code).toBe(SpanStatusCode.UNSET);
      });

      it('uses _OTHER and names the span HTTP for methods outside the semconv set', async () => {
        const url = await serve([{ method: 'ALL', path: '/dav', handler: ok }]);
        await rawRequest(`${url}/dav`, { method: 'PROPFIND' });
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.attributes['http.request.method']).toBe('_OTHER');
        expect(span?.attributes['http.request.method_original']).toBe('PROPFIND');
        expect(span?.name).toBe('HTTP /dav');
        const points = await telemetry.points('http.server.request.duration');
        expect(points[0]?.attributes['http.request.method']).toBe('_OTHER');
        expect(points[0]?.attributes['http.request.method_original']).toBeUndefined();
      });

      it('redacts signature query keys case-sensitively', async () => {
        const url = await serve([{ path: '/dl', handler: ok }]);
        await rawRequest(
          `${url}/dl?X-Amz-Signature=abc&sig=def&AWSAccessKeyId=k&Signature=s&color=blue&SIG=x`,
        );
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.attributes['url.query']).toBe(
          'X-Amz-Signature=REDACTED&sig=REDACTED&AWSAccessKeyId=REDACTED&Signature=REDACTED&color=blue&SIG=x',
        );
      });

      it('does not leak userinfo of an absolute-form target and survives bad percent-encoding', async () => {
        await serve([{ path: '/x', handler: ok }]);
        const socket = net.connect(server?.port ?? 0, '127.0.0.1');
        const response = await new Promise<string>((resolve) => {
          let data = '';
          socket.on('data', (c) => {
            data += c.toString();
            if (data.includes('\r\n\r\n')) resolve(data);
          });
          socket.write(
            'GET http://user:secret@127.0.0.1/x?a=%ff HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
          );
        });
        socket.destroy();
        expect(response.startsWith('HTTP/1.1 200')).toBe(true);
        const [span] = await telemetry.waitForSpans(1);
        expect(JSON.stringify(span?.attributes)).not.toContain('secret');
        expect(span?.attributes['url.path']).toBe('/x');
        expect(span?.attributes['url.query']).toBe('a=%ff');
      });

      it('records captured request and response headers only when allow-listed', async () => {
        const url = await serve(
          [
            {
              path: '/x',
              handler: (r) => {
                r.setHeader('x-cache', 'HIT');
                r.setHeader('x-other', 'nope');
                r.send('ok');
              },
            },
          ],
          { captureRequestHeaders: ['X-Tenant'], captureResponseHeaders: ['x-cache'] },
        );
        await rawRequest(`${url}/x`, {
          headers: [
            ['x-tenant', 'acme'],
            ['x-other', 'nope'],
          ],
        });
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.attributes['http.request.header.x-tenant']).toEqual(['acme']);
        expect(span?.attributes['http.response.header.x-cache']).toEqual(['HIT']);
        expect(span?.attributes['http.request.header.x-other']).toBeUndefined();
        expect(span?.attributes['http.response.header.x-other']).toBeUndefined();
      });
    });

    describe('route templates', () => {
      it('includes every nested mount prefix, parameters included', async () => {
        const cases: [ConformanceRoute, string, string][] = [
          [
            { prefixes: ['/api', '/v1'], path: '/users/:id', handler: ok },
            '/api/v1/users/7',
            '/api/v1/users/:id',
          ],
          [
            { prefixes: ['/orgs/:org'], path: '/repos/:repo', handler: ok },
            '/orgs/acme/repos/tw',
            '/orgs/:org/repos/:repo',
          ],
          [{ prefixes: ['/a', '/b', '/c'], path: '/d/:e', handler: ok }, '/a/b/c/d/1', '/a/b/c/d/:e'],
          [{ path: '/plain', handler: ok }, '/plain', '/plain'],
        ];
        const url = await serve(cases.map(([route]) => route));
        for (const [, path] of cases) {
          expect((await rawRequest(url + path)).status).toBe(200);
        }
        const spans = await telemetry.waitForSpans(cases.length);
        expect(spans.map((s) => s.attributes['http.route'])).toEqual(cases.map(([, , route]) => route));
        expect(spans.map((s) => s.name)).toEqual(cases.map(([, , route]) => `GET ${route}`));
        const points = await telemetry.points('http.server.request.duration');
        expect(points.map((p) => p.attributes['http.route']).sort()).toEqual(
          cases.map(([, , r]) => r).sort(),
        );
      });
    });

    describe('status actually sent', () => {
      it('records a status set after an await, on the span and the duration metric', async () => {
        const url = await serve([
          {
            method: 'POST',
            path: '/late',
            handler: async (r) => {
              await delay(10);
              r.send('created', 201);
            },
          },
          {
            path: '/late-default',
            handler: async (r) => {
              await delay(10);
              r.send('fine');
            },
          },
        ]);
        expect((await rawRequest(`${url}/late`, { method: 'POST' })).status).toBe(201);
        expect((await rawRequest(`${url}/late-default`)).status).toBe(200);
        const spans = await telemetry.waitForSpans(2);
        expect(spans.map((s) => s.attributes['http.response.status_code'])).toEqual([201, 200]);
        const points = await telemetry.points('http.server.request.duration');
        expect(
          points.map((p) => [p.attributes['http.route'], p.attributes['http.response.status_code']]),
        ).toEqual([
          ['/late', 201],
          ['/late-default', 200],
        ]);
      });
    });

    describe('errors', () => {
      const throwing: [string, ConformanceHandler][] = [
        [
          'a sync Error with cause and pg fields',
          () => {
            throw pgLikeError();
          },
        ],
        [
          'an async rejection',
          async () => {
            await delay(5);
            throw new Error(SECRET);
          },
        ],
        [
          'a thrown string',
          () => {
            throw `boom ${SECRET}`;
          },
        ],
        [
          'an async thrown string',
          async () => {
            await delay(1);
            throw 'boom';
          },
        ],
        [
          'an async thrown null',
          async () => {
            await delay(1);
            throw null;
          },
        ],
        [
          'a plain object with status 418',
          () => {
            throw { status: 418, message: SECRET };
          },
        ],
        [
          'an empty object',
          () => {
            throw {};
          },
        ],
        [
          'an http-errors 500 with an internal message',
          () => {
            throw httpError(500, `db at ${SECRET}`);
          },
        ],
      ];

      it.each(throwing)(
        'answers %s with a 500 problem+json that leaks nothing and records the exception once',
        async (_name, handler) => {
          const url = await serve([{ prefixes: ['/api'], path: '/fail/:id', handler }]);
          const res = await rawRequest(`${url}/api/fail/1?token=abc`);
          expect(res.status).toBe(500);
          expect(res.headers['content-type']).toContain('application/problem+json');
          const body = JSON.parse(res.body) as Record<string, unknown>;
          const [span] = await telemetry.waitForSpans(1);
          expect(body).toEqual({
            type: 'about:blank',
            title: 'Internal Server Error',
            status: 500,
            instance: '/api/fail/1',
            traceId: span?.spanContext().traceId,
          });
          for (const leak of [...LEAKS, 'token', 'boom', 'stack', 'cause']) {
            expect(res.body).not.toContain(leak);
          }
          expect(span?.status.code).toBe(SpanStatusCode.ERROR);
          expect(span?.attributes['http.response.status_code']).toBe(500);
          expect(span?.attributes['error.type']).toBe('500');
          expect(span?.attributes['http.route']).toBe('/api/fail/:id');
          expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
          expect(res.headers.traceresponse).toContain(span?.spanContext().spanId);
          const points = await telemetry.points('http.server.request.duration');
          expect(points.map((p) => p.attributes)).toEqual([
            {
              'http.request.method': 'GET',
              'url.scheme': 'http',
              'http.route': '/api/fail/:id',
              'http.response.status_code': 500,
              'error.type': '500',
              'network.protocol.version': '1.1',
            },
          ]);
          expect(await activeRequests()).toBe(0);
        },
      );

      it('answers an exposed 4xx with its detail and leaves the span status unset', async () => {
        const url = await serve([
          {
            path: '/orders/:id',
            handler: () => {
              throw httpError(404, 'order 7 does not exist');
            },
          },
        ]);
        const res = await rawRequest(`${url}/orders/7`);
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toContain('application/problem+json');
        const body = JSON.parse(res.body) as Record<string, unknown>;
        const [span] = await telemetry.waitForSpans(1);
        expect(body).toMatchObject({
          status: 404,
          title: 'Not Found',
          detail: 'order 7 does not exist',
          instance: '/orders/7',
          traceId: span?.spanContext().traceId,
        });
        expect(span?.status.code).toBe(SpanStatusCode.UNSET);
        expect(span?.attributes['error.type']).toBeUndefined();
        expect(span?.attributes['http.route']).toBe('/orders/:id');
        expect(span?.attributes['http.response.status_code']).toBe(404);
        expect(res.headers.traceresponse).toContain(span?.spanContext().spanId);
      });

      it('never sends a second body when a body stream fails after the headers; the span ends ERROR', async () => {
        const url = await serve([
          {
            path: '/download',
            handler: (r) => {
              let pushed = false;
              r.stream(
                new Readable({
                  read() {
                    if (pushed) return;
                    pushed = true;
                    this.push('partial');
                    setTimeout(() => this.destroy(new Error(SECRET)), 20);
                  },
                }),
              );
            },
          },
        ]);
        const res = await getAllowingAbort(`${url}/download`);
        expect(res.status).toBe(200);
        expect(res.complete).toBe(false);
        expect(res.body).toBe('partial');
        const [span] = await telemetry.waitForSpans(1);
        await delay(20);
        expect(telemetry.spans()).toHaveLength(1);
        expect(span?.status.code).toBe(SpanStatusCode.ERROR);
        expect(span?.attributes['http.response.status_code']).toBe(200);
        expect(span?.attributes['error.type']).toBeDefined();
        expect(span?.attributes['error.type']).not.toBe('aborted');
        expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
        expect(await durationCount()).toBe(1);
        expect(await activeRequests()).toBe(0);
      });
    });

    describe('lifecycle', () => {
      it('ends the span once and returns active requests to 0 when the client aborts mid-handler', async () => {
        let lateWrite: (() => void) | undefined;
        const wrote = new Promise<void>((resolve) => {
          lateWrite = resolve;
        });
        const url = await serve([
          {
            path: '/slow',
            handler: async (r) => {
              await delay(150);
              r.send('too late');
              lateWrite?.();
            },
          },
        ]);
        const req = http.get(`${url}/slow`);
        req.on('error', () => undefined);
        setTimeout(() => req.destroy(), 30);
        await wrote;
        await delay(20);
        const spans = telemetry.spans();
        expect(spans).toHaveLength(1);
        expect(spans[0]?.attributes['error.type']).toBe('aborted');
        expect(spans[0]?.status.code).toBe(SpanStatusCode.UNSET);
        expect(spans[0]?.attributes['http.response.status_code']).toBeUndefined();
        expect(spans[0]?.attributes['http.route']).toBe('/slow');
        expect(await durationCount()).toBe(1);
        expect(await activeRequests()).toBe(0);
      });

      it('treats a client that leaves during a streamed body as an abort, not a server error', async () => {
        let streamClosed: (() => void) | undefined;
        const closed = new Promise<void>((resolve) => {
          streamClosed = resolve;
        });
        const url = await serve([
          {
            path: '/feed',
            handler: (r) => {
              let n = 0;
              const body = new Readable({
                read() {
                  setTimeout(() => this.push(`chunk ${n++}\n`), 5);
                },
              });
              body.on('close', () => streamClosed?.());
              r.stream(body);
            },
          },
        ]);
        const req = http.get(`${url}/feed`, (res) => {
          res.once('data', () => req.destroy());
        });
        req.on('error', () => undefined);
        await closed;
        await telemetry.waitForSpans(1);
        await delay(20);
        const spans = telemetry.spans();
        expect(spans).toHaveLength(1);
        expect(spans[0]?.attributes['error.type']).toBe('aborted');
        expect(spans[0]?.status.code).toBe(SpanStatusCode.UNSET);
        expect(spans[0]?.attributes['http.response.status_code']).toBe(200);
        expect(await durationCount()).toBe(1);
        expect(await activeRequests()).toBe(0);
      });

      it('keeps the server span active in handlers, timers, promises, emitters and request streams', async () => {
        const seen: Record<string, string | undefined> = {};
        const url = await serve([
          {
            method: 'POST',
            path: '/ctx',
            handler: async (r) => {
              seen.handler = trace.getActiveSpan()?.spanContext().spanId;
              await new Promise<void>((resolve) =>
                setTimeout(() => {
                  seen.timer = trace.getActiveSpan()?.spanContext().spanId;
                  resolve();
                }, 1),
              );
              seen.await = trace.getActiveSpan()?.spanContext().spanId;
              const emitter = new EventEmitter();
              await new Promise<void>((resolve) => {
                emitter.on('x', () => {
                  seen.emitter = trace.getActiveSpan()?.spanContext().spanId;
                  resolve();
                });
                setImmediate(() => emitter.emit('x'));
              });
              await new Promise<void>((resolve) => {
                r.req.on('data', () => {
                  seen.data = trace.getActiveSpan()?.spanContext().spanId;
                });
                r.req.on('end', () => resolve());
              });
              r.send('ok');
            },
          },
        ]);
        await rawRequest(`${url}/ctx`, { method: 'POST', body: 'hello' });
        const [span] = await telemetry.waitForSpans(1);
        const id = span?.spanContext().spanId;
        expect(id).toMatch(/^[0-9a-f]{16}$/);
        expect(seen).toEqual({ handler: id, timer: id, await: id, emitter: id, data: id });
      });

      it('keeps concurrent requests in their own context', async () => {
        const seen = new Map<string, string | undefined>();
        const url = await serve([
          {
            path: '/c/:n',
            handler: async (r) => {
              await delay(Math.floor(Math.random() * 10));
              seen.set(r.req.url ?? '', trace.getActiveSpan()?.spanContext().spanId);
              r.send('ok');
            },
          },
        ]);
        await Promise.all(Array.from({ length: 50 }, (_, i) => rawRequest(`${url}/c/${i}`)));
        const spans = await telemetry.waitForSpans(50);
        const byPath = new Map(spans.map((s) => [s.attributes['url.path'], s.spanContext().spanId]));
        expect(seen.size).toBe(50);
        for (const [path, spanId] of seen) expect(spanId).toBe(byPath.get(path));
      });

      it('creates one span and one measurement when the middleware is mounted twice', async () => {
        const url = await serve([{ path: '/y', handler: ok }], {}, true);
        await rawRequest(`${url}/y`);
        await telemetry.waitForSpans(1);
        await delay(20);
        expect(telemetry.spans()).toHaveLength(1);
        expect(telemetry.spans()[0]?.attributes['http.route']).toBe('/y');
        expect(await durationCount()).toBe(1);
        expect(await activeRequests()).toBe(0);
      });

      it('answers a thrown error once when the middleware is mounted twice', async () => {
        const url = await serve(
          [
            {
              path: '/boom',
              handler: () => {
                throw new Error(SECRET);
              },
            },
          ],
          {},
          true,
        );
        const res = await rawRequest(`${url}/boom`);
        expect(res.status).toBe(500);
        expect(res.body).not.toContain('hunter2');
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
        expect(await durationCount()).toBe(1);
      });

      it('contains throwing hooks and keeps the defaults', async () => {
        const boom = (): never => {
          throw new Error('hook failure');
        };
        const url = await serve([{ path: '/h/:id', handler: ok }], {
          requestHook: boom,
          responseHook: boom,
          spanNameFormatter: boom,
          ignore: [boom],
          publicEndpoint: () => boom(),
        });
        const res = await rawRequest(`${url}/h/1`);
        expect(res.status).toBe(200);
        expect(res.body).toBe('ok');
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.name).toBe('GET /h/:id');
        expect(await activeRequests()).toBe(0);
      });

      it('applies hooks, the span name formatter and ignore rules', async () => {
        const url = await serve(
          [
            { path: '/health', handler: ok },
            { path: '/internal/metrics', handler: ok },
            { path: '/work', handler: ok },
          ],
          {
            requestHook: (span, req) => span.setAttribute('app.hook', req.method ?? ''),
            responseHook: (span, res) => span.setAttribute('app.status', res.statusCode),
            spanNameFormatter: ({ method, route }) => `${method} custom ${route ?? '-'}`,
            ignore: ['/health', /^\/internal\//, (req) => req.headers['x-skip'] === '1'],
          },
        );
        expect((await rawRequest(`${url}/health`)).status).toBe(200);
        expect((await rawRequest(`${url}/internal/metrics`)).status).toBe(200);
        expect((await rawRequest(`${url}/work`, { headers: [['x-skip', '1']] })).status).toBe(200);
        await rawRequest(`${url}/work`);
        const spans = await telemetry.waitForSpans(1);
        await delay(20);
        expect(telemetry.spans()).toHaveLength(1);
        expect(spans[0]?.name).toBe('GET custom /work');
        expect(spans[0]?.attributes['app.hook']).toBe('GET');
        expect(spans[0]?.attributes['app.status']).toBe(200);
        expect(await durationCount()).toBe(1);
      });

      it('for a public endpoint starts a new trace linked to the caller and drops baggage', async () => {
        let baggage: string[] | undefined = ['unset'];
        const url = await serve(
          [
            {
              path: '/pub',
              handler: (r) => {
                baggage = propagation
                  .getBaggage(context.active())
                  ?.getAllEntries()
                  .map(([k]) => k);
                r.send('ok');
              },
            },
          ],
          { publicEndpoint: true },
        );
        await rawRequest(`${url}/pub`, {
          headers: [
            ['traceparent', TRACEPARENT],
            ['baggage', 'user=alice'],
          ],
        });
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.spanContext().traceId).not.toBe(TRACE_ID);
        expect(span?.parentSpanContext).toBeUndefined();
        expect(span?.links.map((l) => l.context.traceId)).toEqual([TRACE_ID]);
        expect(baggage).toBeUndefined();
      });

      it('never reflects inbound tracestate or baggage in the response', async () => {
        const url = await serve([
          {
            path: '/fail',
            handler: () => {
              throw new Error('x');
            },
          },
        ]);
        const res = await rawRequest(`${url}/fail`, {
          headers: [
            ['traceparent', TRACEPARENT],
            ['tracestate', 'vendor=reflected'],
            ['baggage', 'user=%3Cscript%3E'],
          ],
        });
        const raw = JSON.stringify(res.headers) + res.body;
        expect(raw).not.toContain('reflected');
        expect(raw).not.toContain('script');
        expect(raw).not.toContain('user=');
      });
    });

    describe('metrics', () => {
      it('records http.server.request.duration in seconds with semconv buckets and bounded attributes', async () => {
        const url = await serve([{ path: '/users/:id', handler: ok }]);
        await rawRequest(`${url}/users/1`, { headers: [['user-agent', 'x']] });
        await rawRequest(`${url}/missing`);
        const points = await telemetry.points('http.server.request.duration');
        const attrs = points.map((p) => p.attributes);
        expect(attrs).toContainEqual({
          'http.request.method': 'GET',
          'url.scheme': 'http',
          'http.route': '/users/:id',
          'http.response.status_code': 200,
          'network.protocol.version': '1.1',
        });
        expect(attrs).toContainEqual({
          'http.request.method': 'GET',
          'url.scheme': 'http',
          'http.response.status_code': 404,
          'network.protocol.version': '1.1',
        });
        expect(points).toHaveLength(2);
        expect(points[0]?.boundaries).toEqual([
          0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
        ]);
        expect(points.every((p) => (p.sum ?? 0) < 5)).toBe(true);
        const active = await telemetry.points('http.server.active_requests');
        expect(active.map((p) => p.attributes)).toEqual([
          { 'http.request.method': 'GET', 'url.scheme': 'http' },
        ]);
      });

      it('keeps the series count constant over 10k distinct paths', async () => {
        const url = await serve([{ path: '/users/:id', handler: ok }]);
        const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
        const get = (path: string): Promise<void> =>
          new Promise((resolve, reject) => {
            http
              .get(
                `${url}${path}`,
                { agent, headers: { 'user-agent': `ua-${path}`, host: `h${path.length}.example` } },
                (res) => {
                  res.resume();
                  res.on('end', resolve);
                },
              )
              .on('error', reject);
          });
        const total = 10_000;
        for (let i = 0; i < total; i += 100) {
          await Promise.all(
            Array.from({ length: 100 }, (_, j) =>
              get(
                (i + j) % 2 === 0 ? `/users/${crypto.randomUUID()}` : `/x/${crypto.randomUUID()}?q=${i + j}`,
              ),
            ),
          );
        }
        agent.destroy();
        const points = await telemetry.points('http.server.request.duration');
        expect(points).toHaveLength(2);
        expect(points.reduce((n, p) => n + p.value, 0)).toBe(total);
        expect(await activeRequests()).toBe(0);
      }, 60_000);
    });
  });
}
