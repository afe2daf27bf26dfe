// ESM app: start() with span processors built from the user's OWN @opentelemetry/sdk-trace (the
// SDK 3.x form: `new SimpleSpanProcessor({ exporter })`), then prints the finished spans with
// @tracewire/node's formatSpan.

import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { otelExpress, otelExpressErrorHandler } from '@tracewire/express';
import { formatSpan, start } from '@tracewire/node';
import express from 'express';

const exporter = new InMemorySpanExporter();
const otel = await start({
  serviceName: 'pack-esm',
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
});
console.log(`status ${otel.status}`);

const app = express();
app.use(otelExpress());
app.get('/users/:id', (req, res) => {
  res.json({ id: req.params.id });
});
app.use(otelExpressErrorHandler());
const server = app.listen(0, '127.0.0.1', async () => {
  const res = await fetch(`http://127.0.0.1:${server.address().port}/users/42`, {
    headers: { connection: 'close' },
  });
  console.log(`response ${res.status} ${await res.text()}`);
  server.close(async () => {
    await otel.forceFlush();
    for (const span of exporter.getFinishedSpans()) console.log(formatSpan(span));
    await otel.shutdown();
  });
});
