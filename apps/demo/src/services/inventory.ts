// inventory: a Koa service that `orders` asks for stock over HTTP (fetch).
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import { type OtelKoaState, otelKoa } from '@tracewire/koa';
import { koaRequestLogger } from '@tracewire/logger';
import Koa from 'koa';
import { envInt, sleep, startService } from './shared.js';

const service = await startService('inventory');
const { log } = service;

const stock = new Map<string, number>([
  ['SKU-TEE', 10_000],
  ['SKU-MUG', 10_000],
  ['SKU-CAP', 10_000],
]);

const app = new Koa<OtelKoaState>();
const router = new Router<OtelKoaState>();

router.get('/stock/:sku', async (ctx) => {
  const sku = ctx.params.sku ?? '';
  await sleep(3 + Math.random() * 4); // a cache lookup
  const available = stock.get(sku) ?? 0;
  log.info({ sku, available }, 'stock checked');
  if (available <= 0) ctx.throw(404, `unknown sku ${sku}`);
  ctx.body = { sku, available };
});

app.use(otelKoa()); // first
app.use(koaRequestLogger({ logger: log, accessLog: true }));
app.use(router.routes());
app.use(router.allowedMethods());

const server = app.listen(envInt('INVENTORY_PORT', 0), '127.0.0.1', () => {
  service.ready({ port: (server.address() as AddressInfo).port });
});
service.onShutdown(
  () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
);
