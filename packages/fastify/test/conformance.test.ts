import http from 'node:http';
import {
  type ConformanceHandler,
  type ConformanceRoute,
  describeHttpAdapterConformance,
} from '@tracewire/testing';
import { otelFastify, otelFastifyErrorHandler } from '../src/index.js';
import { type App, FASTIFY_VERSIONS } from './helpers.js';

type Instance = App;

/** Registers one route in Fastify's idiom: each prefix nests an encapsulated plugin. */
function addRoute(app: Instance, route: ConformanceRoute): void {
  const handler = route.handler;
  const prefixes = route.prefixes ?? [];
  const register = (instance: Instance, depth: number): void => {
    const prefix = prefixes[depth];
    if (prefix === undefined) {
      defineRoute(instance, route.method ?? 'GET', route.path, handler);
      return;
    }
    void instance.register(
      async (child: unknown) => {
        register(child as unknown as Instance, depth + 1);
      },
      { prefix },
    );
  };
  register(app, 0);
}

function defineRoute(
  app: Instance,
  method: 'GET' | 'POST' | 'ALL',
  path: string,
  handler: ConformanceHandler,
) {
  // The handler's return value goes back to Fastify unchanged: a sync throw and a rejected promise
  // both reach Fastify's error handling.
  const fastifyHandler = (
    request: { raw: http.IncomingMessage },
    reply: {
      code(status: number): unknown;
      header(name: string, value: string): unknown;
      send(payload?: unknown): unknown;
    },
  ): unknown =>
    handler({
      req: request.raw,
      send: (body, status) => {
        if (status !== undefined) reply.code(status);
        reply.send(body);
      },
      setHeader: (name, value) => {
        reply.header(name, value);
      },
      stream: (body) => {
        reply.send(body);
      },
    });
  if (method === 'ALL') app.all(path, fastifyHandler);
  else if (method === 'POST') app.post(path, fastifyHandler);
  else app.get(path, fastifyHandler);
}

for (const [label, fastify] of FASTIFY_VERSIONS) {
  describeHttpAdapterConformance({
    name: `${label}: otelFastify`,
    scope: '@tracewire/fastify',
    createListener({ options, routes, mountTwice }) {
      // Fastify owns its server; serverFactory hands over its request handler, which the suite's
      // own server then calls (after Fastify is ready).
      let handle: http.RequestListener | undefined;
      const app = fastify({
        serverFactory: (handler) => {
          handle = handler as http.RequestListener;
          return http.createServer();
        },
      });
      // Fastify 5 routes only the RFC methods unless told otherwise (`app.all` then includes it).
      const withMethods = app as Instance & {
        addHttpMethod?: (m: string, o: { hasBody: boolean }) => unknown;
      };
      if (typeof withMethods.addHttpMethod === 'function')
        withMethods.addHttpMethod('PROPFIND', { hasBody: true });
      // Handlers read the raw request stream themselves (`r.req.on('data')`): a catch-all parser
      // that leaves the body unread, also for bodies without a content-type.
      app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
      void app.register(otelFastify(options));
      if (mountTwice) void app.register(otelFastify(options));
      app.setErrorHandler(otelFastifyErrorHandler());
      for (const route of routes) addRoute(app, route);
      const ready = app.ready();
      return (req, res) => {
        ready.then(
          () => handle?.(req, res),
          () => {
            res.statusCode = 503;
            res.end();
          },
        );
      };
    },
  });
}
