// The demo service: an Express app instrumented with tracewire's explicit middleware.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { injectContext } from '@tracewire/core';
import { GrpcCode, TracedError } from '@tracewire/errors';
import { otelExpress, otelExpressErrorHandler } from '@tracewire/express';
import express, { type Express, type Request } from 'express';

const tracer = trace.getTracer('demo');

export function createApp(): Express {
  const app = express();
  app.use(otelExpress()); // first: every request below runs inside its server span

  app.get('/orders/:id', async (req, res) => {
    const id = req.params.id;
    if (id === 'missing') {
      // A 4xx TracedError: the message is safe to show, the handler answers 404 problem+json.
      throw new TracedError(`order ${id} not found`, { code: GrpcCode.NOT_FOUND });
    }
    const order = await loadOrder(id);
    const stock = await getJson(`${baseUrl(req)}/inventory/${encodeURIComponent(order.sku)}`);
    res.json({ ...order, stock });
  });

  app.get('/inventory/:sku', async (req, res) => {
    await sleep(3);
    res.json({ sku: req.params.sku, available: 3 });
  });

  app.get('/boom', () => {
    // A plain Error: it is recorded on the span, but a 5xx body never carries its message.
    throw new Error('db password=hunter2 at 10.0.0.5');
  });

  app.use(otelExpressErrorHandler()); // last: problem+json with the traceId
  return app;
}

/** Some async work in a child span of the server span. */
function loadOrder(id: string): Promise<{ id: string; sku: string; total: number }> {
  return tracer.startActiveSpan('load order', async (span) => {
    try {
      span.setAttribute('order.id', id);
      await sleep(10);
      return { id, sku: `SKU-${id}`, total: 42.5 };
    } finally {
      span.end();
    }
  });
}

/**
 * An outgoing call in a CLIENT span. `injectContext` writes `traceparent` (and `tracestate`,
 * `baggage`) from the active context, so the server that answers continues this trace.
 */
function getJson(url: string): Promise<unknown> {
  const { hostname, port } = new URL(url);
  return tracer.startActiveSpan('GET', { kind: SpanKind.CLIENT }, async (span: Span) => {
    span.setAttributes({
      'http.request.method': 'GET',
      'url.full': url,
      'server.address': hostname,
      'server.port': Number(port),
    });
    try {
      const headers: Record<string, string> = { accept: 'application/json' };
      injectContext(headers);
      const response = await fetch(url, { headers });
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 400) {
        span.setAttribute('error.type', String(response.status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      return await response.json();
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** This server's own address, for the inner hop. */
function baseUrl(req: Request): string {
  return `http://127.0.0.1:${req.socket.localPort}`;
}

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 on a free port. */
export function startServer(app: Express): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server: Server = app.listen(0, '127.0.0.1', (error?: Error) => {
      if (error) {
        reject(error);
        return;
      }
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => closeServer(server) });
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections(); // keep-alive sockets of fetch would otherwise hold close() open
  });
}
