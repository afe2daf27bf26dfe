// gateway: the public Express edge. It forwards orders to `orders` with fetch and answers errors
// with problem+json carrying the trace id.
import type { AddressInfo } from 'node:net';
import { GrpcCode, grpcCodeFromHttpStatus, TracedError } from '@tracewire/errors';
import { otelExpress, otelExpressErrorHandler } from '@tracewire/express';
import { requestLogger } from '@tracewire/logger';
import express from 'express';
import { envInt, startService } from './shared.js';

const service = await startService('gateway');
const { log } = service;
const ORDERS_URL = `http://127.0.0.1:${envInt('ORDERS_PORT')}`;

const app = express();
// The edge: callers are untrusted, so their trace context is linked, not continued.
app.use(otelExpress({ publicEndpoint: true }));
app.use(requestLogger({ logger: log, accessLog: true }));
app.use(express.json());

app.post('/api/orders', async (req, res) => {
  log.info({ sku: req.body?.sku, quantity: req.body?.quantity }, 'order received');
  const response = await fetch(`${ORDERS_URL}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(req.body ?? {}),
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  if (!response.ok) {
    const upstream = safeJson(text);
    log.warn({ upstreamStatus: response.status, upstream }, 'orders failed');
    const code = grpcCodeFromHttpStatus(response.status) ?? GrpcCode.INTERNAL;
    throw new TracedError(`orders answered ${response.status}`, { code });
  }
  log.info({ order: safeJson(text) }, 'order accepted');
  res.status(201).type('application/json').send(text);
});

app.use(otelExpressErrorHandler()); // last: problem+json with the traceId

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text.slice(0, 200);
  }
}

const server = app.listen(envInt('GATEWAY_PORT', 0), '127.0.0.1', () => {
  service.ready({ port: (server.address() as AddressInfo).port });
});
service.onShutdown(
  () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
);
