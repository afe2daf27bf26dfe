// Route templates (`http.route`, span name) on Express 4 and 5: the same app and the same
// expectations for both versions, except where the path syntax itself differs (path-to-regexp 0.1
// in Express 4, 8 in Express 5). Real servers, real SDK.

import { createRequire } from 'node:module';
import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { createTelemetry, rawRequest, startServer, type TestServer } from '@tracewire/testing';
import type express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { otelExpress, otelExpressErrorHandler } from '../src/index.js';
import { expressRoute, resetRouteDiagnostics, templateFromRegexp } from '../src/route.js';
import { EXPRESS_MATRIX, type ExpressCell } from './matrix.js';

const telemetry = createTelemetry();

afterAll(async () => {
  await telemetry.shutdown();
});

type Handler = (req: express.Request, res: express.Response) => void;

/** Answers with what the app saw, so a test also proves the app still works as written. */
const echo: Handler = (req, res) => {
  res.json({ params: req.params, baseUrl: req.baseUrl, seen: (req as { seen?: unknown }).seen ?? null });
};

/** The same app on both versions; `cell` only switches the path syntax that differs. */
function buildApp(cell: ExpressCell): express.Express {
  const { express: ex, major } = cell;
  const app = ex();
  app.use(otelExpress({ tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider }));

  // Top level.
  app.get('/', echo);
  app.get('/users/:id', echo);
  app.route('/books/:isbn').get(echo).put(echo);

  // app.param: the callback runs, the template is unchanged.
  app.param('uid', (req, _res, next, value) => {
    (req as { seen?: unknown }).seen = `uid=${String(value)}`;
    next();
  });
  app.get('/members/:uid', echo);

  // Nested routers, routers in routers, parameters in mount paths.
  const api = ex.Router();
  api.get('/items/:id', echo);
  const v1 = ex.Router();
  v1.get('/things/:tid', echo);
  api.use('/v1', v1);
  app.use('/api', api);

  const repos = ex.Router({ mergeParams: true });
  repos.param('repo', (req, _res, next, value) => {
    (req as { seen?: unknown }).seen = `repo=${String(value)}`;
    next();
  });
  repos.get('/repos/:repo', echo);
  const org = ex.Router({ mergeParams: true });
  org.use('/teams/:team', repos);
  app.use('/orgs/:org', org);

  // One router mounted under two prefixes.
  const shared = ex.Router({ mergeParams: true });
  shared.get('/item/:id', echo);
  app.use('/a', shared);
  app.use('/b/:tenant', shared);

  // Sub-apps, a sub-app in a sub-app, a parameter in a sub-app's mount path.
  const admin = ex();
  admin.get('/stats/:kind', echo);
  const deep = ex();
  deep.get('/x/:n', echo);
  admin.use('/deep', deep);
  app.use('/admin', admin);
  const tenant = ex();
  const tenantRouter = ex.Router();
  tenantRouter.get('/home/:page', echo);
  tenant.use('/r', tenantRouter);
  app.use('/t/:tenant', tenant);

  // Regular-expression routes, top level and inside a mounted router.
  app.get(/^\/files\/(.*)$/, echo);
  const raw = ex.Router();
  raw.get(/^\/blob\/(\d+)$/i, echo);
  app.use('/raw', raw);

  // Templates that cannot be known exactly: an array of paths, RegExp and array mounts.
  app.get(['/one', '/two'], echo);
  const reMounted = ex.Router();
  reMounted.get('/leaf', echo);
  app.use(/^\/re-mount/, reMounted);
  const arrayMounted = ex.Router();
  arrayMounted.get('/leaf', echo);
  app.use(['/m1', '/m2'], arrayMounted);

  // Path syntax that differs between the versions.
  const wild = ex.Router();
  wild.get('/end', echo);
  if (major === 4) {
    app.get('/wild/*', echo);
    app.get('/lang/:lang?', echo);
    const versioned = ex.Router();
    versioned.get('/info', echo);
    app.use('/v/:ver(\\d+)', versioned);
    app.use('/x/:a-:b', wild);
  } else {
    app.get('/wild/*splat', echo);
    app.get('/lang{/:lang}', echo);
    app.use('/x/:a-:b', wild);
  }

  app.use(otelExpressErrorHandler());
  return app;
}

interface Seen {
  status: number;
  route: unknown;
  name: string | undefined;
  body: string;
}

