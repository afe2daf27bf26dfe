// Express-specific behaviour. Everything every HTTP adapter must do (propagation, 404, errors,
// aborts, context, hooks, metrics, cardinality) is in the shared conformance suite:
// conformance.test.ts runs `describeHttpAdapterConformance` from @tracewire/testing.

import { SpanStatusCode } from '@opentelemetry/api';
import { createTelemetry, rawRequest, startServer, type TestServer } from '@tracewire/testing';
import type express from 'express';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type OtelExpressOptions, otelExpress, otelExpressErrorHandler } from '../src/index.js';
import { EXPRESS_MATRIX } from './matrix.js';

const telemetry = createTelemetry();

let server: TestServer | undefined;

async function serve(app: express.Express): Promise<string> {
  server = await startServer(app);
  return server.url;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
  telemetry.reset();
});

async function activeRequests(): Promise<number> {
  const points = await telemetry.points('http.server.active_requests');
  return points.reduce((sum, p) => sum + p.value, 0);
}

for (const { name, express } of EXPRESS_MATRIX) {
  function makeApp(
    options: OtelExpressOptions = {},
    setup?: (app: express.Express) => void,
  ): express.Express {
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

  describe(`${name}: otelExpress: route templates`, () => {
    it('includes mount prefixes of sub-apps and of a router mounted under two prefixes', async () => {
      const url = await serve(
        makeApp({}, (app) => {
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

  describe(`${name}: otelExpress: errors`, () => {
    it('delegates to Express when headers were already sent and still ends the span as an error', async () => {
      const url = await serve(
        makeApp({}, (app) => {
          app.get('/after-headers', (_req, res) => {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.write('partial');
            throw new Error('late failure');
          });
        }),
      );
      await rawRequest(`${url}/after-headers`).catch(() => undefined);
      const [span] = await telemetry.waitForSpans(1);
      expect(span?.status.code).toBe(SpanStatusCode.ERROR);
      expect(span?.attributes['http.response.status_code']).toBe(200);
      expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
      expect(await activeRequests()).toBe(0);
    });
  });

  describe(`${name}: otelExpress: lifecycle`, () => {
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

    it('validates options at factory time', () => {
      expect(() => otelExpress({ requestHook: 'nope' } as never)).toThrow(TypeError);
      expect(() => otelExpress({ ignore: [42] } as never)).toThrow(/ignore/);
      expect(() => otelExpress({ tracerProvider: {} } as never)).toThrow(/tracerProvider/);
      expect(() => otelExpress(null as never)).toThrow(TypeError);
      expect(() => otelExpressErrorHandler({ problemDetails: 'yes' } as never)).toThrow(TypeError);
    });
  });
}

afterAll(async () => {
  await telemetry.shutdown();
});
