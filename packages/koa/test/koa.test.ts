// Koa-specific behaviour. Everything every HTTP adapter must do (propagation, 404, thrown errors,
// aborts, context, hooks, metrics, cardinality) is in the shared conformance suite:
// conformance.test.ts runs `describeHttpAdapterConformance` from @tracewire/testing.
import http from 'node:http';
import Router from '@koa/router';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { TracedError } from '@tracewire/errors';
import {
  createTelemetry,
  type RawResponse,
  rawRequest,
  startServer,
  type TestServer,
} from '@tracewire/testing';
import createError from 'http-errors';
import Koa from 'koa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  getKoaServerRequest,
  koaRoute,
  type OtelKoaOptions,
  type OtelKoaState,
  otelKoa,
} from '../src/index.js';

const telemetry = createTelemetry();
let server: TestServer | undefined;

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function otel(options: OtelKoaOptions = {}): Koa.Middleware {
  return otelKoa({
    tracerProvider: telemetry.tracerProvider,
    meterProvider: telemetry.meterProvider,
    ...options,
  });
}

/** A Koa app with otelKoa first; `app.silent` keeps Koa's default error logger quiet. */
function makeApp(options: OtelKoaOptions = {}): Koa<OtelKoaState> {
  const app = new Koa<OtelKoaState>();
  app.silent = true;
  app.use(otel(options));
  return app;
}

async function serve(app: Koa<OtelKoaState>): Promise<string> {
  server = await startServer(app.callback());
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

/** Status of each duration point, by route ('-' when there is none). */
async function metricStatuses(): Promise<number[]> {
  const points = await telemetry.points('http.server.request.duration');
  return points.flatMap((p) =>
    Array.from({ length: p.value }, () => p.attributes['http.response.status_code'] as number),
  );
}

/** T24: every way a Koa handler fails, mounted on a router. */
function t24Router(): Router<OtelKoaState> {
  const router = new Router<OtelKoaState>();
  router.get('/throw-404', (ctx) => ctx.throw(404, 'x'));
  router.get('/throw-500', (ctx) => ctx.throw(500, 'db at 10.0.0.5'));
  router.get('/throw-string', () => {
    throw 'str';
  });
  router.get('/throw-null', () => {
    throw null;
  });
  router.get('/throw-418-object', () => {
    throw { status: 418 };
  });
  router.get('/throw-999', (ctx) => ctx.throw(999));
  router.get('/status-999', (ctx) => {
    ctx.status = 999;
  });
  router.get('/status-1000', (ctx) => {
    ctx.status = 1000;
  });
  return router;
}

const T24_PATHS = [
  '/throw-404',
  '/throw-500',
  '/throw-string',
  '/throw-null',
  '/throw-418-object',
  '/throw-999',
  '/status-999',
  '/status-1000',
] as const;

describe('otelKoa: T24 status actually sent', () => {
  it('answers problem+json by default and records the wire status on span and metric', async () => {
    const app = makeApp();
    app.use(t24Router().routes());
    const url = await serve(app);
    const responses: RawResponse[] = [];
    for (const path of T24_PATHS) responses.push(await rawRequest(url + path));
    const spans = await telemetry.waitForSpans(T24_PATHS.length);
    const byPath = new Map(spans.map((s) => [s.attributes['url.path'], s]));
    const wire = responses.map((r) => r.status);
    expect(wire).toEqual([404, 500, 500, 500, 500, 500, 999, 500]);
    expect(T24_PATHS.map((p) => byPath.get(p)?.attributes['http.response.status_code'])).toEqual(wire);
    expect((await metricStatuses()).sort()).toEqual([...wire].sort());
    expect(JSON.parse(responses[0]?.body ?? '')).toMatchObject({
      status: 404,
      detail: 'x',
      instance: '/throw-404',
    });
    T24_PATHS.forEach((path, i) => {
      const res = responses[i];
      expect(res?.headers.traceresponse, path).toContain(byPath.get(path)?.spanContext().spanId);
      if (path === '/throw-404' || path === '/status-999') return;
      expect(res?.headers['content-type'], path).toContain('application/problem+json');
      const body = JSON.parse(res?.body ?? '') as Record<string, unknown>;
      expect(body, path).toEqual({
        type: 'about:blank',
        title: 'Internal Server Error',
        status: 500,
        instance: path,
        traceId: byPath.get(path)?.spanContext().traceId,
      });
    });
  });

  it('with problemDetails: false, lets Koa answer and records the status Koa sent', async () => {
    const app = makeApp({ problemDetails: false });
    app.use(t24Router().routes());
    const url = await serve(app);
    const responses: RawResponse[] = [];
    for (const path of T24_PATHS) responses.push(await rawRequest(url + path));
    const spans = await telemetry.waitForSpans(T24_PATHS.length);
    const byPath = new Map(spans.map((s) => [s.attributes['url.path'], s]));
    const wire = responses.map((r) => r.status);
    // Koa's rules: ctx.throw(999) is coerced to 500 by http-errors, ctx.status = 999 is accepted,
    // non-Errors and invalid statuses are 500. `throw null` is answered too (Koa alone never would).
    expect(wire).toEqual([404, 500, 500, 500, 500, 500, 999, 500]);
    expect(T24_PATHS.map((p) => byPath.get(p)?.attributes['http.response.status_code'])).toEqual(wire);
    expect((await metricStatuses()).sort()).toEqual([...wire].sort());
    expect(responses[0]?.body).toBe('x');
    expect(responses[0]?.headers['content-type']).toContain('text/plain');
    for (const r of responses.slice(1, 6)) expect(r.body).toBe('Internal Server Error');
    // traceresponse survives Koa's ctx.onerror, which removes every header set before the error.
    T24_PATHS.forEach((path, i) => {
      expect(responses[i]?.headers.traceresponse, path).toContain(byPath.get(path)?.spanContext().spanId);
    });
  });

  it('records the exception once and marks only 5xx as ERROR', async () => {
    const app = makeApp();
    app.use(t24Router().routes());
    const url = await serve(app);
    await rawRequest(`${url}/throw-404`);
    await rawRequest(`${url}/throw-500`);
    const [notFound, failed] = await telemetry.waitForSpans(2);
    expect(notFound?.status.code).toBe(SpanStatusCode.UNSET);
    expect(notFound?.attributes['error.type']).toBeUndefined();
    expect(notFound?.attributes['http.route']).toBe('/throw-404');
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes['error.type']).toBe('500');
    for (const span of [notFound, failed]) {
      expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
    }
  });
});

