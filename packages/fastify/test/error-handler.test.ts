import http from 'node:http';
import { SpanStatusCode } from '@opentelemetry/api';
import { createTelemetry, rawRequest } from '@tracewire/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { otelFastify, otelFastifyErrorHandler } from '../src/index.js';
import { type App, FASTIFY_VERSIONS, type Listening, listen } from './helpers.js';

for (const [label, fastify] of FASTIFY_VERSIONS) {
  describe(`${label}: otelFastifyErrorHandler`, () => {
    const telemetry = createTelemetry();
    let server: Listening | undefined;

    async function start(build: (app: App) => void, typeBaseUri?: string): Promise<string> {
      const app = fastify({ forceCloseConnections: true });
      await app.register(
        otelFastify({ tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider }),
      );
      app.setErrorHandler(otelFastifyErrorHandler(typeBaseUri === undefined ? undefined : { typeBaseUri }));
      build(app);
      server = await listen(app);
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

    it('validates its options with a TypeError', () => {
      expect(() => otelFastifyErrorHandler('x' as never)).toThrow(TypeError);
      expect(() => otelFastifyErrorHandler({ typeBaseUri: 1 } as never)).toThrow(/typeBaseUri/);
    });

    it('answers a 500 problem+json with the trace id and no internal message', async () => {
      const url = await start((app) => {
        app.get('/orders/:id', () => {
          throw new Error('connect ECONNREFUSED 10.1.2.3:5432');
        });
      }, 'https://errors.example.com/');
      const res = await rawRequest(`${url}/orders/7?x=1`);
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body).not.toContain('10.1.2.3');
      const [span] = await telemetry.waitForSpans(1);
      expect(JSON.parse(res.body)).toMatchObject({
        status: 500,
        instance: '/orders/7',
        traceId: span?.spanContext().traceId,
      });
      expect(span?.status.code).toBe(SpanStatusCode.ERROR);
      expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
    });

    it("keeps Fastify's status for its own errors and a status set on the reply", async () => {
      const url = await start((app) => {
        app.post('/json', async () => 'never');
        app.get('/conflict', (_request, reply) => {
          reply.code(409).send(new Error('version mismatch'));
        });
      });
      const unsupported = await rawRequest(`${url}/json`, {
        method: 'POST',
        body: 'x',
        headers: [['content-type', 'application/x-unknown']],
      });
      expect(unsupported.status).toBe(415);
      expect(JSON.parse(unsupported.body)).toMatchObject({ status: 415 });
      const conflict = await rawRequest(`${url}/conflict`);
      expect(conflict.status).toBe(409);
      expect(JSON.parse(conflict.body)).toMatchObject({ status: 409, title: 'Conflict' });
      const spans = await telemetry.waitForSpans(2);
      expect(spans.map((s) => s.status.code)).toEqual([SpanStatusCode.UNSET, SpanStatusCode.UNSET]);
    });

    it('cuts off a response whose headers were already sent; the span ends as an error', async () => {
      const url = await start((app) => {
        app.get('/late', (_request, reply) => {
          reply.raw.writeHead(200, { 'content-type': 'text/plain' });
          reply.raw.write('partial');
          throw new Error('late');
        });
      });
      const seen = await new Promise<{ body: string; complete: boolean }>((resolve) => {
        let body = '';
        http
          .get(`${url}/late`, (res) => {
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              body += c;
            });
            res.on('end', () => resolve({ body, complete: true }));
            res.on('error', () => resolve({ body, complete: false }));
          })
          .on('error', () => resolve({ body, complete: false }));
      });
      // Cut off in the same tick as the write: the client may not even get the first chunk, but
      // never a second body.
      expect(seen.complete).toBe(false);
      expect(seen.body).not.toContain('status');
      const [span] = await telemetry.waitForSpans(1);
      expect(span?.status.code).toBe(SpanStatusCode.ERROR);
      expect(span?.attributes['http.response.status_code']).toBe(200);
      expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
    });
  });
}
