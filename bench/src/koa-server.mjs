// Koa benchmark server: `VARIANT` picks what is mounted in front of the same handler.
import { createRequire } from 'node:module';
import { census, setupSdk } from './sdk.mjs';

const variant = process.env.VARIANT ?? 'bare';
if (variant === 'tracewire' || variant === 'floor') setupSdk('on');
if (variant === 'tracewire-off') setupSdk('off');

const { default: Koa } = await import('koa');
const { default: Router } = await import('@koa/router');
const { otelKoa } = await import('@tracewire/koa');
const { floorKoaMiddleware } = await import('./floor.mjs');
const { serve } = createRequire(import.meta.url)('./serve.cjs');

const app = new Koa();
if (variant.startsWith('tracewire')) app.use(otelKoa());
if (variant === 'floor') app.use(floorKoaMiddleware());
const router = new Router();
router.get('/users/:id', (ctx) => {
  ctx.body = { id: ctx.params.id };
});
app.use(router.routes());
serve({ listen: (...args) => app.listen(...args) }, census);
