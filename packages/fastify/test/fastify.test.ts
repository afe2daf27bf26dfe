import http from 'node:http';
import { Readable } from 'node:stream';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { HttpServerInstrumentation } from '@tracewire/core';
import { createTelemetry, rawRequest } from '@tracewire/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { instrumentFastify, type OtelFastifyOptions, otelFastify } from '../src/index.js';
import { type App, delay, FASTIFY_VERSIONS, type Listening, listen } from './helpers.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

/** What a hook or handler sees as the active span. */
const activeSpanId = (): string | undefined => trace.getActiveSpan()?.spanContext().spanId;

/** A GET that may be cut off by the client after `abortAfterMs`. */
function abortingGet(url: string, abortAfterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false });
    req.on('error', () => resolve());
    setTimeout(() => {
      req.destroy();
      resolve();
    }, abortAfterMs);
  });
}

for (const [label, fastify] of FASTIFY_VERSIONS) {
  describe(`${label}: otelFastify`, () => {
    const telemetry = createTelemetry();
    let server: Listening | undefined;

    const options = (extra: Partial<OtelFastifyOptions> = {}): OtelFastifyOptions => ({
      tracerProvider: telemetry.tracerProvider,
      meterProvider: telemetry.meterProvider,
      ...extra,
    });

    /** An app with otelFastify registered first, `build` adding the rest, listening on port 0. */
    async function start(
      build: (app: App) => void,
      extra: Partial<OtelFastifyOptions> = {},
    ): Promise<string> {
      const app = fastify({ forceCloseConnections: true });
      await app.register(otelFastify(options(extra)));
      build(app);
      server = await listen(app);
      return server.url;
    }

    async function activeRequests(): Promise<number> {
      const points = await telemetry.points('http.server.active_requests');
      return points.reduce((sum, p) => sum + p.value, 0);
    }

    afterEach(async () => {
      await server?.close();
      server = undefined;
      telemetry.reset();
    });

    afterAll(async () => {
      await telemetry.shutdown();
    });

    describe('spans and routes', () => {
      it('names the SERVER span after the route template with the stable HTTP attributes', async () => {
        const url = await start((app) => {
          app.get('/users/:id', async (request) => ({ id: (request.params as { id: string }).id }));
        });
        const res = await rawRequest(`${url}/users/42?q=1`, { headers: [['user-agent', 'vitest']] });
        expect(res.status).toBe(200);
        expect(res.body).toBe('{"id":"42"}');
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.name).toBe('GET /users/:id');
        expect(span?.kind).toBe(SpanKind.SERVER);
        expect(span?.instrumentationScope.name).toBe('@tracewire/fastify');
        expect(span?.attributes).toMatchObject({
          'http.request.method': 'GET',
          'http.route': '/users/:id',
          'http.response.status_code': 200,
          'url.path': '/users/42',
          'url.query': 'q=1',
          'url.scheme': 'http',
          'server.address': '127.0.0.1',
          'server.port': server?.port,
          'user_agent.original': 'vitest',
          'network.protocol.version': '1.1',
        });
        expect(span?.status.code).toBe(SpanStatusCode.UNSET);
      });

      it('includes register prefixes (nested, with parameters) and keeps wildcards', async () => {
        const url = await start((app) => {
          void app.register(
            async (api: App) => {
              void api.register(
                async (v1: App) => {
                  v1.get('/items/:id', async () => 'item');
                },
                { prefix: '/orgs/:org' },
              );
              api.get('/files/*', async () => 'file');
            },
            { prefix: '/api' },
          );
        });
        expect((await rawRequest(`${url}/api/orgs/acme/items/7`)).body).toBe('item');
        expect((await rawRequest(`${url}/api/files/a/b/c.txt`)).body).toBe('file');
        const spans = await telemetry.waitForSpans(2);
        expect(spans.map((s) => s.attributes['http.route'])).toEqual([
          '/api/orgs/:org/items/:id',
          '/api/files/*',
        ]);
        expect(spans.map((s) => s.name)).toEqual(['GET /api/orgs/:org/items/:id', 'GET /api/files/*']);
      });

      it("leaves http.route unset for Fastify's not-found handler", async () => {
        let otelIn404: unknown = 'unset';
        const url = await start((app) => {
          app.get('/known', async () => 'ok');
          app.setNotFoundHandler((request, reply) => {
            otelIn404 = request.otel?.span.spanContext().spanId;
            reply.code(404).send({ missing: true });
          });
        });
        const res = await rawRequest(`${url}/unknown/path`);
        expect(res.status).toBe(404);
        expect(res.body).toBe('{"missing":true}');
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.name).toBe('GET');
        expect(span?.attributes['http.route']).toBeUndefined();
        expect(span?.attributes['http.response.status_code']).toBe(404);
        expect(span?.status.code).toBe(SpanStatusCode.UNSET);
        expect(otelIn404).toBe(span?.spanContext().spanId);
      });

      it("answers Fastify's default 404 unchanged", async () => {
        const url = await start(() => undefined);
        const res = await rawRequest(`${url}/nothing`);
        expect(res.status).toBe(404);
        expect(JSON.parse(res.body)).toEqual({
          message: 'Route GET:/nothing not found',
          error: 'Not Found',
          statusCode: 404,
        });
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.name).toBe('GET');
      });

      it('names HEAD requests of a GET route (exposeHeadRoutes) after the route', async () => {
        const url = await start((app) => {
          app.get('/doc/:id', async () => 'body');
        });
        const res = await rawRequest(`${url}/doc/1`, { method: 'HEAD' });
        expect(res.status).toBe(200);
        expect(res.body).toBe('');
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.name).toBe('HEAD /doc/:id');
        expect(span?.attributes['http.request.method']).toBe('HEAD');
        expect(span?.attributes['http.response.status_code']).toBe(200);
      });

      it('exposes the request telemetry as request.otel', async () => {
        let seen: string | undefined;
        const url = await start((app) => {
          app.get('/x', async (request) => {
            request.otel?.span.setAttribute('app.custom', 'yes');
            seen = request.otel?.span.spanContext().spanId;
            return 'ok';
          });
        });
        await rawRequest(`${url}/x`);
        const [span] = await telemetry.waitForSpans(1);
        expect(seen).toBe(span?.spanContext().spanId);
        expect(span?.attributes['app.custom']).toBe('yes');
      });

      it('gives ignored requests no span, no metrics and request.otel null', async () => {
        let otel: unknown = 'unset';
        const url = await start(
          (app) => {
            app.get('/health', async (request) => {
              otel = request.otel;
              return 'up';
            });
          },
          { ignore: ['/health'] },
        );
        expect((await rawRequest(`${url}/health`)).body).toBe('up');
        await delay(20);
        expect(telemetry.spans()).toHaveLength(0);
        expect(await telemetry.points('http.server.request.duration')).toHaveLength(0);
        expect(otel).toBeNull();
      });
    });

    describe('errors', () => {
      it("records a thrown Error; Fastify's default handler answers as without tracewire", async () => {
        const url = await start((app) => {
          app.get('/boom/:id', () => {
            throw new Error('boom');
          });
        });
        const res = await rawRequest(`${url}/boom/1`);
        expect(res.status).toBe(500);
        expect(JSON.parse(res.body)).toEqual({
          statusCode: 500,
          error: 'Internal Server Error',
          message: 'boom',
        });
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.name).toBe('GET /boom/:id');
        expect(span?.status.code).toBe(SpanStatusCode.ERROR);
        expect(span?.attributes['error.type']).toBe('500');
        expect(span?.attributes['http.response.status_code']).toBe(500);
        const events = span?.events.filter((e) => e.name === 'exception') ?? [];
        expect(events).toHaveLength(1);
        expect(events[0]?.attributes?.['exception.message']).toBe('boom');
        expect(await activeRequests()).toBe(0);
      });

      it('records a rejected promise', async () => {
        const url = await start((app) => {
          app.get('/reject', async () => {
            await delay(2);
            throw new Error('async boom');
          });
        });
        expect((await rawRequest(`${url}/reject`)).status).toBe(500);
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.status.code).toBe(SpanStatusCode.ERROR);
        expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
      });

      it('keeps a 4xx sent as reply.code(4xx).send(err) a client error (span status unset)', async () => {
        const url = await start((app) => {
          app.get('/bad', (_request, reply) => {
            reply.code(422).send(new Error('invalid order'));
          });
        });
        const res = await rawRequest(`${url}/bad`);
        expect(res.status).toBe(422);
        expect(JSON.parse(res.body)).toMatchObject({ statusCode: 422, message: 'invalid order' });
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.attributes['http.response.status_code']).toBe(422);
        expect(span?.attributes['error.type']).toBeUndefined();
        expect(span?.status.code).toBe(SpanStatusCode.UNSET);
        expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
      });

      it("leaves the app's setErrorHandler in charge of the answer", async () => {
        const url = await start((app) => {
          app.setErrorHandler((err, request, reply) => {
            reply.code(503).send({ handled: (err as Error).message, span: request.otel !== null });
          });
          app.get('/fail', () => {
            throw new Error('db down');
          });
        });
        const res = await rawRequest(`${url}/fail`);
        expect(res.status).toBe(503);
        expect(JSON.parse(res.body)).toEqual({ handled: 'db down', span: true });
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.status.code).toBe(SpanStatusCode.ERROR);
        expect(span?.attributes['error.type']).toBe('503');
        expect(span?.attributes['http.route']).toBe('/fail');
      });

      it('records an error the app handler passes on with reply.send(err)', async () => {
        const url = await start((app) => {
          app.setErrorHandler((err, _request, reply) => {
            reply.send(err);
          });
          app.get('/fail', () => {
            throw Object.assign(new Error('gone'), { statusCode: 410 });
          });
        });
        const res = await rawRequest(`${url}/fail`);
        expect(res.status).toBe(410);
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
        expect(span?.status.code).toBe(SpanStatusCode.UNSET);
      });
    });

    describe('responses', () => {
      it('ends the span of a hijacked reply when the raw response ends', async () => {
        const url = await start((app) => {
          app.get('/raw/:id', (_request, reply) => {
            reply.hijack();
            setTimeout(() => {
              reply.raw.writeHead(207, { 'content-type': 'text/plain' });
              reply.raw.end('hijacked');
            }, 30);
          });
        });
        const res = await rawRequest(`${url}/raw/1`);
        expect(res.status).toBe(207);
        expect(res.body).toBe('hijacked');
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.name).toBe('GET /raw/:id');
        expect(span?.attributes['http.response.status_code']).toBe(207);
        const points = await telemetry.points('http.server.request.duration');
        expect(points).toHaveLength(1);
        expect(points[0]?.sum).toBeGreaterThanOrEqual(0.025);
        expect(await activeRequests()).toBe(0);
      });

      it('ends the span of a hijacked reply once when the client goes away', async () => {
        let closed: () => void = () => undefined;
        const done = new Promise<void>((resolve) => {
          closed = resolve;
        });
        const url = await start((app) => {
          app.get('/raw', (_request, reply) => {
            reply.hijack();
            reply.raw.on('close', () => closed());
          });
        });
        await abortingGet(`${url}/raw`, 30);
        await done;
        await telemetry.waitForSpans(1);
        await delay(20);
        expect(telemetry.spans()).toHaveLength(1);
        expect(telemetry.spans()[0]?.attributes['error.type']).toBe('aborted');
        expect(await activeRequests()).toBe(0);
      });

      it('ends the span of reply.send(stream) when the body is complete', async () => {
        const url = await start((app) => {
          app.get('/stream', (_request, reply) => {
            let n = 0;
            const body = new Readable({
              read() {
                if (n === 3) this.push(null);
                else setTimeout(() => this.push(`chunk${n++}\n`), 10);
              },
            });
            reply.type('text/plain').send(body);
          });
        });
        const res = await rawRequest(`${url}/stream`);
        expect(res.body).toBe('chunk0\nchunk1\nchunk2\n');
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.attributes['http.response.status_code']).toBe(200);
        expect(span?.attributes['error.type']).toBeUndefined();
        const points = await telemetry.points('http.server.request.duration');
        expect(points[0]?.sum).toBeGreaterThanOrEqual(0.025);
      });

      it('marks a body stream failing after the headers as a server error, recorded once', async () => {
        const url = await start((app) => {
          app.get('/broken', (_request, reply) => {
            const body = new Readable({ read() {} });
            body.push('partial');
            setTimeout(() => body.destroy(new Error('disk read failed')), 20);
            reply.type('text/plain').send(body);
          });
        });
        await new Promise<void>((resolve) => {
          http.get(`${url}/broken`, (res) => {
            res.resume();
            res.on('error', () => resolve());
            res.on('close', () => resolve());
          });
        });
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.status.code).toBe(SpanStatusCode.ERROR);
        expect(span?.attributes['error.type']).toBe('_OTHER');
        expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
        expect(await activeRequests()).toBe(0);
      });

      it('ends the span once and brings active requests back to 0 when the client aborts', async () => {
        let finished: () => void = () => undefined;
        const handlerDone = new Promise<void>((resolve) => {
          finished = resolve;
        });
        const url = await start((app) => {
          app.get('/slow', async (_request, reply) => {
            await delay(120);
            finished();
            return reply.send('late');
          });
        });
        await abortingGet(`${url}/slow`, 30);
        await handlerDone;
        await delay(20);
        const spans = telemetry.spans();
        expect(spans).toHaveLength(1);
        expect(spans[0]?.attributes['error.type']).toBe('aborted');
        expect(spans[0]?.attributes['http.route']).toBe('/slow');
        expect(spans[0]?.status.code).toBe(SpanStatusCode.UNSET);
        const points = await telemetry.points('http.server.request.duration');
        expect(points.reduce((n, p) => n + p.value, 0)).toBe(1);
        expect(await activeRequests()).toBe(0);
      });
    });

    describe('metrics', () => {
      it('records http.server.request.duration with the route and active requests back to 0', async () => {
        const url = await start((app) => {
          app.get('/users/:id', async () => 'ok');
        });
        await rawRequest(`${url}/users/1`);
        await rawRequest(`${url}/users/2`);
        await rawRequest(`${url}/missing`);
        const points = await telemetry.points('http.server.request.duration');
        expect(points.map((p) => [p.attributes, p.value])).toEqual([
          [
            {
              'http.request.method': 'GET',
              'url.scheme': 'http',
              'http.route': '/users/:id',
              'http.response.status_code': 200,
              'network.protocol.version': '1.1',
            },
            2,
          ],
          [
            {
              'http.request.method': 'GET',
              'url.scheme': 'http',
              'http.response.status_code': 404,
              'network.protocol.version': '1.1',
            },
            1,
          ],
        ]);
        expect(await activeRequests()).toBe(0);
      });

      it('counts a request in progress as active', async () => {
        let release: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        const url = await start((app) => {
          app.get('/wait', async () => {
            await gate;
            return 'ok';
          });
        });
        const pending = rawRequest(`${url}/wait`);
        await delay(30);
        expect(await activeRequests()).toBe(1);
        release();
        await pending;
        await telemetry.waitForSpans(1);
        expect(await activeRequests()).toBe(0);
      });
    });

    describe('propagation', () => {
      it('continues a valid traceparent and answers traceresponse', async () => {
        const url = await start((app) => {
          app.get('/x', async () => 'ok');
        });
        const res = await rawRequest(`${url}/x`, {
          headers: [['traceparent', `00-${TRACE_ID}-${PARENT_ID}-01`]],
        });
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.spanContext().traceId).toBe(TRACE_ID);
        expect(span?.parentSpanContext?.spanId).toBe(PARENT_ID);
        expect(res.headers.traceresponse).toBe(`00-${TRACE_ID}-${span?.spanContext().spanId}-01`);
      });

      it('answers traceresponse as a reply header: nothing set on reply.raw, removable like any other', async () => {
        // A header set on the Node response makes Node's writeHead copy every reply header through
        // setHeader again: traceresponse lives in the reply's headers, as Fastify's own do.
        const seen: Record<string, unknown> = {};
        const url = await start((app) => {
          app.get('/kept', async (_request, reply) => {
            seen.reply = reply.getHeader('traceresponse');
            seen.raw = reply.raw.getHeaderNames();
            return 'ok';
          });
          app.get('/removed', async (_request, reply) => {
            reply.removeHeader('traceresponse');
            return 'ok';
          });
        });
        const kept = await rawRequest(`${url}/kept`);
        const [span] = await telemetry.waitForSpans(1);
        expect(kept.headers.traceresponse).toBe(
          `00-${span?.spanContext().traceId}-${span?.spanContext().spanId}-01`,
        );
        expect(seen.reply).toBe(kept.headers.traceresponse);
        expect(seen.raw).toEqual([]);
        const removed = await rawRequest(`${url}/removed`);
        expect(removed.status).toBe(200);
        expect(removed.headers.traceresponse).toBeUndefined();
        await telemetry.waitForSpans(2);
      });

      it('starts a new trace on a malformed traceparent, and the request is answered', async () => {
        const url = await start((app) => {
          app.get('/x', async () => 'ok');
        });
        const res = await rawRequest(`${url}/x`, { headers: [['traceparent', '00-zzzz-01']] });
        expect(res.status).toBe(200);
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(span?.parentSpanContext).toBeUndefined();
      });

      it('sends no traceresponse when traceResponseHeader is false', async () => {
        const url = await start(
          (app) => {
            app.get('/x', async () => 'ok');
          },
          { traceResponseHeader: false },
        );
        const res = await rawRequest(`${url}/x`);
        expect(res.headers.traceresponse).toBeUndefined();
        await telemetry.waitForSpans(1);
      });
    });

    describe('context', () => {
      it('makes the span active in later hooks, body parsing, the handler and its continuations', async () => {
        const seen: Record<string, string | undefined> = {};
        const url = await start((app) => {
          app.addHook('onRequest', async () => {
            seen.onRequest = activeSpanId();
          });
          app.addHook('preParsing', (_request, _reply, payload, done) => {
            seen.preParsing = activeSpanId();
            done(null, payload);
          });
          app.addHook('preValidation', (_request, _reply, done) => {
            seen.preValidation = activeSpanId();
            done();
          });
          app.addHook('preHandler', async () => {
            await delay(1);
            seen.preHandler = activeSpanId();
          });
          app.addHook('onSend', async (_request, _reply, payload) => {
            seen.onSend = activeSpanId();
            return payload;
          });
          app.addHook('onResponse', (_request, _reply, done) => {
            seen.onResponse = activeSpanId();
            done();
          });
          app.post('/ctx', async (request) => {
            seen.handler = activeSpanId();
            await new Promise((r) => setTimeout(r, 1));
            seen.timer = activeSpanId();
            await new Promise<void>((resolve) => setImmediate(resolve));
            seen.immediate = activeSpanId();
            seen.otel = request.otel?.span.spanContext().spanId;
            return request.body;
          });
        });
        const res = await rawRequest(`${url}/ctx`, {
          method: 'POST',
          body: '{"a":1}',
          headers: [['content-type', 'application/json']],
        });
        expect(res.body).toBe('{"a":1}');
        const [span] = await telemetry.waitForSpans(1);
        await delay(10);
        const id = span?.spanContext().spanId;
        expect(id).toMatch(/^[0-9a-f]{16}$/);
        expect(seen).toEqual({
          onRequest: id,
          preParsing: id,
          preValidation: id,
          preHandler: id,
          handler: id,
          timer: id,
          immediate: id,
          otel: id,
          onSend: id,
          onResponse: id,
        });
      });

      it('keeps concurrent requests apart', async () => {
        const seen = new Map<string, string | undefined>();
        const url = await start((app) => {
          app.get('/c/:n', async (request) => {
            await delay(Math.floor(Math.random() * 10));
            seen.set(request.url, activeSpanId());
            return 'ok';
          });
        });
        await Promise.all(Array.from({ length: 30 }, (_, i) => rawRequest(`${url}/c/${i}`)));
        const spans = await telemetry.waitForSpans(30);
        const byPath = new Map(spans.map((s) => [s.attributes['url.path'], s.spanContext().spanId]));
        expect(seen.size).toBe(30);
        for (const [path, spanId] of seen) expect(spanId).toBe(byPath.get(path));
      });
    });

    describe('registration', () => {
      it('is not encapsulated: routes of child plugins registered later are covered', async () => {
        const url = await start((app) => {
          void app.register(async (child: App) => {
            child.get('/child', async (request) => String(request.otel !== null));
          });
        });
        expect((await rawRequest(`${url}/child`)).body).toBe('true');
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.name).toBe('GET /child');
      });

      it('gives one span when registered twice, in the parent and in a child context', async () => {
        const url = await start((app) => {
          void app.register(otelFastify(options()));
          void app.register(async (child: App) => {
            await child.register(otelFastify(options()));
            child.get('/twice', async () => 'ok');
          });
        });
        await rawRequest(`${url}/twice`);
        await telemetry.waitForSpans(1);
        await delay(20);
        expect(telemetry.spans()).toHaveLength(1);
        const points = await telemetry.points('http.server.request.duration');
        expect(points.reduce((n, p) => n + p.value, 0)).toBe(1);
        expect(await activeRequests()).toBe(0);
      });

      it('declares itself to Fastify like fastify-plugin does', () => {
        const plugin = otelFastify(options()) as unknown as Record<symbol, unknown>;
        expect(plugin[Symbol.for('skip-override')]).toBe(true);
        expect(plugin[Symbol.for('fastify.display-name')]).toBe('@tracewire/fastify');
        expect(plugin[Symbol.for('plugin-meta')]).toMatchObject({ name: '@tracewire/fastify' });
      });

      it('reports a plugin registered without calling the factory', async () => {
        const app = fastify();
        void app.register(otelFastify as never);
        await expect(app.ready()).rejects.toThrow(/app\.register\(otelFastify\(options\)\)/);
      });

      it('instrumentFastify(instance) adds the hooks synchronously (for instances made by NestJS)', async () => {
        const app = fastify({ forceCloseConnections: true });
        instrumentFastify(app, options());
        instrumentFastify(app, options()); // a second call changes nothing
        expect(app.hasRequestDecorator('otel')).toBe(true);
        app.get('/nest/:id', async (request) => String(request.otel !== null));
        server = await listen(app);
        expect((await rawRequest(`${server.url}/nest/1`)).body).toBe('true');
        const [span] = await telemetry.waitForSpans(1);
        await delay(20);
        expect(telemetry.spans()).toHaveLength(1);
        expect(span?.name).toBe('GET /nest/:id');
      });

      it('adopts an outer tracewire instrumentation instead of starting a second span', async () => {
        const outer = new HttpServerInstrumentation(options(), { name: 'outer', version: '0' });
        let seen: unknown;
        const app = fastify({
          forceCloseConnections: true,
          serverFactory: (handler) =>
            http.createServer((req, res) => {
              outer.start(req, res);
              handler(req, res);
            }),
        });
        await app.register(otelFastify(options()));
        app.get('/o/:id', async (request) => {
          seen = request.otel?.span.spanContext().spanId;
          return 'ok';
        });
        server = await listen(app);
        await rawRequest(`${server.url}/o/1`);
        const [span] = await telemetry.waitForSpans(1);
        await delay(20);
        expect(telemetry.spans()).toHaveLength(1);
        expect(span?.instrumentationScope.name).toBe('outer');
        expect(span?.attributes['http.route']).toBe('/o/:id');
        expect(seen).toBe(span?.spanContext().spanId);
      });
    });

    describe('options', () => {
      it('validates options with a TypeError when the plugin is created', () => {
        expect(() => otelFastify({ tracerProvider: 1 } as never)).toThrow(TypeError);
        expect(() => otelFastify({ ignore: [42] } as never)).toThrow(/options\.ignore/);
        expect(() => otelFastify('x' as never)).toThrow(TypeError);
        expect(() => otelFastify({ accessLog: true })).toThrow(/logger/);
        expect(() => instrumentFastify({} as never)).toThrow(TypeError);
      });

      it('applies requestHook, responseHook, spanNameFormatter and captured headers', async () => {
        const url = await start(
          (app) => {
            app.get('/h/:id', (_request, reply) => {
              reply.header('x-cache', 'HIT').send('ok');
            });
          },
          {
            requestHook: (span, req) => span.setAttribute('app.method', req.method ?? ''),
            responseHook: (span, res) => span.setAttribute('app.status', res.statusCode),
            spanNameFormatter: ({ method, route }) => `${method} fastify ${route ?? '-'}`,
            captureRequestHeaders: ['x-tenant'],
            captureResponseHeaders: ['x-cache'],
          },
        );
        await rawRequest(`${url}/h/1`, { headers: [['x-tenant', 'acme']] });
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.name).toBe('GET fastify /h/:id');
        expect(span?.attributes).toMatchObject({
          'app.method': 'GET',
          'app.status': 200,
          'http.request.header.x-tenant': ['acme'],
          'http.response.header.x-cache': ['HIT'],
        });
      });

      it('contains throwing hooks: the request is answered as usual', async () => {
        const boom = (): never => {
          throw new Error('hook failure');
        };
        const url = await start(
          (app) => {
            app.get('/h', async () => 'ok');
          },
          { requestHook: boom, responseHook: boom, spanNameFormatter: boom, ignore: [boom] },
        );
        const res = await rawRequest(`${url}/h`);
        expect(res.status).toBe(200);
        expect(res.body).toBe('ok');
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.name).toBe('GET /h');
        expect(await activeRequests()).toBe(0);
      });

      it("gives each request a child of options.logger as request.otel.log, next to Fastify's request.log", async () => {
        const lines: Record<string, unknown>[] = [];
        const log = {
          info: (r: Record<string, unknown>) => lines.push({ level: 'info', ...r }),
          warn: (r: Record<string, unknown>) => lines.push({ level: 'warn', ...r }),
          error: (r: Record<string, unknown>) => lines.push({ level: 'error', ...r }),
        };
        let sameLog: boolean | undefined;
        const url = await start(
          (app) => {
            app.get('/l/:id', async (request) => {
              sameLog = request.otel?.log === log;
              request.log.info('fastify logger still works');
              return 'ok';
            });
          },
          { logger: { child: () => log }, accessLog: true },
        );
        await rawRequest(`${url}/l/1`);
        await telemetry.waitForSpans(1);
        await delay(10);
        expect(sameLog).toBe(true);
        expect(lines).toEqual([
          expect.objectContaining({
            level: 'info',
            method: 'GET',
            route: '/l/:id',
            path: '/l/1',
            status: 200,
          }),
        ]);
      });

      it('works with no SDK registered: requests are answered and nothing is recorded', async () => {
        const app = fastify({ forceCloseConnections: true });
        await app.register(otelFastify());
        let otel: unknown;
        app.get('/x', async (request) => {
          otel = request.otel;
          return 'ok';
        });
        server = await listen(app);
        const res = await rawRequest(`${server.url}/x`, {
          headers: [['traceparent', `00-${TRACE_ID}-${PARENT_ID}-01`]],
        });
        expect(res.status).toBe(200);
        expect(res.headers.traceresponse).toBeUndefined();
        expect(otel).not.toBeNull();
        expect(telemetry.spans()).toHaveLength(0);
      });
    });
  });
}
