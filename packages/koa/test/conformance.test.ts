import Router from '@koa/router';
import { type ConformanceRoute, describeHttpAdapterConformance } from '@tracewire/testing';
import Koa from 'koa';
import { otelKoa } from '../src/index.js';

/** Nests the route's router under each prefix with `router.use(prefix, inner.routes())`. */
function routerFor(route: ConformanceRoute): Router {
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

describeHttpAdapterConformance({
  name: 'otelKoa',
  scope: '@tracewire/koa',
  createListener({ options, routes, mountTwice }) {
    const app = new Koa();
    // Koa's default 'error' listener prints 5xx stacks; the tests throw on purpose.
    app.silent = true;
    app.use(otelKoa(options));
    if (mountTwice) app.use(otelKoa(options));
    for (const route of routes) app.use(routerFor(route).routes());
    return app.callback();
  },
});
