// start() in a real child process, exporting OTLP/HTTP to a receiver in the test.

import { startServer, type TestServer } from '@tracewire/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { runApp } from './helpers/child.js';
import { type Receiver, startBlackhole, startReceiver } from './helpers/otlp.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}

async function downstream(): Promise<{
  server: TestServer;
  headers: Record<string, string | string[] | undefined>[];
}> {
  const headers: Record<string, string | string[] | undefined>[] = [];
  const server = await startServer((req, res) => {
    headers.push(req.headers);
    res.end('down');
  });
  cleanups.push(() => server.close());
  return { server, headers };
}

const RUNTIME = [
  ['nodejs.eventloop.delay.p99', 's'],
  ['nodejs.eventloop.utilization', '1'],
  ['v8js.memory.heap.used', 'By'],
  ['v8js.memory.heap.limit', 'By'],
  ['process.memory.usage', 'By'],
  ['v8js.resource.active', '{resource}'],
] as const;

describe.each(['http/protobuf', 'http/json'])('start() exporting OTLP over %s', (protocol) => {
  it('exports server and client spans, runtime and client metrics, then flushes on SIGTERM', async () => {
    const otlp = await receiver();
    const down = await downstream();
    const app = await runApp({
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_METRIC_EXPORT_INTERVAL: '300',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_LOGS_EXPORTER: 'none',
      FIXTURE_DOWNSTREAM: `${down.server.url}/down`,
    });
    cleanups.push(() => app.child.kill('SIGKILL'));
    const res = await fetch(`http://127.0.0.1:${app.port}/hello`);
    expect(await res.text()).toBe('ok');

    await otlp.waitFor(() => otlp.spans().length >= 3);
    const spans = otlp.spans();
    const server = spans.find((s) => s.name === 'GET /hello');
    expect(server?.resource['service.name']).toBe('fixture-app');
    expect(server?.resource['service.version']).toBe('1.2.3');
    expect(server?.resource['process.pid']).toBeDefined();
    expect(server?.resource['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(server?.resource['host.name']).toBeDefined();
    const clients = spans.filter((s) => s.kind === 3); // SPAN_KIND_CLIENT
    expect(clients).toHaveLength(2); // fetch and http.get; the exporter's own requests are not traced
    for (const c of clients) {
      expect(c.name).toBe('GET');
      expect(c.parentSpanId).toBe(server?.spanId);
      expect(c.traceId).toBe(server?.traceId);
      expect(c.attributes['http.response.status_code']).toBe(protocol === 'http/json' ? 200 : '200');
      expect(c.attributes['url.full']).toBe(`${down.server.url}/down`);
    }
    // The downstream saw the client spans' ids in traceparent.
    const sent = down.headers.map((h) => h.traceparent);
    expect(sent).toHaveLength(2);
    for (const c of clients) expect(sent).toContain(`00-${c.traceId}-${c.spanId}-01`);

    await otlp.waitFor(() => {
      const names = new Set(otlp.metrics().map((m) => m.name));
      return RUNTIME.every(([n]) => names.has(n)) && names.has('http.client.request.duration');
    });
    const metrics = otlp.metrics();
    for (const [name, unit] of RUNTIME) expect(metrics.find((m) => m.name === name)?.unit, name).toBe(unit);
    const duration = metrics.find((m) => m.name === 'http.client.request.duration');
    expect(duration).toMatchObject({ unit: 's', type: 'histogram' });
    expect(metrics.find((m) => m.name === 'http.client.open_connections')?.unit).toBe('{connection}');
    const contentTypes = new Set(otlp.requests.map((r) => r.contentType));
    expect([...contentTypes]).toEqual([
      protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
    ]);

    const before = otlp.requests.length;
    app.child.kill('SIGTERM');
    const exit = await app.exited;
    // The signal is re-raised after the flush: the process ends as SIGTERM would have ended it.
    expect(exit.signal).toBe('SIGTERM');
    expect(otlp.requests.length).toBeGreaterThan(before); // final flush reached the receiver
  });
});

describe('start() robustness', () => {
  it('shuts down within its timeout on SIGTERM while the exporter endpoint hangs, and keeps serving meanwhile', async () => {
    const hole = await startBlackhole();
    cleanups.push(() => hole.close());
    const app = await runApp({
      OTEL_EXPORTER_OTLP_ENDPOINT: hole.url,
      OTEL_METRIC_EXPORT_INTERVAL: '200',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_EXPORTER_OTLP_TIMEOUT: '60000', // the exporter alone would wait a minute
      OTEL_LOGS_EXPORTER: 'none',
      TRACEWIRE_SHUTDOWN_TIMEOUT: '1000',
    });
    cleanups.push(() => app.child.kill('SIGKILL'));
    // Requests keep being answered while every export hangs (exports never block the request path).
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`http://127.0.0.1:${app.port}/r${i % 5}`);
      expect(await res.text()).toBe('ok');
    }
    const sentAt = performance.now();
    app.child.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit.signal).toBe('SIGTERM');
    // Bounded: the configured 1000 ms plus slack for a loaded CI machine, far below the 60 s export timeout.
    expect(exit.at - sentAt).toBeLessThan(1000 + 4000);
  });

  it("lets the process exit by itself when the app closes its server (no ref'd timers), flushing first", async () => {
    const otlp = await receiver();
    const app = await runApp({
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_METRIC_EXPORT_INTERVAL: '60000',
      OTEL_BSP_SCHEDULE_DELAY: '60000',
      OTEL_LOGS_EXPORTER: 'none',
      FIXTURE_MODE: 'close-after',
    });
    cleanups.push(() => app.child.kill('SIGKILL'));
    await (await fetch(`http://127.0.0.1:${app.port}/once`, { headers: { connection: 'close' } })).text();
    const exit = await app.exited; // the vitest timeout fails the test if it never comes
    expect(exit).toMatchObject({ code: 0, signal: null });
    // Nothing was due yet (60 s delays): the span and the metrics arrived through the exit flush.
    expect(otlp.spans().map((s) => s.name)).toContain('GET /once');
    expect(otlp.metrics().some((m) => m.name === 'v8js.memory.heap.used')).toBe(true);
  });

  it('prints readable console lines when nothing is configured', async () => {
    const app = await runApp({ FIXTURE_MODE: 'close-after' });
    cleanups.push(() => app.child.kill('SIGKILL'));
    await (await fetch(`http://127.0.0.1:${app.port}/local`, { headers: { connection: 'close' } })).text();
    const exit = await app.exited;
    expect(exit.code).toBe(0);
    const line = app
      .stdout()
      .split('\n')
      .find((l) => l.includes('GET /local'));
    expect(line).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} server GET \/local [\d.]+ms trace=[0-9a-f]{32} span=[0-9a-f]{16}/,
    );
    expect(app.stderr()).toBe('');
  });

  it('honours OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none', async () => {
    for (const env of [{ OTEL_SDK_DISABLED: 'true' }, { OTEL_TRACES_EXPORTER: 'none' }] as Record<
      string,
      string
    >[]) {
      const app = await runApp({ ...env, FIXTURE_MODE: 'close-after' });
      cleanups.push(() => app.child.kill('SIGKILL'));
      await (await fetch(`http://127.0.0.1:${app.port}/x`, { headers: { connection: 'close' } })).text();
      expect((await app.exited).code).toBe(0);
      expect(app.stdout()).not.toContain('GET /x');
    }
  });
});
