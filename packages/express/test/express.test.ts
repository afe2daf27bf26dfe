import { EventEmitter } from 'node:events';
import http from 'node:http';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { createTelemetry, rawRequest, startServer, type TestServer } from '@tracewire/testing';
import express from 'express';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type OtelExpressOptions, otelExpress, otelExpressErrorHandler } from '../src/index.js';

const telemetry = createTelemetry();
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

let server: TestServer | undefined;

function makeApp(options: OtelExpressOptions = {}, setup?: (app: express.Express) => void): express.Express {
  const app = express();
  app.use(
    otelExpress({
      tracerProvider: telemetry.tracerProvider,
      meterProvider: telemetry.meterProvider,
      ...options,
    }),
  );
  setup?.(app);
  app.use(otelExpressErrorHandler());
  return app;
}

async function serve(app: express.Express): Promise<string> {
  server = await startServer(app);
  return server.url;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
  telemetry.reset();
});

afterAll(async () => {
  await telemetry.shutdown();
});

async function activeRequests(): Promise<number> {
  const points = await telemetry.points('http.server.active_requests');
  return points.reduce((sum, p) => sum + p.value, 0);
}

describe('otelExpress: spans', () => {
  it('creates one SERVER span named after the route template with semconv attributes', async () => {
    const url = await serve(
      makeApp({}, (app) => {
        app.get('/users/:id', (req, res) => {
          res.json({ id: req.params.id });
        });
      }),
    );
    const res = await rawRequest(`${url}/users/42?color=blue`, { headers: [['user-agent', 'vitest']] });
    expect(res.status).toBe(200);
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.name).toBe('GET /users/:id');
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    expect(span?.instrumentationScope.name).toBe('@tracewire/express');
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
    const url = await serve(makeApp({}, (app) => app.get('/x', (_req, res) => res.send('ok'))));
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
    const url = await serve(
      makeApp({}, (app) =>
        app.get('/x', (_req, res) => {
          seenTraceState = trace.getActiveSpan()?.spanContext().traceState?.serialize();
          res.send('ok');
        }),
      ),
    );
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
    const url = await serve(makeApp({}, (app) => app.get('/x', (_req, res) => res.send('ok'))));
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
    const url = await serve(makeApp({}, (app) => app.get('/users/:id', (_req, res) => res.send('ok'))));
    const res = await rawRequest(`${url}/nothing/here`);
    expect(res.status).toBe(404);
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.name).toBe('GET');
    expect(span?.attributes['http.route']).toBeUndefined();
    expect(span?.attributes['http.response.status_code']).toBe(404);
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('uses _OTHER and names the span HTTP for methods outside the semconv set', async () => {
    const url = await serve(makeApp({}, (app) => app.all('/dav', (_req, res) => res.send('ok'))));
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
    const url = await serve(makeApp({}, (app) => app.get('/dl', (_req, res) => res.send('ok'))));
    await rawRequest(`${url}/dl?X-Amz-Signature=abc&sig=def&AWSAccessKeyId=k&Signature=s&color=blue&SIG=x`);
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.attributes['url.query']).toBe(
      'X-Amz-Signature=REDACTED&sig=REDACTED&AWSAccessKeyId=REDACTED&Signature=REDACTED&color=blue&SIG=x',
    );
  });

  it('does not leak userinfo of an absolute-form target and survives bad percent-encoding', async () => {
    const url = await serve(makeApp({}, (app) => app.get('/x', (_req, res) => res.send('ok'))));
    const socket = await import('node:net').then((net) => net.connect(server?.port ?? 0, '127.0.0.1'));
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
    void url;
  });

  it('records captured request and response headers only when allow-listed', async () => {
    const url = await serve(
      makeApp({ captureRequestHeaders: ['X-Tenant'], captureResponseHeaders: ['x-cache'] }, (app) =>
        app.get('/x', (_req, res) => {
          res.setHeader('x-cache', 'HIT');
          res.send('ok');
        }),
      ),
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
  });
});

