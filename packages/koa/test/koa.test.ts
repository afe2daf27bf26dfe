// Koa-specific behaviour, once per cell of the version matrix (test/matrix.ts). Everything every
// HTTP adapter must do (propagation, 404, thrown errors, aborts, context, hooks, metrics,
// cardinality) is in the shared conformance suite: conformance.test.ts runs
// `describeHttpAdapterConformance` from @tracewire/testing; transparency.test.ts compares the bare
// and the instrumented app request by request.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type RouterType from '@koa/router';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { TracedError } from '@tracewire/errors';
import {
  createTelemetry,
  type RawResponse,
  rawRequest,
  startServer,
  type TestServer,
} from '@tracewire/testing';
import createError from 'http-errors';
import type Koa from 'koa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  getKoaServerRequest,
  koaRoute,
  type OtelKoaOptions,
  type OtelKoaState,
  otelKoa,
} from '../src/index.js';
import { KOA_MATRIX, type KoaCell } from './matrix.js';

const telemetry = createTelemetry();
let server: TestServer | undefined;

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const require = createRequire(import.meta.url);

function otel(options: OtelKoaOptions = {}): Koa.Middleware {
  return otelKoa({
    tracerProvider: telemetry.tracerProvider,
    meterProvider: telemetry.meterProvider,
    ...options,
  });
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

/** Status of each duration point. */
async function metricStatuses(): Promise<number[]> {
  const points = await telemetry.points('http.server.request.duration');
  return points.flatMap((p) =>
    Array.from({ length: p.value }, () => p.attributes['http.response.status_code'] as number),
  );
}

/** A response that may be cut off or never come: what the client saw within `waitMs`. */
function getPartial(
  url: string,
  waitMs: number,
): Promise<{ status?: number; body: string; complete: boolean }> {
  return new Promise((resolve) => {
    let status: number | undefined;
    let body = '';
    let done = false;
    const finish = (complete: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ status, body, complete });
    };
    const req = http.get(url, { agent: false }, (res) => {
      status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => finish(true));
      res.on('error', () => finish(false));
      res.on('close', () => finish(res.complete));
    });
    req.on('error', () => finish(false));
    const timer = setTimeout(() => finish(false), waitMs);
  });
}

const T24_PATHS = [
  '/throw-404',
  '/throw-500',
  '/throw-string',
  '/throw-418-object',
  '/throw-999',
  '/status-999',
  '/status-1000',
] as const;

// Koa's rules: ctx.throw(999) is coerced to 500 by http-errors, ctx.status = 999 is accepted,
// non-Errors and invalid statuses are 500.
const T24_STATUSES = [404, 500, 500, 500, 500, 999, 500];

/** The installed version of a package (found next to its entry point; some block ./package.json). */
function versionOf(name: string): string {
  const root = require.resolve(name).split(`/node_modules/${name}/`)[0];
  return (
    JSON.parse(readFileSync(`${root}/node_modules/${name}/package.json`, 'utf8')) as { version: string }
  ).version;
}

