// One benchmark server process: `VARIANT` picks what is mounted in front of the same handler.
import { census, setupSdk } from './sdk.mjs';

const variant = process.env.VARIANT ?? 'bare';
if (variant === 'tracewire' || variant === 'floor') setupSdk('on');
if (variant === 'tracewire-off') setupSdk('off');

const { default: express } = await import('express');
const { otelExpress } = await import('@tracewire/express');
const { floorMiddleware } = await import('./floor.mjs');

const app = express();
if (variant.startsWith('tracewire')) app.use(otelExpress());
if (variant === 'floor') app.use(floorMiddleware());
app.get('/users/:id', (req, res) => {
  res.json({ id: req.params.id });
});

const server = app.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: server.address().port });
});

process.on('message', (msg) => {
  if (msg === 'stats') {
    global.gc?.();
    process.send?.({
      type: 'stats',
      cpu: process.cpuUsage(),
      rss: process.memoryUsage().rss,
      heapUsed: process.memoryUsage().heapUsed,
      census: { spans: census.spans, names: [...census.names], instruments: [...census.instruments] },
    });
  }
  if (msg === 'exit') {
    server.close();
    process.exit(0);
  }
});
