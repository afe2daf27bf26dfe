// OTEL_METRICS_EXPORTER=prometheus: the exporter's endpoint scraped by a plain GET (always), checked
// by `promtool check metrics` and scraped by a real Prometheus server (when the Debian `prometheus`
// package is installed; skipped with a message otherwise).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runApp } from './helpers/child.js';

function which(bin: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const PROMTOOL = which('promtool');
const PROMETHEUS = which('prometheus');

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function appWithPrometheus(): Promise<{ metricsUrl: string; port: number; appPort: number }> {
  const port = await freePort();
  const app = await runApp({
    OTEL_METRICS_EXPORTER: 'prometheus',
    OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
    OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
    OTEL_TRACES_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    FIXTURE_DOWNSTREAM: 'http://127.0.0.1:1/', // fetch refuses port 1: the handler fails fast, no network
  });
  cleanups.push(() => app.child.kill('SIGKILL'));
  return { metricsUrl: `http://127.0.0.1:${port}/metrics`, port, appPort: app.port };
}

/** Scrapes until the endpoint is up and the event-loop delay gauges have samples (bounded by the test timeout). */
async function scrape(url: string): Promise<string> {
  for (;;) {
    const text = await fetch(url).then(
      (r) => r.text(),
      () => '',
    );
    if (text.includes('nodejs_eventloop_delay_p99{')) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Prometheus exposition', () => {
  it('serves runtime metrics in the text format on OTEL_EXPORTER_PROMETHEUS_PORT', async () => {
    const { metricsUrl } = await appWithPrometheus();
    const text = await scrape(metricsUrl);
    // exporter-prometheus 0.301 keeps the OTel name (dots to underscores) and states the unit in `# UNIT`.
    expect(text).toMatch(/^# HELP v8js_memory_heap_used /m);
    expect(text).toMatch(/^# UNIT v8js_memory_heap_used By$/m);
    expect(text).toMatch(/^# TYPE v8js_memory_heap_used gauge$/m);
    expect(text).toMatch(/^v8js_memory_heap_used\{v8js_heap_space_name="new_space"[^}]*\} \d+/m);
    expect(text).toMatch(/^# UNIT nodejs_eventloop_delay_p99 s$/m);
    expect(text).toMatch(/^# TYPE nodejs_eventloop_delay_p99 gauge$/m);
    expect(text).toMatch(/^v8js_memory_heap_limit\{[^}]*\} [1-9]\d*$/m);
    expect(text).toMatch(/^target_info\{[^}]*service_name="fixture-app"/m);
    // Every sample line is `name{labels} value` with a legal metric name.
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEInfNa]+( \d+)?$/);
    }
    if (PROMTOOL === undefined) {
      console.warn('promtool not installed (Debian package `prometheus`): skipping `promtool check metrics`');
      return;
    }
    const lint = execFileSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.trim()).toBe('');
  });

  it.skipIf(PROMETHEUS === undefined)(
    'is scraped by a real Prometheus server (skipped where the Debian `prometheus` package is missing)',
    async () => {
      const { port } = await appWithPrometheus();
      const dir = await mkdtemp(join(tmpdir(), 'tracewire-prom-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      await writeFile(
        join(dir, 'prometheus.yml'),
        `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`,
      );
      const promPort = await freePort();
      const prom = spawn(
        PROMETHEUS as string,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
        ],
        { stdio: 'ignore' },
      );
      cleanups.push(() => prom.kill('SIGKILL'));
      const query = `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent('v8js_memory_heap_limit')}`;
      let result: { data?: { result?: { metric: Record<string, string> }[] } } = {};
      for (let i = 0; i < 300 && (result.data?.result?.length ?? 0) === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        // Until Prometheus is ready it answers 503 with a text body: keep polling.
        result = (await fetch(query)
          .then((r) => (r.ok ? r.json() : {}))
          .catch(() => ({}))) as typeof result;
      }
      expect(result.data?.result?.[0]?.metric).toMatchObject({
        job: 'app',
        __name__: 'v8js_memory_heap_limit',
      });
    },
    60_000,
  );
});
