import { Readable } from 'node:stream';
import {
  describeSeen,
  describeTransparency,
  startServer,
  type TransparencyContext,
} from '@tracewire/testing';
import express5 from 'express';
import express4 from 'express4';
import { otelExpress } from '../src/index.js';

type ExpressFactory = typeof express5;

function buildApp(express: ExpressFactory, { mode, telemetry, seen }: TransparencyContext) {
  const app = express();
  app.set('env', 'production');
  if (mode === 'instrumented') {
    app.use(
      otelExpress({ tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider }),
    );
  }
  const fail = (props: Record<string, unknown>, message: string) => Object.assign(new Error(message), props);
  app.get('/ok', (_req, res) => {
    res.send('ok');
  });
  app.get('/json', (_req, res) => {
    res.json({ a: 1 });
  });
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.post('/echo', express.text(), (req, res) => {
    res.send(req.body);
  });
  app.get('/headers', (_req, res) => {
    res.set('x-custom', '1');
    res.cookie('a', '1');
    res.cookie('b', '2');
    res.status(201).send('made');
  });
  app.get('/empty', (_req, res) => {
    res.status(204).end();
  });
  app.get('/redirect', (_req, res) => {
    res.redirect('/ok');
  });
  app.get('/stream', (_req, res) => {
    Readable.from(['a', 'b', 'c']).pipe(res);
  });
  app.get('/stream-error', (_req, res) => {
    const body = new Readable({ read() {} });
    body.push('a');
    body.pipe(res);
    setTimeout(() => body.destroy(new Error('stream broke')), 10);
    body.on('error', (err) => {
      seen({ event: 'stream-error', message: err.message });
      res.destroy();
    });
  });
  app.get('/slow', (req, res) => {
    setTimeout(() => {
      seen({ event: 'slow-done', aborted: req.destroyed });
      if (!res.destroyed) res.send('ok');
    }, 300);
  });
  app.get('/throw/sync', () => {
    throw new Error('boom');
  });
  app.get('/throw/async', async () => {
    throw new Error('async boom');
  });
  app.get('/throw/status', () => {
    throw fail({ status: 403 }, 'nope');
  });
  app.get('/throw/status-code', () => {
    throw fail({ statusCode: 404 }, 'gone');
  });
  app.get('/throw/expose', () => {
    throw fail({ status: 400, expose: true }, 'bad input');
  });
  app.get('/throw/unavailable', () => {
    throw fail({ status: 503 }, 'down: db at 10.1.2.3');
  });
  app.get('/throw/invalid-status', () => {
    throw fail({ status: 999 }, 'weird');
  });
  app.get('/throw/non-error', () => {
    throw { key: 'value' };
  });
  app.get('/throw/string', () => {
    throw 'oops';
  });
  app.get('/throw/after-headers', (_req, res) => {
    res.status(200).set('x-partial', '1');
    res.write('partial');
    throw new Error('late');
  });
  // The app's own error handler: records what it got and lets Express answer.
  app.use((err: unknown, _req: unknown, _res: unknown, next: (e: unknown) => void) => {
    seen(describeSeen(err));
    next(err);
  });
  return app;
}

for (const [name, express, skip] of [
  ['express 5', express5, {}],
  [
    'express 4',
    express4 as unknown as ExpressFactory,
    { 'rejected promise': 'Express 4 does not handle rejections' },
  ],
] as const) {
  describeTransparency({
    name,
    skip,
    start: async (ctx) => {
      const server = await startServer(buildApp(express, ctx));
      return { url: server.url, close: server.close };
    },
  });
}
