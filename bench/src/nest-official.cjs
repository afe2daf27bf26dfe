// The official auto-instrumentation for NestJS (instrumentation-http + -express + -nestjs-core),
// registered before Nest is loaded, with the same SDK set-up as the tracewire variants.
const { setupSdk, census } = require('./sdk.mjs');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express');
const { NestInstrumentation } = require('@opentelemetry/instrumentation-nestjs-core');

setupSdk(process.env.VARIANT === 'official-off' ? 'off' : 'on');
registerInstrumentations({
  instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation(), new NestInstrumentation()],
});

const { serveNest } = require('./nest-app.cjs');
serveNest([], census);