describe("otelKoa: Koa's provisional 404", () => {
  it('records 200 for a body set after an await, not the provisional 404', async () => {
    let seenBefore: number | undefined;
    const app = makeApp();
    app.use(async (ctx, next) => {
      seenBefore = ctx.status;
      await next();
    });
    const router = new Router();
    router.get('/late', async (ctx) => {
      await delay(10);
      ctx.body = { ok: true };
    });
    app.use(router.routes());
    const url = await serve(app);
    const res = await rawRequest(`${url}/late`);
    expect(res.status).toBe(200);
    expect(seenBefore).toBe(404);
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.attributes['http.response.status_code']).toBe(200);
    expect(await metricStatuses()).toEqual([200]);
  });

  it('records the 404 Koa sends for a matched route that set no body, with its route', async () => {
    const app = makeApp();
    const router = new Router();
    router.get('/empty/:id', () => undefined);
    app.use(router.routes());
    const url = await serve(app);
    expect((await rawRequest(`${url}/empty/1`)).status).toBe(404);
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.attributes['http.response.status_code']).toBe(404);
    expect(span?.attributes['http.route']).toBe('/empty/:id');
  });

  it('records 500, not 200, when a body was set and a later error replaced it', async () => {
    const app = makeApp();
    const router = new Router();
    router.get('/set-then-fail', async (ctx) => {
      ctx.set('content-disposition', 'attachment; filename=report.csv');
      ctx.body = 'half a report';
      await delay(5);
      throw new Error('db at 10.0.0.5');
    });
    app.use(router.routes());
    const url = await serve(app);
    const res = await rawRequest(`${url}/set-then-fail`);
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toContain('application/problem+json');
    // Like Koa's own handler: headers set before the error are dropped, traceresponse is kept.
    expect(res.headers['content-disposition']).toBeUndefined();
    expect(res.body).not.toContain('half a report');
    const [span] = await telemetry.waitForSpans(1);
    expect(res.headers.traceresponse).toContain(span?.spanContext().spanId);
    expect(span?.attributes['http.response.status_code']).toBe(500);
    expect(await metricStatuses()).toEqual([500]);
  });

  it('records an explicit status without body (201) as sent', async () => {
    const app = makeApp();
    const router = new Router();
    router.post('/items', (ctx) => {
      ctx.status = 201;
    });
    app.use(router.routes());
    const url = await serve(app);
    expect((await rawRequest(`${url}/items`, { method: 'POST' })).status).toBe(201);
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.attributes['http.response.status_code']).toBe(201);
  });
});

