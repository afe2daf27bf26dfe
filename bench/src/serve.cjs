// IPC with the benchmark driver: `stats` (CPU, memory after GC, span/metric census) and `exit`.
function answerDriver(census, close) {
  process.on('message', async (msg) => {
    if (msg === 'stats') {
      global.gc?.();
      const mem = process.memoryUsage();
      process.send?.({
        type: 'stats',
        cpu: process.cpuUsage(),
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        census: { spans: census.spans, names: [...census.names], instruments: [...census.instruments] },
      });
    }
    if (msg === 'exit') {
      await close();
      process.exit(0);
    }
  });
}

/** Listens on 127.0.0.1:0, tells the driver the port, and answers it. */
function serve(app, census) {
  const server = app.listen(0, '127.0.0.1', () => {
    process.send?.({ type: 'ready', port: server.address().port });
  });
  answerDriver(census, () => server.close());
  return server;
}

module.exports = { answerDriver, serve };