function describeCell(cell: KoaCell): void {
  const { Koa: KoaClass } = cell;
  const Router = cell.Router as unknown as typeof RouterType;

  /** A Koa app with otelKoa first; `app.silent` keeps Koa's default error logger quiet. */
  function makeApp(options: OtelKoaOptions = {}): Koa<OtelKoaState> {
    const app = new KoaClass<OtelKoaState>();
    app.silent = true;
    app.use(otel(options));
    return app;
  }

  /** T24: every way a Koa handler fails, mounted on a router. */
  function t24Router(): RouterType<OtelKoaState> {
    const router = new Router<OtelKoaState>();
    router.get('/throw-404', (ctx) => ctx.throw(404, 'x'));
    router.get('/throw-500', (ctx) => ctx.throw(500, 'db at 10.0.0.5'));
    router.get('/throw-string', () => {
      throw 'str';
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

  async function t24(
    options: OtelKoaOptions,
  ): Promise<{ responses: RawResponse[]; spans: Map<unknown, ReadableSpan> }> {
    const app = makeApp(options);
    app.use(t24Router().routes());
    const url = await serve(app);
    const responses: RawResponse[] = [];
    for (const path of T24_PATHS) responses.push(await rawRequest(url + path));
    const spans = await telemetry.waitForSpans(T24_PATHS.length);
    return { responses, spans: new Map(spans.map((s) => [s.attributes['url.path'], s])) };
  }

  describe(`${cell.name}: otelKoa`, () => {
    it('runs the versions its name says', () => {
      const koa = versionOf(cell.koaMajor === 2 ? 'koa2' : 'koa');
      const router = versionOf(cell.routerMajor === 15 ? '@koa/router' : `koa-router-${cell.routerMajor}`);
      expect(koa.split('.')[0]).toBe(String(cell.koaMajor));
      expect(router.split('.')[0]).toBe(String(cell.routerMajor));
      expect(new KoaClass()).toBeInstanceOf(KoaClass);
    });

    describe('T24 status actually sent', () => {
      it("lets Koa answer by default and records Koa's status on span and metric", async () => {
        const { responses, spans } = await t24({});
        const wire = responses.map((r) => r.status);
        expect(wire).toEqual(T24_STATUSES);
        expect(T24_PATHS.map((p) => spans.get(p)?.attributes['http.response.status_code'])).toEqual(wire);
        expect((await metricStatuses()).sort()).toEqual([...wire].sort());
        // Koa's own bodies: the exposed message of a 4xx, the status phrase otherwise.
        expect(responses[0]?.body).toBe('x');
        expect(responses[0]?.headers['content-type']).toContain('text/plain');
        for (const r of [responses[1], responses[2], responses[3], responses[4], responses[6]]) {
          expect(r?.body).toBe('Internal Server Error');
          expect(r?.headers['content-type']).toContain('text/plain');
        }
        // Koa's ctx.onerror removes every header set before the error, traceresponse included;
        // answers that are not errors keep it.
        expect(responses[0]?.headers.traceresponse).toBeUndefined();
        expect(responses[5]?.headers.traceresponse).toContain(spans.get('/status-999')?.spanContext().spanId);
      });

      it('with problemDetails: true answers the same statuses with problem+json and traceresponse', async () => {
        const { responses, spans } = await t24({ problemDetails: true });
        const wire = responses.map((r) => r.status);
        expect(wire).toEqual(T24_STATUSES);
        expect(T24_PATHS.map((p) => spans.get(p)?.attributes['http.response.status_code'])).toEqual(wire);
        expect(JSON.parse(responses[0]?.body ?? '')).toMatchObject({
          status: 404,
          detail: 'x',
          instance: '/throw-404',
        });
        T24_PATHS.forEach((path, i) => {
          const res = responses[i];
          expect(res?.headers.traceresponse, path).toContain(spans.get(path)?.spanContext().spanId);
          if (path === '/throw-404' || path === '/status-999') return;
          expect(res?.headers['content-type'], path).toContain('application/problem+json');
          expect(JSON.parse(res?.body ?? ''), path).toEqual({
            type: 'about:blank',
            title: 'Internal Server Error',
            status: 500,
            instance: path,
            traceId: spans.get(path)?.spanContext().traceId,
          });
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

      it.each([
        ['null', null],
        ['undefined', undefined],
      ])(
        'leaves `throw %s` unanswered, like Koa; the span ends when the response closes',
        async (_name, value) => {
          const reported: unknown[] = [];
          const app = makeApp();
          app.on('error', (err: unknown) => reported.push(err));
          const router = new Router();
          router.get('/nothing', () => {
            throw value;
          });
          app.use(router.routes());
          const url = await serve(app);
          const seen = await getPartial(`${url}/nothing`, 150);
          expect(seen).toEqual({ status: undefined, body: '', complete: false });
          const [span] = await telemetry.waitForSpans(1);
          // Koa treats a null error as "no error": nothing is answered or reported.
          expect(reported).toEqual([]);
          expect(span?.attributes['http.response.status_code']).toBeUndefined();
          expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
          expect(span?.status.code).toBe(SpanStatusCode.ERROR);
          expect(await activeRequests()).toBe(0);
        },
      );

      it('with problemDetails: true answers `throw null` (500), which Koa would leave unanswered', async () => {
        const reported: unknown[] = [];
        const app = makeApp({ problemDetails: true });
        app.on('error', (err: unknown) => reported.push(err));
        const router = new Router();
        router.get('/nothing', () => {
          throw null;
        });
        app.use(router.routes());
        const url = await serve(app);
        const res = await rawRequest(`${url}/nothing`);
        expect(res.status).toBe(500);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect((reported[0] as Error).message).toBe('non-error thrown: null');
      });
    });

    describe("Koa's provisional 404", () => {
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

      it.each([false, true])(
        'records 500, not 200, when a body was set and a later error replaced it (problemDetails: %s)',
        async (problemDetails) => {
          const app = makeApp({ problemDetails });
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
          expect(res.headers['content-type']).toContain(
            problemDetails ? 'application/problem+json' : 'text/plain',
          );
          // Like Koa's own handler: headers set before the error are dropped.
          expect(res.headers['content-disposition']).toBeUndefined();
          expect(res.body).not.toContain('half a report');
          expect(res.body).not.toContain('10.0.0.5');
          const [span] = await telemetry.waitForSpans(1);
          if (problemDetails) expect(res.headers.traceresponse).toContain(span?.spanContext().spanId);
          expect(span?.attributes['http.response.status_code']).toBe(500);
          expect(await metricStatuses()).toEqual([500]);
        },
      );

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

    describe('errors, default (rethrown unchanged)', () => {
      it('hands the very value thrown to an upstream error middleware and to Koa, err.headers untouched', async () => {
        const app = new KoaClass();
        app.silent = true;
        const caught: unknown[] = [];
        const trap = (): never => {
          throw new Error('trap');
        };
        const proxy = new Proxy(new Error('x'), {
          get: trap,
          getPrototypeOf: trap,
          isExtensible: trap,
          ownKeys: trap,
        });
        const frozen = Object.freeze(new Error('frozen'));
        const plain = { key: 'value' };
        // The app's own error middleware, mounted before otelKoa.
        app.use(async (ctx, next) => {
          try {
            await next();
          } catch (err) {
            caught.push(err);
            // Koa itself cannot handle a frozen Error or this Proxy: answer them here.
            if (ctx.path === '/frozen' || ctx.path === '/proxy') {
              ctx.status = 503;
              ctx.body = 'try later';
              return;
            }
            throw err;
          }
        });
        app.use(otel());
        const router = new Router();
        const ownHeaders = { 'WWW-Authenticate': 'Bearer' };
        router.get('/koa', (ctx) => ctx.throw(401, 'login first', { headers: ownHeaders }));
        router.get('/frozen', () => {
          throw frozen;
        });
        router.get('/proxy', () => {
          throw proxy;
        });
        router.get('/plain', () => {
          throw plain;
        });
        app.use(router.routes());
        const url = await serve(app);
        const koa = await rawRequest(`${url}/koa`);
        const frozenRes = await rawRequest(`${url}/frozen`);
        const proxyRes = await rawRequest(`${url}/proxy`);
        const plainRes = await rawRequest(`${url}/plain`);
        const spans = await telemetry.waitForSpans(4);
        expect([koa.status, frozenRes.status, proxyRes.status, plainRes.status]).toEqual([
          401, 503, 503, 500,
        ]);
        expect(koa.body).toBe('login first');
        expect(koa.headers['www-authenticate']).toBe('Bearer');
        expect(caught).toHaveLength(4);
        expect(caught[1]).toBe(frozen);
        expect(caught[2]).toBe(proxy);
        expect(caught[3]).toBe(plain);
        expect(plain).toEqual({ key: 'value' });
        // tracewire added nothing to the error: Koa got the application's own headers object.
        expect((caught[0] as { headers: unknown }).headers).toBe(ownHeaders);
        expect(ownHeaders).toEqual({ 'WWW-Authenticate': 'Bearer' });
        expect(spans.map((s) => s.attributes['http.response.status_code'])).toEqual([401, 503, 503, 500]);
        expect(spans.map((s) => s.events.filter((e) => e.name === 'exception').length)).toEqual([1, 1, 1, 1]);
        expect(await activeRequests()).toBe(0);
      });

      it("answers an error Koa's way even when the handler had set ctx.respond = false", async () => {
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
        expect(res.body).toBe('Internal Server Error');
      });
    });

    describe('errors, problemDetails: true', () => {
      it('applies err.headers (WWW-Authenticate) and keeps traceresponse', async () => {
        const app = makeApp({ problemDetails: true });
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

      it("reports answered errors to app.on('error') once, as Koa would, and contains a throwing listener", async () => {
        const app = makeApp({ problemDetails: true });
        const reported: unknown[] = [];
        app.on('error', (err: unknown) => {
          reported.push(err);
          throw new Error('listener failure');
        });
        const router = new Router();
        const thrown = new Error('db down');
        router.get('/error', () => {
          throw thrown;
        });
        router.get('/string', () => {
          throw 'str';
        });
        app.use(router.routes());
        const url = await serve(app);
        expect((await rawRequest(`${url}/error`)).status).toBe(500);
        expect((await rawRequest(`${url}/string`)).status).toBe(500);
        expect(reported).toHaveLength(2);
        expect(reported[0]).toBe(thrown);
        expect(reported[1]).toBeInstanceOf(Error);
        expect((reported[1] as Error).message).toBe('non-error thrown: "str"');
      });

      it("answers Koa's status for an Error with a status but no expose, never its message", async () => {
        const app = makeApp({ problemDetails: true });
        const router = new Router();
        router.get('/teapot', () => {
          throw Object.assign(new Error('upstream 418 from 10.0.0.5'), { status: 418 });
        });
        router.get('/gone', () => {
          throw Object.assign(new Error('gone from 10.0.0.5'), { statusCode: 410 });
        });
        router.get('/redirect', () => {
          // A status Koa answers that is not an error status: Koa answers it, not tracewire.
          throw Object.assign(new Error('moved'), { status: 302 });
        });
        app.use(router.routes());
        const url = await serve(app);
        const teapot = await rawRequest(`${url}/teapot`);
        const gone = await rawRequest(`${url}/gone`);
        const redirect = await rawRequest(`${url}/redirect`);
        const spans = await telemetry.waitForSpans(3);
        expect([teapot.status, gone.status, redirect.status]).toEqual([418, 410, 302]);
        expect(JSON.parse(teapot.body)).toEqual({
          type: 'about:blank',
          title: "I'm a teapot",
          status: 418,
          code: 'INVALID_ARGUMENT',
          instance: '/teapot',
          traceId: spans[0]?.spanContext().traceId,
        });
        expect(gone.body).not.toContain('10.0.0.5');
        expect(redirect.headers['content-type']).toContain('text/plain');
        expect(spans.map((s) => s.attributes['http.response.status_code'])).toEqual([418, 410, 302]);
      });

      it("follows Koa's ENOENT rule: 404 on Koa 2, 500 on Koa 3", async () => {
        const app = makeApp({ problemDetails: true });
        const router = new Router();
        router.get('/file', () => {
          throw Object.assign(new Error('ENOENT: no such file, open /srv/secret'), { code: 'ENOENT' });
        });
        app.use(router.routes());
        const url = await serve(app);
        const res = await rawRequest(`${url}/file`);
        expect(res.status).toBe(cell.koaMajor === 2 ? 404 : 500);
        expect(res.body).not.toContain('/srv/secret');
      });

      it('survives a thrown Proxy whose every trap throws', async () => {
        const trap = (): never => {
          throw new Error('trap');
        };
        const app = makeApp({ problemDetails: true });
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
      });

      it('answers an error even when the handler had set ctx.respond = false', async () => {
        const app = makeApp({ problemDetails: true });
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
        const app = makeApp({ problemDetails: true, typeBaseUri: 'https://errors.example.com/' });
        const router = new Router();
        router.get('/t', () => {
          throw new TracedError('name already taken', {
            httpStatus: 409,
            type: 'conflict',
            title: 'Conflict',
          });
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

    describe('errors after the headers were sent', () => {
      function partialApp(options: OtelKoaOptions): { app: Koa<OtelKoaState>; reported: Error[] } {
        const app = makeApp(options);
        const reported: Error[] = [];
        const router = new Router();
        router.get('/partial', async (ctx) => {
          ctx.res.writeHead(200, { 'content-type': 'text/plain' });
          ctx.res.write('partial');
          await delay(10);
          throw new Error('late failure');
        });
        app.use(router.routes());
        return { app, reported };
      }

      it.each([false, true])(
        "leaves the response to the app's 'error' listener, which may end it cleanly (problemDetails: %s)",
        async (problemDetails) => {
          const { app, reported } = partialApp({ problemDetails });
          app.on('error', (err: Error & { headerSent?: boolean }, ctx: Koa.Context) => {
            reported.push(err);
            if (err.headerSent) ctx.res.end(' (truncated)');
          });
          const url = await serve(app);
          const seen = await getPartial(`${url}/partial`, 1000);
          expect(seen).toEqual({ status: 200, body: 'partial (truncated)', complete: true });
          expect(reported.map((e) => e.message)).toEqual(['late failure']);
          const [span] = await telemetry.waitForSpans(1);
          // The response completed with 200: the exception is on the span, the status is what was sent.
          expect(span?.attributes['http.response.status_code']).toBe(200);
          expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
          expect(await activeRequests()).toBe(0);
        },
      );

      it('never ends the response itself: the span ends ERROR when the client gives up', async () => {
        const { app, reported } = partialApp({});
        app.on('error', (err: Error) => reported.push(err));
        const url = await serve(app);
        const seen = await getPartial(`${url}/partial`, 200);
        // Bare Koa leaves it open: the client waited in vain, then left.
        expect(seen).toEqual({ status: 200, body: 'partial', complete: false });
        expect((reported[0] as Error & { headerSent?: boolean }).headerSent).toBe(true);
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.status.code).toBe(SpanStatusCode.ERROR);
        expect(span?.attributes['http.response.status_code']).toBe(200);
        expect(span?.attributes['error.type']).toBe('INTERNAL');
        expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
        expect(await activeRequests()).toBe(0);
      });

      it('a Node stream body that fails mid-way: the span ends when the response closes, gauge back to 0', async () => {
        const app = makeApp();
        const reported: Error[] = [];
        app.on('error', (err: Error) => reported.push(err));
        const router = new Router();
        router.get('/node', (ctx) => {
          const body = new Readable({ read() {} });
          body.push('partial');
          setTimeout(() => body.destroy(new Error('upstream at 10.0.0.5 failed')), 20);
          ctx.body = body;
        });
        app.use(router.routes());
        const url = await serve(app);
        const seen = await getPartial(`${url}/node`, 300);
        expect(seen).toEqual({ status: 200, body: 'partial', complete: false });
        expect(reported.map((e) => e.message)).toEqual(['upstream at 10.0.0.5 failed']);
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.attributes['http.response.status_code']).toBe(200);
        if (cell.koaMajor === 3) {
          // Koa 3 pipes with stream.pipeline, which destroys the response with the error.
          expect(span?.status.code).toBe(SpanStatusCode.ERROR);
          expect(span?.attributes['error.type']).toBe('_OTHER');
        } else {
          // Koa 2 only reports the error and leaves the response open; the error never passes
          // through the middleware, so the span ends when the client gives up: an abort.
          expect(span?.status.code).toBe(SpanStatusCode.UNSET);
          expect(span?.attributes['error.type']).toBe('aborted');
        }
        expect(await activeRequests()).toBe(0);
      });

      // Koa 2 has no web stream bodies (it would serialize the object as JSON).
      it.skipIf(cell.koaMajor === 2)(
        'a web ReadableStream body that fails mid-way ends the span ERROR with the gauge back to 0',
        async () => {
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
          const seen = await getPartial(`${url}/web`, 1000);
          expect(seen.complete).toBe(false);
          const [span] = await telemetry.waitForSpans(1);
          expect(span?.status.code).toBe(SpanStatusCode.ERROR);
          expect(span?.attributes['http.response.status_code']).toBe(200);
          expect(span?.attributes['error.type']).toBe('_OTHER');
          expect(await activeRequests()).toBe(0);
        },
      );
    });

    describe('client gone before the error', () => {
      it.each([false, true])(
        'does not answer, crash or end the span twice when the handler fails after the client left (problemDetails: %s)',
        async (problemDetails) => {
          let failed: (() => void) | undefined;
          const done = new Promise<void>((resolve) => {
            failed = resolve;
          });
          const app = makeApp({ problemDetails });
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
        },
      );
    });

    describe('@koa/router templates', () => {
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
        const deep = new Router({ prefix: '/a' });
        const deeper = new Router({ prefix: '/b/:b' });
        const deepest = new Router();
        deepest.get('/c/:c', (ctx) => {
          ctx.body = 'deep';
        });
        deeper.use('/x', deepest.routes());
        deep.use(deeper.routes());
        app.use(api.routes());
        app.use(orgs.routes());
        app.use(regex.routes());
        app.use(guarded.routes());
        app.use(deep.routes());
        app.use(api.allowedMethods());
        const url = await serve(app);
        const cases: [string, string | undefined][] = [
          ['/api/v1/users/7', '/api/v1/users/:id'],
          ['/api', '/api'],
          ['/api/health', '/api/health'],
          ['/orgs/acme/repos/tw', '/orgs/:org/repos/:repo'],
          ['/re/12', undefined],
          ['/guarded/3', '/guarded/:id'],
          ['/a/b/1/x/c/2', '/a/b/:b/x/c/:c'],
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

      it('keeps the route of a request the client aborted', async () => {
        const app = makeApp();
        const router = new Router({ prefix: '/api' });
        router.get('/slow/:id', async (ctx) => {
          await delay(100);
          ctx.body = 'late';
        });
        app.use(router.routes());
        const url = await serve(app);
        await getPartial(`${url}/api/slow/1`, 20);
        const [span] = await telemetry.waitForSpans(1);
        expect(span?.attributes['http.route']).toBe('/api/slow/:id');
        expect(span?.attributes['error.type']).toBe('aborted');
      });
    });

    describe('ctx.state.otel', () => {
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
        expect(telemetry.spans()).toHaveLength(0);
      });
    });
  });
}

for (const cell of KOA_MATRIX) describeCell(cell);

describe('otelKoa: version-independent', () => {
  it('koaRoute reads the matched template and ignores anything that is not a string', () => {
    expect(koaRoute({ _matchedRoute: '/a/:b' })).toBe('/a/:b');
    expect(koaRoute({ _matchedRoute: /x/ })).toBeUndefined();
    expect(koaRoute({ _matchedRoute: '' })).toBeUndefined();
    expect(koaRoute({})).toBeUndefined();
    expect(getKoaServerRequest(undefined)).toBeUndefined();
  });

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
