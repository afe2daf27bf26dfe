// otelExpressErrorHandler() on Express 4 and 5: the status is Express's own (finalhandler's rule),
// the body is tracewire's problem+json. Real servers, real SDK.

import { SpanStatusCode } from '@opentelemetry/api';
import { GrpcCode, TracedError } from '@tracewire/errors';
import { createTelemetry, rawRequest, startServer, type TestServer } from '@tracewire/testing';
import type express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { otelExpress, otelExpressErrorHandler } from '../src/index.js';
import { EXPRESS_MATRIX, type ExpressCell } from './matrix.js';

const telemetry = createTelemetry();

afterAll(async () => {
  await telemetry.shutdown();
});

const fail = (props: Record<string, unknown>, message: string): Error =>
  Object.assign(new Error(message), props);

function buildApp(cell: ExpressCell): express.Express {
  const app = cell.express();
  app.use(otelExpress({ tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider }));
  const thrown: Record<string, () => unknown> = {
    status: () => fail({ status: 403 }, 'nope'),
    'status-code': () => fail({ statusCode: 404 }, 'gone'),
    expose: () => fail({ status: 400, expose: true }, 'bad input'),
    'expose-false': () => fail({ status: 422, expose: false }, 'internal reason'),
    'expose-5xx': () => fail({ status: 503, expose: true }, 'down: db at 10.1.2.3'),
    unavailable: () => fail({ status: 503 }, 'down: db at 10.1.2.3'),
    'invalid-status': () => fail({ status: 999 }, 'weird'),
    'status-200-code-409': () => fail({ status: 200, statusCode: 409 }, 'conflict'),
    'fractional-status': () => fail({ status: 403.5 }, 'odd'),
    headers: () => fail({ status: 401, headers: { 'WWW-Authenticate': 'Bearer' } }, 'who'),
    'headers-no-status': () => fail({ headers: { 'x-leak': '1' } }, 'no status'),
    'plain-object-status': () => ({ status: 418, message: 'teapot' }),
    econnrefused: () => fail({ code: 'ECONNREFUSED' }, 'connect ECONNREFUSED 10.1.2.3:5432'),
    'traced-not-found': () => new TracedError('order 7 not found', { code: GrpcCode.NOT_FOUND }),
    string: () => 'oops',
  };
  for (const [name, make] of Object.entries(thrown)) {
    app.get(`/throw/${name}`, () => {
      throw make();
    });
  }
  app.get('/next/res-status', (_req, res, next) => {
    res.status(404);
    next(new Error('not here'));
  });
  app.get('/next/res-status-200', (_req, res, next) => {
    res.status(201);
    next(new Error('created then failed'));
  });
  app.get('/next/content-encoding', (_req, res, next) => {
    res.set('content-encoding', 'gzip');
    res.set('content-language', 'fr');
    next(fail({ status: 400, expose: true }, 'bad'));
  });
  app.post('/next/unread-body', (_req, _res, next) => {
    next(fail({ status: 413, expose: true }, 'too large'));
  });
  app.use(otelExpressErrorHandler());
  return app;
}

for (const cell of EXPRESS_MATRIX) {
  describe(`${cell.name}: otelExpressErrorHandler status rule`, () => {
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

    async function get(path: string, method = 'GET', body?: string) {
      const res = await rawRequest(server.url + path, { method, body });
      const [span] = await telemetry.waitForSpans(1);
      const problem = JSON.parse(res.body) as Record<string, unknown>;
      return { res, span, problem, traceId: span?.spanContext().traceId };
    }

    // [path, status, detail (only exposed 4xx)] — the status is finalhandler's for every Error.
    const cases: [string, number, string | undefined][] = [
      ['/throw/status', 403, undefined],
      ['/throw/status-code', 404, undefined],
      ['/throw/expose', 400, 'bad input'],
      ['/throw/expose-false', 422, undefined],
      ['/throw/expose-5xx', 503, undefined],
      ['/throw/unavailable', 503, undefined],
      ['/throw/invalid-status', 500, undefined],
      ['/throw/status-200-code-409', 409, undefined],
      ['/throw/econnrefused', 500, undefined],
      ['/throw/string', 500, undefined],
      ['/next/res-status', 404, undefined],
      ['/next/res-status-200', 500, undefined],
    ];

    it.each(cases)('%s -> %i', async (path, status, detail) => {
      const { res, span, problem, traceId } = await get(path);
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(problem.status).toBe(status);
      expect(problem.detail).toBe(detail);
      expect(problem.instance).toBe(path);
      expect(problem.traceId).toBe(traceId);
      for (const secret of ['10.1.2.3', 'nope', 'gone', 'internal reason', 'weird', 'not here', 'oops']) {
        expect(res.body).not.toContain(secret);
      }
      expect(span?.attributes['http.response.status_code']).toBe(status);
      expect(span?.status.code).toBe(status >= 500 ? SpanStatusCode.ERROR : SpanStatusCode.UNSET);
      expect(span?.events.filter((e) => e.name === 'exception')).toHaveLength(1);
    });

    it('answers a 4xx without expose with its status and the code, never the message', async () => {
      const { problem, traceId } = await get('/throw/status');
      expect(problem).toEqual({
        type: 'about:blank',
        title: 'Forbidden',
        status: 403,
        instance: '/throw/status',
        traceId,
        code: 'PERMISSION_DENIED',
      });
    });

    it('keeps the httpStatus of a TracedError (exposed 4xx: with its message)', async () => {
      const { res, problem } = await get('/throw/traced-not-found');
      expect(res.status).toBe(404);
      expect(problem).toMatchObject({ status: 404, detail: 'order 7 not found', code: 'NOT_FOUND' });
    });

    it('sends the headers of an error whose status it uses, as finalhandler does', async () => {
      const { res } = await get('/throw/headers');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.headers['content-security-policy']).toBe("default-src 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      telemetry.reset();
      const other = await get('/throw/headers-no-status');
      expect(other.res.status).toBe(500);
      expect(other.res.headers['x-leak']).toBeUndefined();
    });

    it('drops content-encoding and content-language set before the error', async () => {
      const { res, problem } = await get('/next/content-encoding');
      expect(res.status).toBe(400);
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(res.headers['content-language']).toBeUndefined();
      expect(problem.detail).toBe('bad');
    });

    it('reads the rest of an unread request body, then answers', async () => {
      const { res, problem } = await get('/next/unread-body', 'POST', 'x'.repeat(256 * 1024));
      expect(res.status).toBe(413);
      expect(problem.detail).toBe('too large');
    });

    // Documented differences from Express's final handler (tracewire's adapter contract).
    it('answers 500 for a thrown plain object with a status (finalhandler would send 418)', async () => {
      const { res, problem } = await get('/throw/plain-object-status');
      expect(res.status).toBe(500);
      expect(problem.status).toBe(500);
    });

    it('answers 500 for a fractional status (finalhandler would send 403.5, truncated by Node to 403)', async () => {
      const { res } = await get('/throw/fractional-status');
      expect(res.status).toBe(500);
    });
  });
}
