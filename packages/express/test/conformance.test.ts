import { pipeline } from 'node:stream';
import { type ConformanceRoute, describeHttpAdapterConformance } from '@tracewire/testing';
import express from 'express';
import { otelExpress, otelExpressErrorHandler } from '../src/index.js';

/** Nests the route's router under each prefix with `parent.use(prefix, router)`. */
function routerFor(route: ConformanceRoute): express.Router {
  let router = express.Router({ mergeParams: true });
  // The handler's return value goes back to Express unchanged: Express 5 turns a sync throw and
  // a rejected promise into next(err) itself.
  const handler = (req: express.Request, res: express.Response): unknown =>
    route.handler({
      req,
      send: (body, status) => {
        if (status !== undefined) res.status(status);
        res.send(body);
      },
      setHeader: (name, value) => res.setHeader(name, value),
      stream: (body) => {
        pipeline(body, res, () => undefined);
      },
    });
  const method = route.method ?? 'GET';
  if (method === 'ALL') router.all(route.path, handler);
  else if (method === 'POST') router.post(route.path, handler);
  else router.get(route.path, handler);
  for (const prefix of [...(route.prefixes ?? [])].reverse()) {
    const parent = express.Router({ mergeParams: true });
    parent.use(prefix, router);
    router = parent;
  }
  return router;
}

describeHttpAdapterConformance({
  name: 'otelExpress',
  scope: '@tracewire/express',
  createListener({ options, routes, mountTwice }) {
    const app = express();
    app.use(otelExpress(options));
    if (mountTwice) app.use(otelExpress(options));
    for (const route of routes) app.use(routerFor(route));
    app.use(otelExpressErrorHandler());
    return app;
  },
});
