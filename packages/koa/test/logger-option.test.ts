import Router from '@koa/router';
import { createTelemetry, jsonLineSink, rawRequest, startServer, type TestServer } from '@tracewire/testing';
import Koa from 'koa';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { otelKoa } from '../src/index.js';

const telemetry = createTelemetry();
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  telemetry.reset();
});
afterAll(() => telemetry.shutdown());

function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const { stream, lines } = jsonLineSink();
  return { logger: pino({ base: null }, stream), lines };
}

describe('otelKoa logger option', () => {
  it('gives ctx.log a child logger and writes one access line per request when asked', async () => {
    const { logger, lines } = capture();
    const app = new Koa();
    app.silent = true; // the 500 is the point of the test; keep Koa's default error logger quiet
    app.use(
      otelKoa({
        tracerProvider: telemetry.tracerProvider,
        meterProvider: telemetry.meterProvider,
        logger,
        accessLog: true,
      }),
    );
    const router = new Router({ prefix: '/api' });
    router.get('/orders/:id', (ctx) => {
      (ctx as unknown as { log: pino.Logger }).log.info({ orderId: ctx.params.id }, 'loading order');
      ctx.body = { ok: true };
    });
    router.get('/boom', () => {
      throw new Error('boom');
    });
    app.use(router.routes());
    server = await startServer(app.callback());
    await rawRequest(`${server.url}/api/orders/7?secret=1`);
    await rawRequest(`${server.url}/api/boom`);
    await telemetry.waitForSpans(2);
    await new Promise((r) => setTimeout(r, 20));
    expect(lines.map((l) => l.msg)).toEqual(['loading order', 'request completed', 'request completed']);
    expect(lines[0]).toMatchObject({ orderId: '7', level: 30 });
    expect(lines[1]).toMatchObject({
      method: 'GET',
      route: '/api/orders/:id',
      path: '/api/orders/7',
      status: 200,
      level: 30,
    });
    expect(typeof lines[1]?.duration_ms).toBe('number');
    expect(lines[2]).toMatchObject({ route: '/api/boom', status: 500, level: 50 });
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('rejects accessLog without a logger and a logger without child()', () => {
    expect(() => otelKoa({ accessLog: true })).toThrow(/accessLog needs options.logger/);
    expect(() => otelKoa({ logger: {} as never })).toThrow(/logger/);
  });
});
