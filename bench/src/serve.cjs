// Listens on 127.0.0.1:0 and answers the benchmark driver over IPC (ready, stats, exit).
function serve(app, census) {
  const server = app.listen(0, '127.0.0.1', () => {
    process.send?.({ type: 'ready', port: server.address().port });
  });
  process.on('message', (msg) => {
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
      server.close();
      process.exit(0);
    }
  });
  return server;
}
module.exports = { serve };
