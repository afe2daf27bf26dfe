// The shared HTTP adapter conformance suite, once per cell of the version matrix. The suite expects
// errors answered with problem+json, which otelKoa does only when asked: `problemDetails: true`
// (transparency.test.ts covers the default, where Koa answers them itself).
import type RouterType from '@koa/router';
import { type ConformanceRoute, describeHttpAdapterConformance } from '@tracewire/testing';
import type Koa from 'koa';
import { otelKoa } from '../src/index.js';
import { KOA_MATRIX, type KoaCell } from './matrix.js';

/** Nests the route's router under each prefix with `router.use(prefix, inner.routes())`. */
function routerFor(Router: typeof RouterType, route: ConformanceRoute): RouterType {
  let router = new Router();
  const handler = async (ctx: Koa.Context): Promise<void> => {
    await route.handler({
      req: ctx.req,
      send: (body, status) => {
        if (status !== undefined) ctx.status = status;
        ctx.body = body;
      },
      setHeader: (name, value) => ctx.set(name, value),
      stream: (body) => {
        ctx.body = body;
      },
    });
  };
  const method = route.method ?? 'GET';
  if (method === 'ALL') router.all(route.path, handler);
  else if (method === 'POST') router.post(route.path, handler);
  else router.get(route.path, handler);
  for (const prefix of [...(route.prefixes ?? [])].reverse()) {
    const parent = new Router();
    parent.use(prefix, router.routes());
    router = parent;
  }
  return router;
}

function describeCell(cell: KoaCell): void {
  describeHttpAdapterConformance({
    name: `${cell.name}: otelKoa`,
    scope: '@tracewire/koa',
    createListener({ options, routes, mountTwice }) {
      const app = new cell.Koa();
      // Koa's default 'error' listener prints 5xx stacks; the tests throw on purpose.
      app.silent = true;
      if (cell.koaMajor === 2) {
        // Koa 2 only reports a body stream that fails after the headers (err.headerSent) and
        // leaves the response open, where Koa 3 destroys it. The suite expects the client to see
        // it cut off: this is the application's listener a Koa 2 app needs for that (README).
        app.on('error', (err: Error & { headerSent?: boolean }, ctx: Koa.Context) => {
          if (err.headerSent && !ctx.res.writableEnded) ctx.res.destroy(err);
        });
      }
      app.use(otelKoa({ ...options, problemDetails: true }));
      if (mountTwice) app.use(otelKoa({ ...options, problemDetails: true }));
      for (const route of routes) app.use(routerFor(cell.Router, route).routes());
      return app.callback();
    },
  });
}

for (const cell of KOA_MATRIX) describeCell(cell);
