import http from 'node:http';
import { createTelemetry, jsonLineSink, rawRequest, startServer, type TestServer } from '@tracewire/testing';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { otelExpress, otelExpressErrorHandler } from '../src/index.js';
import { EXPRESS_MATRIX } from './matrix.js';

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

for (const { name, express } of EXPRESS_MATRIX) {
  describe(`${name}: otelExpress logger option`, () => {
    it('gives req.log a child logger and writes access lines (info, error for 5xx, warn when aborted)', async () => {
      const { logger, lines } = capture();
      const app = express();
      app.use(
        otelExpress({
          tracerProvider: telemetry.tracerProvider,
          meterProvider: telemetry.meterProvider,
          logger,
          accessLog: true,
        }),
      );
      const api = express.Router();
      api.get('/orders/:id', (req, res) => {
        (req as unknown as { log: pino.Logger }).log.info({ orderId: req.params.id }, 'loading order');
        res.json({ ok: true });
      });
      api.get('/boom', () => {
        throw new Error('boom');
      });
      api.get('/slow', async (_req, res) => {
        await new Promise((r) => setTimeout(r, 100));
        res.send('late');
      });
      app.use('/api', api);
      app.use(otelExpressErrorHandler());
      server = await startServer(app);
      await rawRequest(`${server.url}/api/orders/7?token=abc`);
      await rawRequest(`${server.url}/api/boom`);
      await new Promise<void>((resolve) => {
        const r = http.get(`${server?.url}/api/slow`);
        r.on('error', () => undefined);
        r.on('close', () => resolve());
        setTimeout(() => r.destroy(), 20);
      });
      await telemetry.waitForSpans(3);
      await new Promise((r) => setTimeout(r, 150));
      const access = lines.filter((l) => l.msg !== 'loading order');
      expect(lines[0]).toMatchObject({ msg: 'loading order', orderId: '7' });
      expect(access).toHaveLength(3);
      expect(access[0]).toMatchObject({
        msg: 'request completed',
        route: '/api/orders/:id',
        path: '/api/orders/7',
        status: 200,
        level: 30,
      });
      expect(access[1]).toMatchObject({ route: '/api/boom', status: 500, level: 50 });
      expect(access[2]).toMatchObject({
        msg: 'request aborted',
        route: '/api/slow',
        aborted: true,
        level: 40,
      });
      expect(JSON.stringify(lines)).not.toContain('abc');
    });

    it('writes no access line unless asked, and still sets req.log', async () => {
      const { logger, lines } = capture();
      const app = express();
      app.use(
        otelExpress({
          tracerProvider: telemetry.tracerProvider,
          meterProvider: telemetry.meterProvider,
          logger,
        }),
      );
      app.get('/x', (req, res) => {
        res.send(String(typeof (req as unknown as { log?: unknown }).log));
      });
      server = await startServer(app);
      const res = await rawRequest(`${server.url}/x`);
      await telemetry.waitForSpans(1);
      expect(res.body).toBe('object');
      expect(lines).toHaveLength(0);
    });
  });
}
