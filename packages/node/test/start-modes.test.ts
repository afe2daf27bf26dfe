// How an app loads @tracewire/node: `node -r` (require of the ESM register entry: no top-level
// await anywhere in its graph), `node --import`, CommonJS `require()` + startSync(); and start() next
// to another SDK that registered first (issue 16): one diag error, a returned status, and the
// registered providers keep receiving spans.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { context, DiagLogLevel, diag, metrics, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { start, startSync } from '../src/index.js';
import { runApp } from './helpers/child.js';

const CJS_APP = fileURLToPath(new URL('./fixtures/app.cjs', import.meta.url));
const FOREIGN = fileURLToPath(new URL('./fixtures/foreign-sdk.mjs', import.meta.url));

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Runs app.cjs, sends one request, waits for the exit; returns stdout/stderr and the exit code. */
async function oneRequest(env: Record<string, string>, nodeArgs: string[]) {
  const app = await runApp({ OTEL_TRACES_EXPORTER: 'console', ...env }, CJS_APP, nodeArgs);
  cleanups.push(() => app.child.kill('SIGKILL'));
  const res = await fetch(`http://127.0.0.1:${app.port}/users/42`, { headers: { connection: 'close' } });
  expect(await res.text()).toBe('ok');
  const exit = await app.exited;
  return { exit, stdout: app.stdout(), stderr: app.stderr() };
}

const SPAN_LINE =
  /^\d\d:\d\d:\d\d\.\d{3} server GET \/users\/42 [\d.]+ms trace=[0-9a-f]{32} span=[0-9a-f]{16}/m;

describe('loading @tracewire/node', () => {
  it('node -r @tracewire/node/register app.cjs: the preload starts the SDK and the span is printed', async () => {
    const run = await oneRequest({}, ['-r', '@tracewire/node/register']);
    expect(run.stderr).not.toMatch(/ERR_REQUIRE_ASYNC_MODULE|Error/);
    expect(run.exit.code).toBe(0);
    expect(run.stdout).toMatch(SPAN_LINE);
  });

  it('node --import @tracewire/node/register app.cjs', async () => {
    const run = await oneRequest({}, ['--import', '@tracewire/node/register']);
    expect(run.exit.code).toBe(0);
    expect(run.stdout).toMatch(SPAN_LINE);
  });

  it("CommonJS require('@tracewire/node') + startSync(): started synchronously, the span is printed", async () => {
    const run = await oneRequest({ FIXTURE_START: 'sync' }, []);
    expect(run.exit.code).toBe(0);
    expect(run.stdout).toContain('{"status":"started"}');
    expect(run.stdout).toMatch(SPAN_LINE);
  });

  it('without any preload or start(), nothing is printed (the assertions above can fail)', async () => {
    const run = await oneRequest({}, []);
    expect(run.exit.code).toBe(0);
    expect(run.stdout).not.toMatch(SPAN_LINE);
  });
});

