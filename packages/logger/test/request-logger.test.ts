import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { context, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { otelExpress } from '@tracewire/express';
import { createTelemetry, rawRequest, startServer, type TestServer } from '@tracewire/testing';
import express from 'express';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  createLogger,
  type KoaContextLike,
  koaRequestLogger,
  type Logger,
  type RequestLoggerOptions,
  requestLogger,
} from '../src/index.js';
import { type LogLine, memoryDestination } from './helpers.js';

const telemetry = createTelemetry();
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  telemetry.reset();
});

afterAll(async () => {
  await telemetry.shutdown();
});

type WithLog = IncomingMessage & { log: Logger };

function makeApp(
  log: Logger,
  options: Omit<RequestLoggerOptions, 'logger'> = {},
  setup?: (app: express.Express) => void,
): express.Express {
  const app = express();
  app.use(otelExpress({ tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider }));
  app.use(requestLogger({ logger: log, ...options }));
  setup?.(app);
  return app;
}

async function serve(app: http.RequestListener): Promise<string> {
  server = await startServer(app);
  return server.url;
}

function serverSpan(traceId: string): ReadableSpan {
  const span = telemetry
    .spans()
    .find((s) => s.kind === SpanKind.SERVER && s.spanContext().traceId === traceId);
  if (span === undefined) throw new Error(`no server span for ${traceId}`);
  return span;
}

describe('requestLogger (Express)', () => {
  it('gives each request req.log carrying the request span, and writes no access line by default', async () => {
    const destination = memoryDestination();
    const log = createLogger({ destination });
    const url = await serve(
      makeApp(log, {}, (app) => {
        app.get('/orders/:id', (req, res) => {
          (req as unknown as WithLog).log.info({ orderId: req.params.id }, 'loading order');
          res.json({ id: req.params.id });
        });
      }),
    );
    const res = await rawRequest(`${url}/orders/42`, { headers: [['traceparent', TRACEPARENT]] });
    expect(res.status).toBe(200);
    await telemetry.waitForSpans(1);
    const span = serverSpan(TRACE_ID);
    const lines = destination.records();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      orderId: '42',
      msg: 'loading order',
      trace_id: TRACE_ID,
      span_id: span.spanContext().spanId,
      trace_flags: '01',
    });
  });

  it('keeps the request trace on req.log where the context was lost', async () => {
    const destination = memoryDestination();
    const log = createLogger({ destination });
    const url = await serve(
      makeApp(log, {}, (app) => {
        app.get('/lost', (req, res) => {
          // A callback API that drops the context (simulated): the root logger has nothing to go
          // by, the request logger still knows its request.
          context.with(ROOT_CONTEXT, () => {
            log.info('root logger, context lost');
            (req as unknown as WithLog).log.info('request logger, context lost');
          });
          res.end();
        });
      }),
    );
    await rawRequest(`${url}/lost`, { headers: [['traceparent', TRACEPARENT]] });
    const [root, request] = destination.records();
    expect(root).not.toHaveProperty('trace_id');
    expect(request?.trace_id).toBe(TRACE_ID);
  });

  it('writes one access line per request with method, route, path, status and duration', async () => {
    const destination = memoryDestination();
    const log = createLogger({ destination, name: 'api' });
    const url = await serve(
      makeApp(log, { accessLog: true }, (app) => {
        app.get('/orders/:id', (req, res) => {
          res.json({ id: req.params.id });
        });
        app.get('/boom', (_req, res) => {
          res.status(503).end();
        });
      }),
    );
    await rawRequest(`${url}/orders/42?token=secret`, { headers: [['traceparent', TRACEPARENT]] });
    await rawRequest(`${url}/boom`);
    await rawRequest(`${url}/nowhere`);
    await vi.waitFor(() => expect(destination.chunks).toHaveLength(3));
    await telemetry.waitForSpans(3);
    const [ok, failed, missing] = destination.records() as LogLine[];
    expect(ok).toMatchObject({
      level: 30,
      name: 'api',
      msg: 'request completed',
      method: 'GET',
      route: '/orders/:id',
      path: '/orders/42',
      status: 200,
      trace_id: TRACE_ID,
      span_id: serverSpan(TRACE_ID).spanContext().spanId,
    });
    expect(typeof ok?.duration_ms).toBe('number');
    expect(ok?.duration_ms).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(ok)).not.toContain('secret');
    expect(failed).toMatchObject({ level: 50, route: '/boom', status: 503 });
    expect(failed?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(missing).toMatchObject({ level: 30, path: '/nowhere', status: 404 });
    expect(missing).not.toHaveProperty('route');
  });

  it('takes the full route template of mounted routers from the server span', async () => {
    const destination = memoryDestination();
    const log = createLogger({ destination });
    const url = await serve(
      makeApp(log, { accessLog: true }, (app) => {
        const router = express.Router();
        router.get('/:itemId', (_req, res) => {
          res.end();
        });
        app.use('/api/:version/items', router);
      }),
    );
    await rawRequest(`${url}/api/v2/items/7`);
    await vi.waitFor(() => expect(destination.chunks).toHaveLength(1));
    // Express alone only knows '/:itemId' and the concrete baseUrl '/api/v2/items'.
    expect(destination.records()[0]).toMatchObject({
      route: '/api/:version/items/:itemId',
      path: '/api/v2/items/7',
    });
  });

  it('writes an aborted line when the client goes away before the response', async () => {
    const destination = memoryDestination();
    const log = createLogger({ destination });
    let arrived!: () => void;
    const handlerRunning = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const url = await serve(
      makeApp(log, { accessLog: true }, (app) => {
        app.get('/slow', () => {
          arrived(); // never responds
        });
      }),
    );
    const req = http.get(`${url}/slow`, { agent: false });
    req.on('error', () => {});
    await handlerRunning;
    req.destroy();
    await vi.waitFor(() => expect(destination.chunks).toHaveLength(1));
    expect(destination.records()[0]).toMatchObject({
      level: 40,
      msg: 'request aborted',
      aborted: true,
      method: 'GET',
      route: '/slow',
    });
    expect(destination.records()[0]).not.toHaveProperty('status');
  });

  it('adds per-request bindings and uses the route hook; throwing hooks are contained', async () => {
    const destination = memoryDestination();
    const log = createLogger({ destination });
    const url = await serve(
      makeApp(
        log,
        {
          accessLog: true,
          bindings: (req) => ({ requestId: req.headers['x-request-id'] }),
          route: (req) => (req.url?.startsWith('/custom') ? 'custom-route' : undefined),
        },
        (app) => {
          app.get('/custom', (req, res) => {
            (req as unknown as WithLog).log.info('handler');
            res.end();
          });
        },
      ),
    );
    await rawRequest(`${url}/custom`, { headers: [['x-request-id', 'req-1']] });
    await vi.waitFor(() => expect(destination.chunks).toHaveLength(2));
    const [handler, access] = destination.records();
    expect(handler).toMatchObject({ requestId: 'req-1', msg: 'handler' });
    expect(access).toMatchObject({ requestId: 'req-1', route: 'custom-route' });

    await server?.close();
    destination.clear();
    const throwing = createLogger({ destination });
    const url2 = await serve(
      makeApp(
        throwing,
        {
          accessLog: true,
          bindings: () => {
            throw new Error('bindings exploded');
          },
          route: () => {
            throw new Error('route exploded');
          },
        },
        (app) => {
          app.get('/items/:id', (req, res) => {
            (req as unknown as WithLog).log.info('still logged');
            res.end();
          });
        },
      ),
    );
    const res = await rawRequest(`${url2}/items/1`);
    expect(res.status).toBe(200);
    await vi.waitFor(() => expect(destination.chunks).toHaveLength(2));
    expect(destination.records()[1]).toMatchObject({ route: '/items/:id', status: 200 });
  });

  it('works without otelExpress: no trace fields, the route from Express', async () => {
    const destination = memoryDestination();
    const log = createLogger({ destination });
    const app = express();
    app.use(requestLogger({ logger: log, accessLog: true }));
    app.get('/plain/:id', (req, res) => {
      (req as unknown as WithLog).log.info('plain');
      res.end();
    });
    const url = await serve(app);
    await rawRequest(`${url}/plain/1`, { headers: [['traceparent', TRACEPARENT]] });
    await vi.waitFor(() => expect(destination.chunks).toHaveLength(2));
    const [handler, access] = destination.records();
    expect(handler).not.toHaveProperty('trace_id');
    expect(access).toMatchObject({ route: '/plain/:id', status: 200 });
    expect(access).not.toHaveProperty('trace_id');
  });

  it('fails fast without a logger', () => {
    expect(() => requestLogger({} as never)).toThrow(TypeError);
    expect(() =>
      requestLogger({
        logger: createLogger({ destination: memoryDestination() }),
        accessLog: 'yes' as never,
      }),
    ).toThrow(/accessLog/);
    expect(() => koaRequestLogger(undefined as never)).toThrow(TypeError);
  });
});