describe('otelKoa: error answers', () => {
  it('applies err.headers (WWW-Authenticate) and keeps traceresponse in problem+json answers', async () => {
    const app = makeApp();
    const router = new Router();
    router.get('/private', (ctx) => {
      ctx.set('x-before', 'dropped');
      ctx.throw(401, 'login first', { headers: { 'WWW-Authenticate': 'Bearer', 'x-bad': 'a\r\nb' } });
    });
    app.use(router.routes());
    const url = await serve(app);
    const res = await rawRequest(`${url}/private`);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ status: 401, detail: 'login first' });
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.headers['x-bad']).toBeUndefined();
    expect(res.headers['x-before']).toBeUndefined();
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.body)));
    const [span] = await telemetry.waitForSpans(1);
    expect(res.headers.traceresponse).toContain(span?.spanContext().spanId);
  });

  it('with problemDetails: false keeps traceresponse and the error headers through Koa and an upstream handler', async () => {
    const app = new Koa();
    app.silent = true;
    const caught: unknown[] = [];
    // The app's own error middleware, mounted before otelKoa.
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        caught.push(err);
        if (ctx.path === '/custom') {
          ctx.status = 503;
          ctx.body = 'try later';
          return;
        }
        throw err;
      }
    });
    app.use(otel({ problemDetails: false }));
    const router = new Router();
    const ownHeaders = { 'WWW-Authenticate': 'Bearer' };
    router.get('/koa', (ctx) => ctx.throw(401, 'login first', { headers: ownHeaders }));
    router.get('/custom', () => {
      throw new Error('upstream handles it');
    });
    router.get('/frozen', () => {
      throw Object.freeze(new Error('frozen'));
    });
    app.use(router.routes());
    const url = await serve(app);
    const koa = await rawRequest(`${url}/koa`);
    const custom = await rawRequest(`${url}/custom`);
    const frozen = await rawRequest(`${url}/frozen`);
    const spans = await telemetry.waitForSpans(3);
    expect(koa.status).toBe(401);
    expect(koa.body).toBe('login first');
    expect(koa.headers['www-authenticate']).toBe('Bearer');
    expect(koa.headers.traceresponse).toContain(spans[0]?.spanContext().spanId);
    expect(custom.status).toBe(503);
    expect(custom.body).toBe('try later');
    expect(custom.headers.traceresponse).toContain(spans[1]?.spanContext().spanId);
    // Koa's handler assigns err.status and would crash on a frozen Error: it gets the TracedError.
    expect(frozen.status).toBe(500);
    expect(frozen.headers.traceresponse).toContain(spans[2]?.spanContext().spanId);
    expect((caught[2] as Error).cause).toBeInstanceOf(Error);
    expect(Object.isFrozen((caught[2] as Error).cause)).toBe(true);
    expect(spans.map((s) => s.attributes['http.response.status_code'])).toEqual([401, 503, 500]);
    expect(spans.map((s) => s.events.filter((e) => e.name === 'exception').length)).toEqual([1, 1, 1]);
    expect(caught).toHaveLength(3);
    // Koa got a copy of err.headers with traceresponse; the application's own object is untouched.
    expect({ ...(caught[0] as { headers: Record<string, string> }).headers }).toEqual({
      'WWW-Authenticate': 'Bearer',
      traceresponse: koa.headers.traceresponse,
    });
    expect(ownHeaders).toEqual({ 'WWW-Authenticate': 'Bearer' });
  });

  it("reports answered errors to app.on('error') once, as Errors, and contains a throwing listener", async () => {
    const app = makeApp();
    const reported: unknown[] = [];
    app.on('error', (err: unknown) => {
      reported.push(err);
      throw new Error('listener failure');
    });
    const router = new Router();
    router.get('/error', () => {
      throw new Error('db down');
    });
    router.get('/string', () => {
      throw 'str';
    });
    app.use(router.routes());
    const url = await serve(app);
    expect((await rawRequest(`${url}/error`)).status).toBe(500);
    expect((await rawRequest(`${url}/string`)).status).toBe(500);
    expect(reported).toHaveLength(2);
    expect((reported[0] as Error).message).toBe('db down');
    expect(reported[1]).toBeInstanceOf(Error);
    expect((reported[1] as Error).cause).toBe('str');
  });

  it('does not trust a foreign status without a boolean expose (500, nothing leaked)', async () => {
    const app = makeApp();
    const router = new Router();
    router.get('/teapot', () => {
      throw Object.assign(new Error('upstream 418 from 10.0.0.5'), { status: 418 });
    });
    app.use(router.routes());
    const url = await serve(app);
    const res = await rawRequest(`${url}/teapot`);
    expect(res.status).toBe(500);
    const [span] = await telemetry.waitForSpans(1);
    expect(JSON.parse(res.body)).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      instance: '/teapot',
      traceId: span?.spanContext().traceId,
    });
    expect(span?.attributes['http.response.status_code']).toBe(500);
  });

  it.each([true, false])(
    'survives a thrown Proxy whose every trap throws (problemDetails: %s)',
    async (problemDetails) => {
      const trap = (): never => {
        throw new Error('trap');
      };
      const app = makeApp({ problemDetails });
      const router = new Router();
      router.get('/proxy', () => {
        throw new Proxy(new Error('x'), {
          get: trap,
          getPrototypeOf: trap,
          isExtensible: trap,
          ownKeys: trap,
        });
      });
      app.use(router.routes());
      const url = await serve(app);
      const res = await rawRequest(`${url}/proxy`);
      expect(res.status).toBe(500);
      const [span] = await telemetry.waitForSpans(1);
      expect(span?.attributes['http.response.status_code']).toBe(500);
      expect(res.headers.traceresponse).toContain(span?.spanContext().spanId);
      expect(await activeRequests()).toBe(0);
    },
  );

  it('answers an error even when the handler had set ctx.respond = false', async () => {
    const app = makeApp();
    const router = new Router();
    router.get('/raw', (ctx) => {
      ctx.respond = false;
      throw new Error('before writing anything');
    });
    app.use(router.routes());
    const url = await serve(app);
    const res = await rawRequest(`${url}/raw`);
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });

  it('answers a TracedError with its status and resolves its type against typeBaseUri', async () => {
    const app = makeApp({ typeBaseUri: 'https://errors.example.com/' });
    const router = new Router();
    router.get('/t', () => {
      throw new TracedError('name already taken', { httpStatus: 409, type: 'conflict', title: 'Conflict' });
    });
    router.get('/h', () => {
      throw createError(409, 'taken');
    });
    app.use(router.routes());
    const url = await serve(app);
    const traced = await rawRequest(`${url}/t`);
    expect(traced.status).toBe(409);
    expect(JSON.parse(traced.body)).toMatchObject({
      type: 'https://errors.example.com/conflict',
      title: 'Conflict',
      status: 409,
      detail: 'name already taken',
    });
    const plain = await rawRequest(`${url}/h`);
    expect(JSON.parse(plain.body)).toMatchObject({ type: 'about:blank', status: 409, detail: 'taken' });
  });
});

