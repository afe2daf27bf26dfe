// The official OpenTelemetry auto-instrumentation (instrumentation-http + instrumentation-express),
// registered before express is loaded, with the same SDK set-up as the tracewire variants.
const { setupSdk, census } = require('./sdk.mjs');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express');

setupSdk(process.env.VARIANT === 'official-off' ? 'off' : 'on');
registerInstrumentations({ instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()] });

const express = require('express');
const { serve } = require('./serve.cjs');

const app = express();
app.get('/users/:id', (req, res) => {
  res.json({ id: req.params.id });
});
serve(app, census);
