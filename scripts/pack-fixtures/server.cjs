// CommonJS app with no OpenTelemetry code: run as `node -r @tracewire/node/register server.cjs`.
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