describe('otelExpress: route templates', () => {
  it('includes mount prefixes of nested routers and sub-apps', async () => {
    const url = await serve(
      makeApp({}, (app) => {
        const v1 = express.Router();
        v1.get('/users/:id', (_req, res) => res.send('u'));
        const api = express.Router();
        api.use('/v1', v1);
        app.use('/api', api);

        const repos = express.Router({ mergeParams: true });
        repos.get('/repos/:repo', (_req, res) => res.send('r'));
        app.use('/orgs/:org', repos);

        const admin = express();
        admin.get('/stats/:kind', (_req, res) => res.send('s'));
        app.use('/admin', admin);

        const shared = express.Router();
        shared.get('/item/:id', (_req, res) => res.send('i'));
        app.use('/a', shared);
        app.use('/b/:tenant', shared);
      }),
    );
    const cases: [string, string][] = [
      ['/api/v1/users/7', '/api/v1/users/:id'],
      ['/orgs/acme/repos/tracewire', '/orgs/:org/repos/:repo'],
      ['/admin/stats/cpu', '/admin/stats/:kind'],
      ['/a/item/1', '/a/item/:id'],
      ['/b/t1/item/2', '/b/:tenant/item/:id'],
    ];
    for (const [path] of cases) {
      expect((await rawRequest(url + path)).status).toBe(200);
    }
    const spans = await telemetry.waitForSpans(cases.length);
    expect(spans.map((s) => s.attributes['http.route'])).toEqual(cases.map(([, route]) => route));
    expect(spans.map((s) => s.name)).toEqual(cases.map(([, route]) => `GET ${route}`));
  });
});

describe('otelExpress: errors', () => {
  const secret = 'connect ECONNREFUSED 10.1.2.3:5432 user=admin password=hunter2';

  function errorApp(): express.Express {
    return makeApp({}, (app) => {
      app.get('/sync', () => {
        const err = new Error(secret, { cause: new Error('inner cause text') }) as Error &
          Record<string, unknown>;
        err.detail = 'Key (email)=(alice@example.com) already exists';
        err.where = 'SQL function';
        err.hint = 'pg hint';
        throw err;
      });
      app.get('/async', async () => {
        await new Promise((r) => setTimeout(r, 5));
        throw new Error(secret);
      });
      app.get('/next-string', (_req, _res, next) => next('boom'));
      app.get('/next-object', (_req, _res, next) => next({}));
      app.get('/not-found', (_req, _res, next) => {
        const err = Object.assign(new Error('order 7 does not exist'), {
          status: 404,
          statusCode: 404,
          expose: true,
        });
        next(err);
      });
      app.get('/after-headers', (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
        throw new Error('late failure');
      });
    });
  }

  it.each(['/sync', '/async', '/next-string', '/next-object'])(
    'answers %s with a 500 problem+json that leaks nothing and records the exception once',
    async (path) => {
      const url = await serve(errorApp());
      const res = await rawRequest(url + path);
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toContain('application/problem+json');
      const body = JSON.parse(res.body) as Record<string, unknown>;
      const [span] = await telemetry.waitForSpans(1);
      expect(body).toEqual({
        type: 'about:blank',
        title: 'Internal Server Error',
        status: 500,
        instance: path,
        traceId: span?.spanContext().traceId,
      });
      for (const leak of [
        'hunter2',
        '10.1.2.3',
        'inner cause',
        'alice@example.com',
        'SQL function',
        'pg hint',
        'at ',
      ]) {
        expect(res.body).not.toContain(leak);
      }
      expect(span?.status.code).toBe(SpanStatusCode.ERROR);
      expect(span?.attributes['http.response.status_code']).toBe(500);
      expect(span?.attributes['error.type']).toBe('500');
      expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
      expect(res.headers.traceresponse).toContain(span?.spanContext().spanId);
    },
  );

  it('answers an exposed 4xx with its detail and leaves the span status unset', async () => {
    const url = await serve(errorApp());
    const res = await rawRequest(`${url}/not-found`);
    expect(res.status).toBe(404);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 404, title: 'Not Found', detail: 'order 7 does not exist' });
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    expect(span?.attributes['error.type']).toBeUndefined();
    expect(span?.attributes['http.route']).toBe('/not-found');
  });

  it('delegates to Express when headers were already sent and still ends the span as an error', async () => {
    const url = await serve(errorApp());
    await rawRequest(`${url}/after-headers`).catch(() => undefined);
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['http.response.status_code']).toBe(200);
    expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
    expect(await activeRequests()).toBe(0);
  });
});