describe('otelKoa: errors after the headers were sent', () => {
  it('a handler that wrote the headers and then threw: no second body, socket closed, span ERROR', async () => {
    const app = makeApp();
    const router = new Router();
    router.get('/partial', async (ctx) => {
      ctx.res.writeHead(200, { 'content-type': 'text/plain' });
      ctx.res.write('partial');
      await delay(10);
      throw new Error('late failure');
    });
    app.use(router.routes());
    const url = await serve(app);
    const seen = await new Promise<{ status?: number; body: string; complete: boolean }>((resolve) => {
      http.get(`${url}/partial`, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode, body, complete: true }));
        res.on('error', () => resolve({ status: res.statusCode, body, complete: false }));
      });
    });
    expect(seen).toEqual({ status: 200, body: 'partial', complete: false });
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['http.response.status_code']).toBe(200);
    expect(span?.attributes['error.type']).toBe('INTERNAL');
    expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
    expect(await activeRequests()).toBe(0);
  });

  it('a web ReadableStream body that fails mid-way ends the span ERROR with the gauge back to 0', async () => {
    const app = makeApp();
    const router = new Router();
    router.get('/web', (ctx) => {
      ctx.body = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('partial'));
          setTimeout(() => controller.error(new Error('upstream at 10.0.0.5 failed')), 20);
        },
      });
    });
    app.use(router.routes());
    const url = await serve(app);
    await rawRequest(`${url}/web`).then(
      () => expect.unreachable('the response must be cut off'),
      () => undefined,
    );
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['http.response.status_code']).toBe(200);
    expect(span?.attributes['error.type']).toBe('_OTHER');
    expect(await activeRequests()).toBe(0);
  });
});

