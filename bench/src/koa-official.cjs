// The official auto-instrumentation for Koa (instrumentation-http + instrumentation-koa),
// registered before koa is loaded, with the same SDK set-up as the tracewire variants.
const { setupSdk, census } = require('./sdk.mjs');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { KoaInstrumentation } = require('@opentelemetry/instrumentation-koa');

setupSdk(process.env.VARIANT === 'official-off' ? 'off' : 'on');
registerInstrumentations({ instrumentations: [new HttpInstrumentation(), new KoaInstrumentation()] });

const Koa = require('koa');
const Router = require('@koa/router');
const { serve } = require('./serve.cjs');

const app = new Koa();
const router = new Router();
router.get('/users/:id', (ctx) => {
  ctx.body = { id: ctx.params.id };
});
app.use(router.routes());
serve({ listen: (...args) => app.listen(...args) }, census);
