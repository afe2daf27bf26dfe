import { Readable } from 'node:stream';
import {
  describeSeen,
  describeTransparency,
  TRANSPARENCY_THROWN,
  type TransparencyContext,
} from '@tracewire/testing';
import { otelFastify } from '../src/index.js';
import { type App, FASTIFY_VERSIONS, type FastifyFactory, listen } from './helpers.js';

/** The standard transparency routes in Fastify's idiom; the only difference is the tracewire line. */
function buildApp(fastify: FastifyFactory, { mode, telemetry, seen }: TransparencyContext): App {
  const app = fastify();
  if (mode === 'instrumented') {
    void app.register(
      otelFastify({ tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider }),
    );
  }
  app.get('/ok', (_request, reply) => {
    reply.send('ok');
  });
  app.get('/json', async () => ({ a: 1 }));
  app.get('/users/:id', async (request) => ({ id: (request.params as { id: string }).id }));
  app.post('/echo', async (request) => request.body);
  app.get('/headers', (_request, reply) => {
    reply.header('x-custom', '1');
    reply.header('set-cookie', ['a=1', 'b=2']);
    reply.code(201).send('made');
  });
  app.get('/empty', (_request, reply) => {
    reply.code(204).send();
  });
  app.get('/redirect', (_request, reply) => {
    reply.redirect('/ok');
  });
  app.get('/stream', (_request, reply) => {
    let i = 0;
    const chunks = ['a', 'b', 'c'];
    const body = new Readable({
      read() {
        const chunk = chunks[i++];
        if (chunk === undefined) this.push(null);
        else setTimeout(() => this.push(chunk), 10);
      },
    });
    reply.type('text/plain').send(body);
  });
  app.get('/stream-error', (_request, reply) => {
    const body = new Readable({ read() {} });
    body.push('a');
    setTimeout(() => body.destroy(new Error('stream broke')), 10);
    body.on('error', (err) => {
      seen({ event: 'stream-error', message: err.message });
    });
    reply.type('text/plain').send(body);
  });
  app.get('/slow', (request, reply) => {
    setTimeout(() => {
      seen({ event: 'slow-done', aborted: request.raw.destroyed });
      if (!reply.raw.destroyed) reply.send('ok');
    }, 300);
  });
  for (const [path, thrown] of Object.entries(TRANSPARENCY_THROWN)) {
    app.get(path, () => {
      throw thrown();
    });
  }
  app.get('/throw/async', async () => {
    throw new Error('async boom');
  });
  app.get('/throw/after-headers', (_request, reply) => {
    reply.raw.writeHead(200, { 'x-partial': '1' });
    reply.raw.write('partial');
    throw new Error('late');
  });
  // The app's own error handler: records what it got and lets Fastify answer the default way.
  app.setErrorHandler((err, _request, reply) => {
    seen(describeSeen(err));
    reply.send(err);
  });
  return app;
}

for (const [label, fastify] of FASTIFY_VERSIONS) {
  describeTransparency({
    name: label,
    skip:
      label === 'fastify 4'
        ? {
            'Error after headers were sent':
              "Fastify 4.29's error handler throws ERR_HTTP_HEADERS_SENT out of the request (an uncaught error, bare app too)",
          }
        : {},
    start: async (ctx) => {
      const server = await listen(buildApp(fastify, ctx));
      return { url: server.url, close: server.close };
    },
  });
}