describe('otelKoa: client gone before the error', () => {
  it('does not answer, crash or end the span twice when the handler fails after the client left', async () => {
    let failed: (() => void) | undefined;
    const done = new Promise<void>((resolve) => {
      failed = resolve;
    });
    const app = makeApp();
    const reported: unknown[] = [];
    app.on('error', (err: unknown) => reported.push(err));
    const router = new Router();
    router.get('/slow', async () => {
      await delay(100);
      setImmediate(() => failed?.());
      throw new Error('too late');
    });
    app.use(router.routes());
    const url = await serve(app);
    const req = http.get(`${url}/slow`);
    req.on('error', () => undefined);
    setTimeout(() => req.destroy(), 20);
    await done;
    await delay(20);
    expect(telemetry.spans()).toHaveLength(1);
    expect(telemetry.spans()[0]?.attributes['error.type']).toBe('aborted');
    // Koa's own handler reports it, as it would without otelKoa.
    expect(reported).toHaveLength(1);
    expect(await activeRequests()).toBe(0);
  });
});

describe('otelKoa: @koa/router templates', () => {
  it('includes router prefixes and nested routers', async () => {
    const app = makeApp();
    const v1 = new Router();
    v1.get('/users/:id', (ctx) => {
      ctx.body = 'u';
    });
    const api = new Router({ prefix: '/api' });
    api.use('/v1', v1.routes());
    api.get('/', (ctx) => {
      ctx.body = 'root';
    });
    api.get('/health', (ctx) => {
      ctx.body = 'ok';
    });
    const repos = new Router();
    repos.get('/repos/:repo', (ctx) => {
      ctx.body = 'r';
    });
    const orgs = new Router({ prefix: '/orgs/:org' });
    orgs.use(repos.routes());
    const regex = new Router();
    regex.get(/^\/re\/\d+$/, (ctx) => {
      ctx.body = 're';
    });
    // Router-level middleware runs before the route and must not change the template.
    const guarded = new Router();
    guarded.use(async (_ctx, next) => {
      await next();
    });
    guarded.get('/guarded/:id', (ctx) => {
      ctx.body = 'g';
    });
    app.use(api.routes());
    app.use(orgs.routes());
    app.use(regex.routes());
    app.use(guarded.routes());
    app.use(api.allowedMethods());
    const url = await serve(app);
    const cases: [string, string | undefined][] = [
      ['/api/v1/users/7', '/api/v1/users/:id'],
      ['/api', '/api'],
      ['/api/health', '/api/health'],
      ['/orgs/acme/repos/tw', '/orgs/:org/repos/:repo'],
      ['/re/12', undefined],
      ['/guarded/3', '/guarded/:id'],
    ];
    for (const [path] of cases) expect((await rawRequest(url + path)).status, path).toBe(200);
    const spans = await telemetry.waitForSpans(cases.length);
    expect(spans.map((s) => s.attributes['http.route'])).toEqual(cases.map(([, route]) => route));
    expect(spans.map((s) => s.name)).toEqual(cases.map(([, route]) => (route ? `GET ${route}` : 'GET')));
  });

  it('leaves http.route unset for a 405 from allowedMethods and for a malformed percent-encoding', async () => {
    const app = makeApp();
    const router = new Router();
    router.get('/users/:id', (ctx) => {
      ctx.body = ctx.params.id ?? '';
    });
    app.use(router.routes());
    app.use(router.allowedMethods());
    const url = await serve(app);
    expect((await rawRequest(`${url}/users/1`, { method: 'DELETE' })).status).toBe(405);
    const bad = await rawRequest(`${url}/users/%E0%A4%A`);
    const spans = await telemetry.waitForSpans(2);
    expect(spans[0]?.attributes['http.route']).toBeUndefined();
    expect(spans[0]?.attributes['http.response.status_code']).toBe(405);
    // Whatever the router does with the bad escape, the span records what was sent.
    expect(spans[1]?.attributes['http.response.status_code']).toBe(bad.status);
    expect(await activeRequests()).toBe(0);
  });

  it('koaRoute reads the matched template and ignores anything that is not a string', () => {
    expect(koaRoute({ _matchedRoute: '/a/:b' })).toBe('/a/:b');
    expect(koaRoute({ _matchedRoute: /x/ })).toBeUndefined();
    expect(koaRoute({ _matchedRoute: '' })).toBeUndefined();
    expect(koaRoute({})).toBeUndefined();
  });
});

