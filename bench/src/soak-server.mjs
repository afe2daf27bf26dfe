// Soak server: Express + tracewire with the SDK (batch processor discarding, every request
// sampled) and a pull metric reader, so the driver can read the active-requests gauge and the
// heap after GC over IPC.
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { otelExpress } from '@tracewire/express';
import express from 'express';

class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  async onShutdown() {}
  async onForceFlush() {}
}

const manager = new AsyncLocalStorageContextManager();
manager.enable();
context.setGlobalContextManager(manager);
let exported = 0;
const exporter = {
  export(spans, done) {
    exported += spans.length;
    done({ code: 0 });
  },
  async shutdown() {},
};
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] }));
const reader = new PullReader();
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

const app = express();
app.use(otelExpress());
app.get('/users/:id', (req, res) => {
  res.json({ id: req.params.id });
});
const server = app.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));

process.on('message', async (msg) => {
  if (msg === 'stats') {
    global.gc();
    global.gc();
    const { resourceMetrics } = await reader.collect();
    let active = 0;
    let durations = 0;
    let series = 0;
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const m of scope.metrics) {
        for (const p of m.dataPoints) {
          if (m.descriptor.name === 'http.server.active_requests') active += p.value;
          if (m.descriptor.name === 'http.server.request.duration') {
            durations += p.value.count;
            series++;
          }
        }
      }
    }
    process.send({
      type: 'stats',
      heapUsed: process.memoryUsage().heapUsed,
      rss: process.memoryUsage().rss,
      active,
      durations,
      series,
      exported,
    });
  }
  if (msg === 'exit') {
    server.close();
    process.exit(0);
  }
});
