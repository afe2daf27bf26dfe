// CommonJS app: require() and the synchronous startSync(); spans go to the readable console exporter
// (OTEL_TRACES_EXPORTER=console) and are flushed when the process runs out of work.
const { startSync } = require('@tracewire/node');

const otel = startSync({ serviceName: 'pack-cjs' });
console.log(`status ${otel.status}`);

const express = require('express');
const { otelExpress, otelExpressErrorHandler } = require('@tracewire/express');

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
  server.close();
});