describe('otelKoa: ctx.state.otel', () => {
  it('gives handlers the server span through ctx.state.otel and getKoaServerRequest(ctx)', async () => {
    const seen: Record<string, unknown> = {};
    const app = makeApp();
    const router = new Router<OtelKoaState>();
    router.get('/state', (ctx) => {
      seen.state = ctx.state.otel?.span.spanContext().spanId;
      seen.accessor = getKoaServerRequest(ctx)?.span.spanContext().spanId;
      seen.active = trace.getActiveSpan()?.spanContext().spanId;
      seen.json = JSON.stringify(ctx.state);
      seen.keys = Object.keys({ ...ctx.state });
      ctx.state.otel?.span.setAttribute('app.user', 'u1');
      ctx.body = 'ok';
    });
    // No router: the application names the route itself.
    app.use(async (ctx, next) => {
      if (ctx.path.startsWith('/files/')) {
        ctx.state.otel?.setRoute('/files/*');
        ctx.body = 'file';
        return;
      }
      await next();
    });
    app.use(router.routes());
    const url = await serve(app);
    await rawRequest(`${url}/state`);
    await rawRequest(`${url}/files/a/b.txt`);
    const [span, file] = await telemetry.waitForSpans(2);
    const id = span?.spanContext().spanId;
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(seen).toEqual({ state: id, accessor: id, active: id, json: '{}', keys: [] });
    expect(span?.attributes['app.user']).toBe('u1');
    expect(file?.attributes['http.route']).toBe('/files/*');
    expect(file?.name).toBe('GET /files/*');
  });

  it('sets nothing for ignored requests', async () => {
    let state: unknown = 'unset';
    const app = makeApp({ ignore: ['/health'] });
    app.use((ctx) => {
      state = [ctx.state.otel, getKoaServerRequest(ctx)];
      ctx.body = 'ok';
    });
    const url = await serve(app);
    await rawRequest(`${url}/health`);
    expect(state).toEqual([undefined, undefined]);
    expect(getKoaServerRequest(undefined)).toBeUndefined();
    expect(telemetry.spans()).toHaveLength(0);
  });
});

describe('otelKoa: options', () => {
  it('validates options at factory time', () => {
    expect(() => otelKoa({ problemDetails: 'yes' } as never)).toThrow(/problemDetails/);
    expect(() => otelKoa({ typeBaseUri: 1 } as never)).toThrow(/typeBaseUri/);
    expect(() => otelKoa({ requestHook: 'nope' } as never)).toThrow(TypeError);
    expect(() => otelKoa({ ignore: [42] } as never)).toThrow(/ignore/);
    expect(() => otelKoa(null as never)).toThrow(TypeError);
    expect(() => otelKoa()).not.toThrow();
  });

  it('returns a named middleware', () => {
    expect(otelKoa().name).toBe('otelKoaMiddleware');
  });
});
