// The transparency suite (@tracewire/testing): the same scripted requests against a bare Koa app
// and the same app with `otelKoa()` (default options) mounted, once per cell of the version matrix;
// clients and the app's own 'error' listener must see exactly the same thing. A second part shows
// what the opt-in `problemDetails: true` changes: the body and content type of error answers,
// never their status or what the app's listener receives.
import { STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import type RouterType from '@koa/router';
import {
  describeSeen,
  describeTransparency,
  rawRequest,
  startServer,
  type TestServer,
  TRANSPARENCY_THROWN,
  type TransparencyContext,
} from '@tracewire/testing';
import type Koa from 'koa';
import { afterAll, describe, expect, it } from 'vitest';
import { type OtelKoaOptions, otelKoa } from '../src/index.js';
import { KOA_MATRIX, type KoaCell } from './matrix.js';

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function readText(req: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  req.setEncoding('utf8');
  for await (const chunk of req) text += chunk as string;
  return text;
}

/**
 * The standard transparency routes (TRANSPARENCY_ROUTES) in Koa's idiom, plus `/throw/enoent`.
 * `otel` is the tracewire middleware, or nothing for the bare app: the only difference.
 */
function buildApp(
  cell: KoaCell,
  otel: Koa.Middleware | undefined,
  seen: (observation: unknown) => void,
): Koa {
  const app = new cell.Koa();
  if (otel !== undefined) app.use(otel);
  const Router = cell.Router as unknown as typeof RouterType;
  const router = new Router();
  const fail = (props: Record<string, unknown>, message: string) => Object.assign(new Error(message), props);
  router.get('/ok', (ctx) => {
    ctx.body = 'ok';
  });
  router.get('/json', (ctx) => {
    ctx.body = { a: 1 };
  });
  router.get('/users/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  router.post('/echo', async (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = await readText(ctx.req);
  });
  router.get('/headers', (ctx) => {
    ctx.set('x-custom', '1');
    ctx.cookies.set('a', '1');
    ctx.cookies.set('b', '2');
    ctx.status = 201;
    ctx.body = 'made';
  });
  router.get('/empty', (ctx) => {
    ctx.status = 204;
  });
  router.get('/redirect', (ctx) => {
    ctx.redirect('/ok');
  });
  router.get('/stream', (ctx) => {
    ctx.body = Readable.from(
      (async function* () {
        for (const s of ['a', 'b', 'c']) {
          await delay(10);
          yield s;
        }
      })(),
    );
  });
  router.get('/stream-error', (ctx) => {
    const body = new Readable({ read() {} });
    body.push('a');
    setTimeout(() => body.destroy(new Error('stream broke')), 10);
    ctx.body = body;
  });
  router.get('/slow', async (ctx) => {
    await delay(300);
    seen({ event: 'slow-done', aborted: ctx.req.destroyed });
    ctx.body = 'ok';
  });
  for (const [path, thrown] of Object.entries(TRANSPARENCY_THROWN)) {
    router.get(path, () => {
      throw thrown();
    });
  }
  router.get('/throw/async', async () => {
    await delay(1);
    throw new Error('async boom');
  });
  router.get('/throw/after-headers', (ctx) => {
    ctx.status = 200;
    ctx.set('x-partial', '1');
    ctx.flushHeaders();
    ctx.res.write('partial');
    throw new Error('late');
  });
  router.get('/throw/enoent', () => {
    throw fail({ code: 'ENOENT' }, 'ENOENT: no such file or directory, open /srv/data/x');
  });
  router.get('/throw/ctx-throw', (ctx) => {
    ctx.throw(401, 'login first', { headers: { 'WWW-Authenticate': 'Bearer' } });
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  // The app's own error reporting. Koa answers the error itself (its ctx.onerror), after this.
  app.on('error', (err: unknown) => {
    seen(describeSeen(err));
  });
  return app;
}

async function start(app: Koa): Promise<{ url: string; close(): Promise<void> }> {
  const server = await startServer(app.callback());
  return { url: server.url, close: server.close };
}

for (const cell of KOA_MATRIX) {
  describeTransparency({
    name: cell.name,
    extraCases: [
      { name: 'ENOENT error', path: '/throw/enoent' },
      { name: 'ctx.throw with headers', path: '/throw/ctx-throw' },
    ],
    start: ({ mode, telemetry, seen }: TransparencyContext) =>
      start(
        buildApp(
          cell,
          mode === 'instrumented'
            ? otelKoa({ tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider })
            : undefined,
          seen,
        ),
      ),
  });
}

/** Error routes whose answers `problemDetails: true` changes (body and content type only). */
const ERROR_PATHS = [
  '/throw/sync',
  '/throw/async',
  '/throw/status',
  '/throw/status-code',
  '/throw/expose',
  '/throw/unavailable',
  '/throw/invalid-status',
  '/throw/non-error',
  '/throw/string',
  '/throw/enoent',
  '/throw/ctx-throw',
] as const;

/** Routes `problemDetails: true` leaves exactly as bare Koa answers them. */
const UNCHANGED_PATHS = ['/ok', '/json', '/users/42', '/headers', '/empty', '/redirect', '/no/such/route'];

function describeProblemDetails(cell: KoaCell): void {
  describe(`${cell.name}: otelKoa({ problemDetails: true }) changes only the body of error answers`, () => {
    const bareSeen: unknown[] = [];
    const pdSeen: unknown[] = [];
    let bare: TestServer | undefined;
    let pd: TestServer | undefined;
    const options: OtelKoaOptions = { problemDetails: true };

    afterAll(async () => {
      await bare?.close();
      await pd?.close();
    });

    const servers = async (): Promise<[string, string]> => {
      bare ??= await startServer(buildApp(cell, undefined, (o) => bareSeen.push(o)).callback());
      pd ??= await startServer(buildApp(cell, otelKoa(options), (o) => pdSeen.push(o)).callback());
      return [bare.url, pd.url];
    };

    it.each(ERROR_PATHS)('%s: same status, headers and app error report; problem+json body', async (path) => {
      const [b, p] = await servers();
      bareSeen.length = 0;
      pdSeen.length = 0;
      const expected = await rawRequest(b + path);
      const actual = await rawRequest(p + path);
      await delay(10);
      expect(actual.status).toBe(expected.status);
      expect(expected.headers['content-type']).toContain('text/plain');
      expect(actual.headers['content-type']).toBe('application/problem+json');
      expect(actual.headers['www-authenticate']).toBe(expected.headers['www-authenticate']);
      expect(pdSeen).toEqual(bareSeen);
      const problem = JSON.parse(actual.body) as Record<string, unknown>;
      expect(problem.status).toBe(expected.status);
      expect(problem.instance).toBe(path);
      if (expected.status >= 500) {
        // Koa's body is the status phrase there too: no message, nothing internal.
        expect(expected.body).toBe(STATUS_CODES[expected.status]);
        expect(Object.keys(problem).sort()).toEqual(['instance', 'status', 'title', 'type']);
        expect(actual.body).not.toMatch(/boom|10\.1\.2\.3|oops|weird|srv|value/);
      } else if (path === '/throw/expose' || path === '/throw/ctx-throw') {
        // Exposed 4xx: Koa sends the message; problem+json carries it as `detail`.
        expect(problem.detail).toBe(expected.body);
      } else {
        expect(problem.detail).toBeUndefined();
        expect(actual.body).not.toMatch(/nope|gone|srv/);
      }
    });

    it.each(UNCHANGED_PATHS)('%s: answered exactly as bare Koa answers it', async (path) => {
      const [b, p] = await servers();
      const expected = await rawRequest(b + path);
      const actual = await rawRequest(p + path);
      expect(actual.status).toBe(expected.status);
      expect(actual.body).toBe(expected.body);
      expect(actual.headers['content-type']).toBe(expected.headers['content-type']);
    });
  });
}

for (const cell of KOA_MATRIX) describeProblemDetails(cell);
