// tracewire incident demo: four services, normal traffic, then the sale: orders' gRPC calls to
// payments queue behind payments' limit of concurrent streams and miss their deadline.
// The runner starts everything, drives the traffic, stops everything, then shows what the
// telemetry says about one failed order.
import { writeFileSync } from 'node:fs';
import { printNote } from './print.js';
import { type Fleet, SERVICE_NAMES, startFleet } from './runner/children.js';
import { type Receiver, startReceiver } from './runner/receiver.js';
import { printReport } from './runner/report.js';
import { type Exchange, type PhasePlan, type PhaseRun, runPhase } from './runner/traffic.js';

const startedAt = Date.now();
const short = process.env.DEMO_SHORT === '1' || process.argv.includes('--short');
const externalEndpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined;
const dumpPath = process.env.DEMO_DUMP || undefined;

const MAX_STREAMS = 4;
const DEADLINE_MS = 250;
const plans: PhasePlan[] = [
  { name: 'normal', durationMs: short ? 2500 : 4000, concurrency: 2, thinkMs: 40 },
  { name: 'incident', durationMs: short ? 3500 : 6000, concurrency: 20, thinkMs: 0 },
  // After the sale: the normal load again, once a metric export interval has passed.
  { name: 'after', durationMs: short ? 2000 : 2500, concurrency: 2, thinkMs: 40, pauseBeforeMs: 750 },
];

let receiver: Receiver | undefined;
let fleet: Fleet | undefined;
let stopping: Promise<void> | undefined;

async function stopEverything(): Promise<void> {
  stopping ??= (async () => {
    await fleet?.stop();
    await receiver?.close();
  })();
  return stopping;
}

process.on('SIGINT', () => {
  process.stderr.write('\ninterrupted: stopping every service...\n');
  void stopEverything().then(() => process.exit(130));
});
process.on('SIGTERM', () => {
  void stopEverything().then(() => process.exit(143));
});

function telemetryEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const common = {
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_LOGS_EXPORTER: 'otlp',
    // OTLP for the receiver (or your collector) and a Prometheus scrape endpoint per service.
    OTEL_METRICS_EXPORTER: 'otlp,prometheus',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_BLRP_SCHEDULE_DELAY: '200',
  };
  if (externalEndpoint !== undefined)
    return { ...env, ...common, OTEL_METRIC_EXPORT_INTERVAL: env.OTEL_METRIC_EXPORT_INTERVAL ?? '5000' };
  return {
    ...env,
    ...common,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver?.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    // Per-interval values make "before vs during" a sum over the phase.
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta',
    OTEL_METRIC_EXPORT_INTERVAL: '500',
  };
}

try {
  if (externalEndpoint === undefined) receiver = await startReceiver();
  printNote(
    externalEndpoint === undefined
      ? `OTLP/HTTP JSON receiver (the demo's display) on ${receiver?.endpoint}`
      : `exporting to OTEL_EXPORTER_OTLP_ENDPOINT=${externalEndpoint}`,
  );
  fleet = await startFleet({
    env: telemetryEnv(),
    readyTimeoutMs: 30_000,
    settings: {
      payments: { PAYMENTS_MAX_STREAMS: String(MAX_STREAMS), PAYMENTS_AUTHORIZE_MS: '60' },
      orders: { PAYMENTS_DEADLINE_MS: String(DEADLINE_MS) },
    },
  });
  for (const name of SERVICE_NAMES) {
    const child = fleet.children.get(name);
    printNote(
      `${name.padEnd(9)} pid ${child?.pid}  127.0.0.1:${child?.port}  metrics http://127.0.0.1:${child?.prometheusPort}/metrics`,
    );
  }
  const gateway = `http://127.0.0.1:${fleet.children.get('gateway')?.port}`;
  const exchanges: Exchange[] = [];
  const phases: PhaseRun[] = [];
  for (const plan of plans) {
    printNote(`${plan.name}: ${plan.concurrency} concurrent customers for ${plan.durationMs / 1000} s ...`);
    phases.push(await runPhase(gateway, plan, exchanges));
  }
  printNote('stopping the services (they flush their telemetry on the way out) ...');
  const prometheus = await scrapeOnce(fleet);
  await stopEverything();
  const report = printReport({
    receiver,
    externalEndpoint,
    fleet,
    exchanges,
    phases,
    deadlineMs: DEADLINE_MS,
    startedAt,
    prometheus,
  });
  if (dumpPath !== undefined) {
    writeFileSync(
      dumpPath,
      JSON.stringify(
        {
          mode: externalEndpoint === undefined ? 'receiver' : 'external',
          short,
          startedAt,
          endedAt: Date.now(),
          maxStreams: MAX_STREAMS,
          deadlineMs: DEADLINE_MS,
          phases,
          children: [...fleet.children.values()].map((c) => ({
            name: c.name,
            pid: c.pid,
            port: c.port,
            prometheusPort: c.prometheusPort,
            exitCode: c.exitCode,
            signal: c.signal,
            stderr: c.stderr,
          })),
          exchanges,
          report,
          spans: receiver?.spans ?? [],
          metrics: receiver?.metrics ?? [],
          otlpLogs: receiver?.logs ?? [],
          logs: fleet.logs,
          rawStdout: fleet.rawStdout,
          rejected: receiver?.rejected ?? [],
        },
        null,
        1,
      ),
    );
  }
} catch (error) {
  process.stderr.write(`demo failed: ${(error as Error).stack ?? error}\n`);
  for (const child of fleet?.children.values() ?? []) {
    if (child.stderr.length > 0)
      process.stderr.write(`--- ${child.name} stderr\n${child.stderr.join('\n')}\n`);
  }
  await stopEverything();
  process.exitCode = 1;
}

/** One scrape of each service's Prometheus endpoint: proof that it is there, for the report. */
async function scrapeOnce(f: Fleet): Promise<Record<string, { ok: boolean; series: number }>> {
  const result: Record<string, { ok: boolean; series: number }> = {};
  for (const child of f.children.values()) {
    try {
      const text = await (await fetch(`http://127.0.0.1:${child.prometheusPort}/metrics`)).text();
      result[child.name] = {
        ok: true,
        series: text.split('\n').filter((l) => l && !l.startsWith('#')).length,
      };
    } catch {
      result[child.name] = { ok: false, series: 0 };
    }
  }
  return result;
}