describe('koaRequestLogger (structural Koa context)', () => {
  // A Koa-shaped context over a real Node server: the middleware only reads ctx.req/ctx.res and
  // @koa/router's _matchedRoute, and sets ctx.log.
  type Ctx = KoaContextLike & { _matchedRoute?: string };

  it('sets ctx.log, writes the access line, and passes errors through unchanged', async () => {
    const destination = memoryDestination();
    const log = createLogger({ destination });
    const middleware = koaRequestLogger<Ctx>({ logger: log, accessLog: true });
    const tracer = telemetry.tracerProvider.getTracer('koa-like');
    const failure = new Error('handler failed');
    const seen: unknown[] = [];
    const url = await serve((req: IncomingMessage, res: ServerResponse) => {
      tracer.startActiveSpan('koa request', { kind: SpanKind.SERVER }, (span) => {
        const ctx: Ctx = { req, res };
        middleware(ctx, async () => {
          ctx._matchedRoute = '/orders/:id';
          await new Promise((r) => setTimeout(r, 1));
          ctx.log?.info('in handler');
          if (req.url === '/fail') throw failure;
          res.end('ok');
        }).then(
          () => span.end(),
          (error: unknown) => {
            seen.push(error);
            res.statusCode = 500;
            res.end();
            span.end();
          },
        );
      });
    });
    await rawRequest(`${url}/orders/1`);
    await rawRequest(`${url}/fail`);
    await vi.waitFor(() => expect(destination.chunks).toHaveLength(4));
    const spans = telemetry.spans();
    const [handler, access, failedHandler, failedAccess] = destination.records() as LogLine[];
    expect(handler).toMatchObject({ msg: 'in handler', trace_id: spans[0]?.spanContext().traceId });
    expect(access).toMatchObject({
      msg: 'request completed',
      route: '/orders/:id',
      status: 200,
      trace_id: spans[0]?.spanContext().traceId,
    });
    expect(failedHandler?.trace_id).toBe(spans[1]?.spanContext().traceId);
    expect(failedAccess).toMatchObject({ level: 50, status: 500 });
    expect(seen).toEqual([failure]);
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