describe('otelExpress: lifecycle', () => {
  it('ends the span once and returns active requests to 0 when the client aborts mid-handler', async () => {
    let lateWrite: (() => void) | undefined;
    const wrote = new Promise<void>((resolve) => {
      lateWrite = resolve;
    });
    const url = await serve(
      makeApp({}, (app) =>
        app.get('/slow', async (_req, res) => {
          await new Promise((r) => setTimeout(r, 150));
          res.send('too late');
          lateWrite?.();
        }),
      ),
    );
    const req = http.get(`${url}/slow`);
    req.on('error', () => undefined);
    setTimeout(() => req.destroy(), 30);
    await wrote;
    await new Promise((r) => setTimeout(r, 20));
    const spans = telemetry.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]?.attributes['error.type']).toBe('aborted');
    expect(spans[0]?.status.code).toBe(SpanStatusCode.UNSET);
    expect(spans[0]?.attributes['http.response.status_code']).toBeUndefined();
    const durations = await telemetry.points('http.server.request.duration');
    expect(durations.reduce((n, p) => n + p.value, 0)).toBe(1);
    expect(await activeRequests()).toBe(0);
  });

  it('keeps the server span active in handlers, timers, promises, emitters and request streams', async () => {
    const seen: Record<string, string | undefined> = {};
    const url = await serve(
      makeApp({}, (app) =>
        app.post('/ctx', async (req, res) => {
          seen.handler = trace.getActiveSpan()?.spanContext().spanId;
          await new Promise<void>((r) =>
            setTimeout(() => {
              seen.timer = trace.getActiveSpan()?.spanContext().spanId;
              r();
            }, 1),
          );
          seen.await = trace.getActiveSpan()?.spanContext().spanId;
          const emitter = new EventEmitter();
          await new Promise<void>((r) => {
            emitter.on('x', () => {
              seen.emitter = trace.getActiveSpan()?.spanContext().spanId;
              r();
            });
            setImmediate(() => emitter.emit('x'));
          });
          await new Promise<void>((r) => {
            req.on('data', () => {
              seen.data = trace.getActiveSpan()?.spanContext().spanId;
            });
            req.on('end', () => r());
          });
          res.send('ok');
        }),
      ),
    );
    await rawRequest(`${url}/ctx`, { method: 'POST', body: 'hello' });
    const [span] = await telemetry.waitForSpans(1);
    const id = span?.spanContext().spanId;
    expect(seen).toEqual({ handler: id, timer: id, await: id, emitter: id, data: id });
  });

  it('creates one span when the middleware is mounted twice or again in a sub-app', async () => {
    const url = await serve(
      makeApp({}, (app) => {
        app.use(
          otelExpress({ tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider }),
        );
        const sub = express();
        sub.use(
          otelExpress({ tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider }),
        );
        sub.get('/y', (_req, res) => res.send('ok'));
        app.use('/sub', sub);
      }),
    );
    await rawRequest(`${url}/sub/y`);
    await telemetry.waitForSpans(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(telemetry.spans()).toHaveLength(1);
    expect(telemetry.spans()[0]?.attributes['http.route']).toBe('/sub/y');
    const durations = await telemetry.points('http.server.request.duration');
    expect(durations.reduce((n, p) => n + p.value, 0)).toBe(1);
  });

  it('contains throwing hooks and keeps the defaults', async () => {
    const boom = (): never => {
      throw new Error('hook failure');
    };
    const url = await serve(
      makeApp(
        {
          requestHook: boom,
          responseHook: boom,
          spanNameFormatter: boom,
          ignore: [boom],
          publicEndpoint: () => boom(),
        },
        (app) => app.get('/h/:id', (_req, res) => res.send('ok')),
      ),
    );
    const res = await rawRequest(`${url}/h/1`);
    expect(res.status).toBe(200);
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.name).toBe('GET /h/:id');
  });

  it('applies hooks, the span name formatter and ignore rules', async () => {
    const url = await serve(
      makeApp(
        {
          requestHook: (span, req) => span.setAttribute('app.hook', req.method ?? ''),
          responseHook: (span, res) => span.setAttribute('app.status', res.statusCode),
          spanNameFormatter: ({ method, route }) => `${method} custom ${route ?? '-'}`,
          ignore: ['/health', /^\/internal\//, (req) => req.headers['x-skip'] === '1'],
        },
        (app) => {
          app.get('/health', (_req, res) => res.send('ok'));
          app.get('/internal/metrics', (_req, res) => res.send('ok'));
          app.get('/work', (_req, res) => res.send('ok'));
        },
      ),
    );
    await rawRequest(`${url}/health`);
    await rawRequest(`${url}/internal/metrics`);
    await rawRequest(`${url}/work`, { headers: [['x-skip', '1']] });
    await rawRequest(`${url}/work`);
    const spans = await telemetry.waitForSpans(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(telemetry.spans()).toHaveLength(1);
    expect(spans[0]?.name).toBe('GET custom /work');
    expect(spans[0]?.attributes['app.hook']).toBe('GET');
    expect(spans[0]?.attributes['app.status']).toBe(200);
  });

  it('for a public endpoint starts a new trace linked to the caller and drops baggage', async () => {
    let baggage: string[] | undefined;
    const url = await serve(
      makeApp({ publicEndpoint: true }, (app) =>
        app.get('/pub', (_req, res) => {
          baggage = propagation
            .getBaggage(context.active())
            ?.getAllEntries()
            .map(([k]) => k);
          res.send('ok');
        }),
      ),
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

  it('validates options at factory time', () => {
    expect(() => otelExpress({ requestHook: 'nope' } as never)).toThrow(TypeError);
    expect(() => otelExpress({ ignore: [42] } as never)).toThrow(/ignore/);
    expect(() => otelExpress({ tracerProvider: {} } as never)).toThrow(/tracerProvider/);
    expect(() => otelExpress(null as never)).toThrow(TypeError);
    expect(() => otelExpressErrorHandler({ problemDetails: 'yes' } as never)).toThrow(TypeError);
  });
});

describe('otelExpress: metrics', () => {
  it('records http.server.request.duration in seconds with semconv buckets and bounded attributes', async () => {
    const url = await serve(makeApp({}, (app) => app.get('/users/:id', (_req, res) => res.send('ok'))));
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
    expect(points[0]?.boundaries).toEqual([
      0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
    ]);
    expect(points.every((p) => (p.sum ?? 0) < 5)).toBe(true);
    const active = await telemetry.points('http.server.active_requests');
    expect(active.map((p) => p.attributes)).toEqual([{ 'http.request.method': 'GET', 'url.scheme': 'http' }]);
  });

  it('keeps the series count constant over 10k distinct paths', async () => {
    const url = await serve(makeApp({}, (app) => app.get('/users/:id', (_req, res) => res.send('ok'))));
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
          get((i + j) % 2 === 0 ? `/users/${crypto.randomUUID()}` : `/x/${crypto.randomUUID()}?q=${i + j}`),
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
