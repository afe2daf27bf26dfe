import { pipeline } from 'node:stream';
import { type ConformanceRoute, describeHttpAdapterConformance } from '@tracewire/testing';
import type express from 'express';
import { beforeEach, describe } from 'vitest';
import { otelExpress, otelExpressErrorHandler } from '../src/index.js';
import { EXPRESS_MATRIX, type ExpressFactory } from './matrix.js';

/**
 * Express 4 ignores what a handler returns, so a rejected promise never reaches `next(err)`: the
 * request hangs and the rejection is unhandled. These cases are skipped on Express 4 rather than
 * made to pass by forwarding the rejection ourselves (which would test our wrapper, not Express).
 */
const EXPRESS4_SKIP: Record<string, string> = {
  'answers an async rejection with a 500 problem+json that leaks nothing and records the exception once':
    'Express 4 does not handle rejected promises from handlers',
  'answers an async thrown string with a 500 problem+json that leaks nothing and records the exception once':
    'Express 4 does not handle rejected promises from handlers',
  'answers an async thrown null with a 500 problem+json that leaks nothing and records the exception once':
    'Express 4 does not handle rejected promises from handlers',
};

/** Nests the route's router under each prefix with `parent.use(prefix, router)`. */
function routerFor(ex: ExpressFactory, route: ConformanceRoute): express.Router {
  let router = ex.Router({ mergeParams: true });
  // The handler's return value goes back to Express unchanged: Express 5 turns a sync throw and
  // a rejected promise into next(err) itself; Express 4 only a sync throw.
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
    const parent = ex.Router({ mergeParams: true });
    parent.use(prefix, router);
    router = parent;
  }
  return router;
}

for (const cell of EXPRESS_MATRIX) {
  describe(`${cell.name}: conformance`, () => {
    if (cell.major === 4) {
      beforeEach((ctx) => {
        const reason = EXPRESS4_SKIP[ctx.task.name];
        if (reason !== undefined) ctx.skip(reason);
      });
    }
    describeHttpAdapterConformance({
      name: 'otelExpress',
      scope: '@tracewire/express',
      createListener({ options, routes, mountTwice }) {
        const app = cell.express();
        app.use(otelExpress(options));
        if (mountTwice) app.use(otelExpress(options));
        for (const route of routes) app.use(routerFor(cell.express, route));
        app.use(otelExpressErrorHandler());
        return app;
      },
    });
  });
}
