// TypeScript consumer (strict): compiled under `node16` and under `bundler` resolution (the latter
// also with customConditions ["source"], which must not reach any .ts source of ours), then run.
import type { AddressInfo } from 'node:net';
import { otelExpress, otelExpressErrorHandler } from '@tracewire/express';
import { type StartOptions, startSync, type TracewireSdk } from '@tracewire/node';
import express, { type Request, type Response } from 'express';
import './types-all.js';

const options: StartOptions = { serviceName: 'pack-ts', shutdownTimeoutMillis: 2000 };
const otel: TracewireSdk = startSync(options);
console.log(`status ${otel.status}`);

const app = express();
app.use(otelExpress());
app.get('/users/:id', (req: Request<{ id: string }>, res: Response) => {
  res.json({ id: req.params.id });
});
app.use(otelExpressErrorHandler());
const server = app.listen(0, '127.0.0.1', async () => {
  const { port } = server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/users/42`, { headers: { connection: 'close' } });
  console.log(`response ${res.status} ${await res.text()}`);
  server.close();
});