for (const cell of EXPRESS_MATRIX) {
  describe(`${cell.name}: route templates`, () => {
    let server: TestServer;

    beforeAll(async () => {
      server = await startServer(buildApp(cell));
    });
    afterAll(async () => {
      await server.close();
    });
    afterEach(() => {
      telemetry.reset();
    });

    async function request(path: string, method = 'GET'): Promise<Seen> {
      const res = await rawRequest(server.url + path, { method });
      const [span] = await telemetry.waitForSpans(1);
      telemetry.reset();
      return { status: res.status, route: span?.attributes['http.route'], name: span?.name, body: res.body };
    }

    const cases: [name: string, path: string, route: string][] = [
      ['root', '/', '/'],
      ['top-level parameter', '/users/42', '/users/:id'],
      ['app.route()', '/books/978-3', '/books/:isbn'],
      ['app.param', '/members/7', '/members/:uid'],
      ['nested router', '/api/items/1', '/api/items/:id'],
      ['router in a router', '/api/v1/things/9', '/api/v1/things/:tid'],
      ['parameters in mount paths', '/orgs/acme/teams/core/repos/web', '/orgs/:org/teams/:team/repos/:repo'],
      ['a router mounted twice (first mount)', '/a/item/1', '/a/item/:id'],
      ['a router mounted twice (second mount)', '/b/t1/item/2', '/b/:tenant/item/:id'],
      ['sub-app', '/admin/stats/cpu', '/admin/stats/:kind'],
      ['sub-app in a sub-app', '/admin/deep/x/3', '/admin/deep/x/:n'],
      ['router in a sub-app mounted at a parameter', '/t/acme/r/home/main', '/t/:tenant/r/home/:page'],
      ['RegExp route: String(regexp)', '/files/a/b.txt', String(/^\/files\/(.*)$/)],
      ['RegExp route in a mounted router', '/raw/blob/12', `/raw${String(/^\/blob\/(\d+)$/i)}`],
    ];
    if (cell.major === 4) {
      cases.push(
        ['wildcard', '/wild/a/b', '/wild/*'],
        ['optional parameter (given)', '/lang/fr', '/lang/:lang?'],
        ['optional parameter (absent)', '/lang', '/lang/:lang?'],
        ['custom capture in a mount path', '/v/2/info', '/v/:ver(\\d+)/info'],
      );
    } else {
      cases.push(
        ['wildcard', '/wild/a/b', '/wild/*splat'],
        ['optional parameter (given)', '/lang/fr', '/lang{/:lang}'],
        ['optional parameter (absent)', '/lang', '/lang{/:lang}'],
        ['two parameters in one mount segment', '/x/1-2/end', '/x/:a-:b/end'],
      );
    }

    it.each(cases)('%s: %s -> %s', async (_name, path, route) => {
      const seen = await request(path);
      expect(seen.status).toBe(200);
      expect(seen.route).toBe(route);
      expect(seen.name).toBe(`GET ${route}`);
    });

    it('keeps params, baseUrl and param callbacks as Express gives them', async () => {
      const orgs = JSON.parse((await request('/orgs/acme/teams/core/repos/web')).body);
      expect(orgs).toEqual({
        params: { org: 'acme', team: 'core', repo: 'web' },
        baseUrl: '/orgs/acme/teams/core',
        seen: 'repo=web',
      });
      const member = JSON.parse((await request('/members/7')).body);
      expect(member).toEqual({ params: { uid: '7' }, baseUrl: '', seen: 'uid=7' });
      const b = JSON.parse((await request('/b/t1/item/2')).body);
      expect(b).toEqual({ params: { tenant: 't1', id: '2' }, baseUrl: '/b/t1', seen: null });
    });

    it('uses the route of every method of app.route()', async () => {
      const seen = await request('/books/1', 'PUT');
      expect(seen).toMatchObject({ status: 200, route: '/books/:isbn', name: 'PUT /books/:isbn' });
    });

    it('gives the same template on every request (cached per route object)', async () => {
      for (let i = 0; i < 3; i++) {
        expect((await request(`/orgs/o${i}/teams/t/repos/r`)).route).toBe(
          '/orgs/:org/teams/:team/repos/:repo',
        );
        expect((await request(`/a/item/${i}`)).route).toBe('/a/item/:id');
        expect((await request(`/b/x${i}/item/${i}`)).route).toBe('/b/:tenant/item/:id');
      }
    });

    const unknown: [name: string, path: string][] = [
      ['no route matched (404)', '/no/such/route'],
      ['a route with an array of paths', '/two'],
      ['a router mounted with a RegExp', '/re-mount/leaf'],
      ['a router mounted with an array of paths', '/m2/leaf'],
    ];
    if (cell.major === 4) unknown.push(['a mount pattern that cannot be read back', '/x/1-2/end']);

    it.each(unknown)('leaves http.route unset for %s (%s)', async (_name, path) => {
      const seen = await request(path);
      expect(seen.status).toBe(path === '/no/such/route' ? 404 : 200);
      expect(seen.route).toBeUndefined();
      expect(seen.name).toBe('GET');
    });
  });

  describe(`${cell.name}: route template diagnostics`, () => {
    const messages: [level: string, message: string][] = [];
    const logger: DiagLogger = {
      error: (m) => messages.push(['error', m]),
      warn: (m) => messages.push(['warn', m]),
      info: (m) => messages.push(['info', m]),
      debug: (m) => messages.push(['debug', m]),
      verbose: (m) => messages.push(['verbose', m]),
    };
    const ours = (): [string, string][] => messages.filter(([, m]) => m.startsWith('@tracewire/express:'));

    beforeAll(() => {
      resetRouteDiagnostics();
      diag.setLogger(logger, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
    });
    afterAll(() => {
      diag.disable();
    });
    afterEach(() => {
      messages.length = 0;
      resetRouteDiagnostics();
    });

    it('says once, at debug, why a template is not known', () => {
      const app = cell.express();
      app.get(['/p', '/q'], echo);
      const route = app as unknown as {
        _router?: { stack: { route?: object }[] };
        router?: { stack: { route?: object }[] };
      };
      const stack = (cell.major === 4 ? route._router : route.router)?.stack ?? [];
      const layer = stack.find((l) => l.route !== undefined);
      const req = { route: layer?.route, app, baseUrl: '' };
      expect(expressRoute(req)).toBeUndefined();
      expect(expressRoute(req)).toBeUndefined();
      expect(ours()).toEqual([['debug', expect.stringContaining('array of paths')]]);
    });

    it('reports an unrecognised router structure once', () => {
      const req = { route: { path: '/x' }, app: { _router: { stack: [] } }, baseUrl: '' };
      expect(expressRoute(req)).toBeUndefined();
      const other = { route: { path: '/y' }, app: { _router: { stack: [] } }, baseUrl: '' };
      expect(expressRoute(other)).toBeUndefined();
      expect(ours()).toEqual([['warn', expect.stringContaining('not found in the router tree')]]);
    });

    it('never reads app.router on Express 4 (its getter throws) and never throws', () => {
      const hostile = {
        route: { path: '/x' },
        app: Object.defineProperty({}, 'router', {
          get() {
            throw new Error('app.router is deprecated');
          },
        }),
      };
      expect(expressRoute(hostile)).toBeUndefined();
      expect(expressRoute({})).toBeUndefined();
      expect(expressRoute({ route: null })).toBeUndefined();
    });
  });
}

describe('express 4: mount templates read back from the layer regexp', () => {
  // Express 4's own compiler (path-to-regexp 0.1), with the options Router#use passes: every
  // template we accept must compile to exactly the regexp it was read from.
  const requireFromExpress4 = createRequire(createRequire(import.meta.url).resolve('express4'));
  const compile = requireFromExpress4('path-to-regexp') as (
    path: string | RegExp | string[],
    keys: unknown[],
    options: { end: boolean; strict: boolean; sensitive?: boolean },
  ) => RegExp;
  const readBack = (path: string | RegExp | string[], sensitive = false): string | undefined => {
    const keys: unknown[] = [];
    const regexp = compile(path, keys, { end: false, strict: false, sensitive });
    return templateFromRegexp(regexp, keys);
  };

  it.each([
    ['/api', '/api'],
    ['/api/', '/api'],
    ['/orgs/:org', '/orgs/:org'],
    ['/orgs/:org?', '/orgs/:org?'],
    ['/a/:b/c/:d', '/a/:b/c/:d'],
    ['/:a/:b?/c', '/:a/:b?/c'],
    ['/files/*', '/files/*'],
    ['/v1.0', '/v1.0'],
    ['/doc.:format', '/doc.:format'],
    ['/doc.:format?', '/doc.:format?'],
    ['/v/:ver(\\d+)', '/v/:ver(\\d+)'],
    ['/my-api_v2~x', '/my-api_v2~x'],
  ])('%s -> %s', (path, template) => {
    expect(readBack(path)).toBe(template);
    expect(readBack(path, true)).toBe(template);
    // The template compiles back to the same regexp.
    expect(compile(template, [], { end: false, strict: false }).source).toBe(
      compile(path, [], { end: false, strict: false }).source,
    );
  });

  it.each([
    ['/:a-:b'],
    ['/a+b'],
    ['/a(b)?'],
    ['/x/:id(\\d+)*'],
    ['/:name*'],
    [['/m1', '/m2']],
    [/^\/re/],
    [/^\/re\/?(?=\/|$)/g],
  ] as [string | RegExp | string[]][])('gives no template for %s', (path) => {
    expect(readBack(path)).toBeUndefined();
  });

  it('requires the keys to match the tokens', () => {
    const keys: unknown[] = [];
    const regexp = compile('/orgs/:org', keys, { end: false, strict: false });
    expect(templateFromRegexp(regexp, [])).toBeUndefined();
    expect(templateFromRegexp(regexp, [{ name: 'org', optional: true }])).toBeUndefined();
    expect(templateFromRegexp(regexp, [{ name: 0, optional: false }])).toBeUndefined();
    expect(templateFromRegexp(regexp, undefined)).toBeUndefined();
    expect(templateFromRegexp(regexp, [...keys, { name: 'extra' }])).toBeUndefined();
  });
});