describe('start() next to another SDK (issue 16)', () => {
  it('after --import @opentelemetry/auto-instrumentations-node/register: status foreign-sdk, one diag error, spans reach the official SDK', async () => {
    const child = spawn(
      process.execPath,
      ['--import', '@opentelemetry/auto-instrumentations-node/register', FOREIGN],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          OTEL_TRACES_EXPORTER: 'console',
          OTEL_METRICS_EXPORTER: 'none',
          OTEL_LOGS_EXPORTER: 'none',
          OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http',
          OTEL_SERVICE_NAME: 'official',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    cleanups.push(() => child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code, err).toBe(0);
    const line = out.split('\n').find((l) => l.startsWith('{"status"'));
    const report = JSON.parse(line ?? '{}') as { status: string; message: string; errors: string[] };
    expect(report.status).toBe('foreign-sdk');
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toBe(report.message);
    expect(report.message).toContain(
      'another OpenTelemetry SDK already registered the global tracer provider',
    );
    expect(report.message).toContain('remove');
    // The official SDK's console exporter printed our span: the registered providers are used.
    expect(out).toMatch(/name: 'tracewire-probe'/);
  });

  it('in process: a TracerProvider registered first keeps receiving spans; start() says so once and registers nothing', async () => {
    const exporter = new InMemorySpanExporter();
    const first = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    expect(trace.setGlobalTracerProvider(first)).toBe(true);
    const errors: string[] = [];
    const ignore = (): void => {};
    diag.setLogger(
      { error: (m: string) => errors.push(m), warn: ignore, info: ignore, debug: ignore, verbose: ignore },
      { logLevel: DiagLogLevel.ERROR, suppressOverrideMessage: true },
    );
    cleanups.push(() => {
      trace.disable();
      diag.disable();
    });
    const otel = startSync({ doctor: false, handleSignals: false, httpClient: false, runtimeMetrics: false });
    cleanups.push(() => otel.shutdown());
    expect(otel.status).toBe('foreign-sdk');
    expect(otel.message).toContain('global tracer provider');
    expect(errors).toEqual([otel.message]);
    // A second call returns the same handle and adds no second error.
    const again = await start();
    expect(again).toBe(otel);
    expect(errors).toHaveLength(1);
    trace.getTracer('t').startSpan('after-start').end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['after-start']);
    expect(metrics.getMeterProvider().constructor.name).toBe('NoopMeterProvider');
  });

  it('a started SDK that was shut down releases the globals: start() again is "started", not foreign', async () => {
    const options = {
      doctor: false,
      handleSignals: false,
      httpClient: false,
      env: {
        OTEL_TRACES_EXPORTER: 'console',
        OTEL_METRICS_EXPORTER: 'console',
        OTEL_METRIC_EXPORT_INTERVAL: '600000',
      },
    } as const;
    const a = startSync(options);
    expect(a.status).toBe('started');
    await a.shutdown();
    const b = startSync(options);
    cleanups.push(() => {
      context.disable();
      propagation.disable();
    });
    expect(b.status).toBe('started');
    expect(b).not.toBe(a);
    await b.shutdown();
  });
});

describe('start({ spanProcessors })', () => {
  const base = { doctor: false, handleSignals: false, httpClient: false, runtimeMetrics: false } as const;

  it('rejects a processor built with the pre-3.x signature (it would drop every span) and names the fix', async () => {
    const exporter = new InMemorySpanExporter();
    // The 1.x/2.x form users copy from older examples: the exporter instead of { exporter }.
    const old = new SimpleSpanProcessor(exporter as unknown as { exporter: InMemorySpanExporter });
    expect(() => startSync({ ...base, spanProcessors: [old] })).toThrow(
      /spanProcessors\[0\] \(SimpleSpanProcessor\) has no exporter.*new SimpleSpanProcessor\(\{ exporter \}\)/,
    );
    await expect(start({ ...base, spanProcessors: [{} as never] })).rejects.toThrow(
      /is not a span processor/,
    );
    expect(trace.setGlobalTracerProvider(new TracerProvider())).toBe(true); // nothing was registered
    trace.disable();
  });

  it('the 3.x form receives the spans', async () => {
    const exporter = new InMemorySpanExporter();
    const otel = startSync({ ...base, spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    cleanups.push(() => {
      context.disable();
      propagation.disable();
    });
    expect(otel.status).toBe('started');
    trace.getTracer('t').startActiveSpan('outer', (span) => {
      trace.getTracer('t').startSpan('inner').end();
      span.end();
    });
    await otel.forceFlush();
    const spans = exporter.getFinishedSpans();
    await otel.shutdown();
    expect(spans.map((s) => s.name)).toEqual(['inner', 'outer']);
    expect(spans[0]?.parentSpanContext?.spanId).toBe(spans[1]?.spanContext().spanId);
  });
});
