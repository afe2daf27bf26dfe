// One benchmark server process: `VARIANT` picks what is mounted in front of the same handler.
import { createRequire } from 'node:module';
import { census, setupSdk } from './sdk.mjs';

const variant = process.env.VARIANT ?? 'bare';
if (variant === 'tracewire' || variant === 'floor') setupSdk('on');
if (variant === 'tracewire-off') setupSdk('off');

const { default: express } = await import('express');
const { otelExpress } = await import('@tracewire/express');
const { floorMiddleware } = await import('./floor.mjs');
const { serve } = createRequire(import.meta.url)('./serve.cjs');

const app = express();
if (variant.startsWith('tracewire')) app.use(otelExpress());
if (variant === 'floor') app.use(floorMiddleware());
app.get('/users/:id', (req, res) => {
  res.json({ id: req.params.id });
});
serve(app, census);
