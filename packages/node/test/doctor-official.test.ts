// The doctor beside the official OpenTelemetry instrumentation: fixture trees with and without the
// official packages (written to a temp dir), and the in-process check of double spans on real
// requests through core's server lifecycle under another SERVER span.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, SpanKind, trace } from '@opentelemetry/api';
import {
  getInstrumentationRuntimeFindings,
  HttpServerInstrumentation,
  resetInstrumentationRuntimeFindings,
} from '@tracewire/core';
import { createTelemetry, startServer } from '@tracewire/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { formatDoctorReport, runDoctor } from '../src/doctor.js';

const dirs: string[] = [];
const telemetry = createTelemetry();
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  resetInstrumentationRuntimeFindings();
  telemetry.reset();
});
afterAll(() => telemetry.shutdown());

type Tree = Record<string, { version: string; dependencies?: Record<string, string> }>;

async function tree(rootDeps: Record<string, string>, packages: Tree): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'tracewire-doctor-official-'));
  dirs.push(root);
  await writeFile(
    join(root, 'package.json'),
    JSON.stringify({ name: 'svc', version: '1.0.0', dependencies: rootDeps }),
  );
  for (const [path, manifest] of Object.entries(packages)) {
    const dir = join(root, path);
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: path.split('node_modules/').at(-1), ...manifest }),
    );
  }
  return root;
}

const ENV = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
const BASE: Tree = {
  'node_modules/@opentelemetry/api': { version: '1.10.0' },
  'node_modules/@opentelemetry/sdk-trace': { version: '3.1.0' },
  'node_modules/@tracewire/core': { version: '0.1.0' },
  'node_modules/@tracewire/express': { version: '0.1.0', dependencies: { '@tracewire/core': '0.1.0' } },
  'node_modules/@tracewire/pg': { version: '0.1.0', dependencies: { '@tracewire/core': '0.1.0' } },
  'node_modules/@tracewire/node': { version: '0.1.0', dependencies: { '@tracewire/core': '0.1.0' } },
};
const TRACEWIRE_DEPS = {
  '@tracewire/express': '0.1.0',
  '@tracewire/pg': '0.1.0',
  '@tracewire/node': '0.1.0',
};

describe('doctor beside the official instrumentation', () => {
  it('a tree without official instrumentations: no OFFICIAL_* finding', async () => {
    const root = await tree(TRACEWIRE_DEPS, BASE);
    const report = await runDoctor({ cwd: root, env: ENV });
    expect(report.findings.filter((f) => f.code.startsWith('OFFICIAL'))).toEqual([]);
  });

  it('auto-instrumentations-node beside tracewire: one finding naming the --import to remove and the instrumentations to disable', async () => {
    const auto = {
      '@opentelemetry/instrumentation-http': '0.301.0',
      '@opentelemetry/instrumentation-express': '0.72.0',
      '@opentelemetry/instrumentation-pg': '0.77.0',
      '@opentelemetry/instrumentation-undici': '0.34.0',
    };
    const root = await tree(
      { ...TRACEWIRE_DEPS, '@opentelemetry/auto-instrumentations-node': '0.82.0' },
      {
        ...BASE,
        'node_modules/@opentelemetry/auto-instrumentations-node': { version: '0.82.0', dependencies: auto },
        'node_modules/@opentelemetry/instrumentation-http': { version: '0.301.0' },
        'node_modules/@opentelemetry/instrumentation-express': { version: '0.72.0' },
        'node_modules/@opentelemetry/instrumentation-pg': { version: '0.77.0' },
        'node_modules/@opentelemetry/instrumentation-undici': { version: '0.34.0' },
      },
    );
    const report = await runDoctor({ cwd: root, env: ENV });
    const official = report.findings.filter((f) => f.code.startsWith('OFFICIAL'));
    // The instrumentations come only through auto-instrumentations-node: one finding, not five.
    expect(official.map((f) => f.code)).toEqual(['OFFICIAL_AUTO_INSTRUMENTATIONS']);
    const [finding] = official;
    expect(finding?.severity).toBe('warn');
    expect(finding?.message).toContain('@opentelemetry/auto-instrumentations-node@0.82.0');
    expect(finding?.message).toContain('required by (root)');
    expect(finding?.fix).toContain('--import @opentelemetry/auto-instrumentations-node/register');
    expect(finding?.fix).toContain('OTEL_NODE_DISABLED_INSTRUMENTATIONS=http,undici,express,pg');
    // The official packages are listed with who pulls them in.
    expect(report.packages.find((p) => p.name === '@opentelemetry/instrumentation-pg')?.requiredBy).toEqual([
      '@opentelemetry/auto-instrumentations-node@0.82.0',
    ]);
  });

  it('NodeSDK with instrumentation-http, -express and -pg in package.json: one finding per overlap, each saying what to remove', async () => {
    const root = await tree(
      {
        ...TRACEWIRE_DEPS,
        '@opentelemetry/instrumentation-http': '0.301.0',
        '@opentelemetry/instrumentation-express': '0.72.0',
        '@opentelemetry/instrumentation-pg': '0.77.0',
        '@opentelemetry/instrumentation-koa': '0.72.0',
      },
      {
        ...BASE,
        'node_modules/@opentelemetry/instrumentation-http': { version: '0.301.0' },
        'node_modules/@opentelemetry/instrumentation-express': { version: '0.72.0' },
        'node_modules/@opentelemetry/instrumentation-pg': { version: '0.77.0' },
        // No @tracewire/koa here: the Koa instrumentation overlaps nothing.
        'node_modules/@opentelemetry/instrumentation-koa': { version: '0.72.0' },
      },
    );
    const report = await runDoctor({ cwd: root, env: ENV });
    const official = report.findings.filter((f) => f.code === 'OFFICIAL_INSTRUMENTATION');
    expect(official.map((f) => f.message.split(' ')[0])).toEqual([
      '@opentelemetry/instrumentation-http',
      '@opentelemetry/instrumentation-express',
      '@opentelemetry/instrumentation-pg',
    ]);
    for (const f of official) {
      const name = f.message.split(' ')[0];
      expect(f.fix).toContain(`npm uninstall ${name}`);
      expect(f.message).toContain('required by (root)');
    }
    expect(official[0]?.message).toContain("officialServerSpan: 'reuse'");
    expect(report.findings.some((f) => f.code === 'OFFICIAL_AUTO_INSTRUMENTATIONS')).toBe(false);
    expect(formatDoctorReport(report)).toContain('OFFICIAL_INSTRUMENTATION');
  });

  it('official instrumentations without any tracewire package: nothing to say about them', async () => {
    const root = await tree(
      { '@opentelemetry/auto-instrumentations-node': '0.82.0' },
      {
        'node_modules/@opentelemetry/api': { version: '1.10.0' },
        'node_modules/@opentelemetry/auto-instrumentations-node': { version: '0.82.0' },
      },
    );
    const report = await runDoctor({ cwd: root, env: ENV });
    expect(report.findings.filter((f) => f.code.startsWith('OFFICIAL'))).toEqual([]);
  });

  it('in-process: requests that got two SERVER spans are found, with the path and the option to change', async () => {
    const root = await tree(TRACEWIRE_DEPS, BASE);
    const clean = await runDoctor({ cwd: root, env: ENV, runtime: true });
    expect(clean.findings.some((f) => f.code === 'DOUBLE_SERVER_SPANS')).toBe(false);

    // Another instrumentation's SERVER span is active when tracewire's lifecycle starts (what
    // instrumentation-http does around the 'request' listener), and tracewire is told to make its own.
    const options = { tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider };
    const own = new HttpServerInstrumentation(
      { ...options, officialServerSpan: 'own' },
      { name: '@tracewire/express', version: '0.1.0' },
    );
    const outer = telemetry.tracerProvider.getTracer('other-http-instrumentation');
    const server = await startServer((req, res) => {
      const span = outer.startSpan('GET', { kind: SpanKind.SERVER });
      context.with(trace.setSpan(context.active(), span), () => {
        const handle = own.start(req, res);
        res.on('close', () => span.end());
        context.with(handle?.context ?? context.active(), () => res.end('ok'));
      });
    });
    try {
      for (const path of ['/orders/1', '/orders/2']) await (await fetch(`${server.url}${path}`)).text();
    } finally {
      await server.close();
    }
    const spans = await telemetry.waitForSpans(4);
    expect(spans.filter((s) => s.kind === SpanKind.SERVER)).toHaveLength(4);
    expect(getInstrumentationRuntimeFindings().nestedServerSpans).toBe(2);

    const report = await runDoctor({ cwd: root, env: ENV, runtime: true });
    const double = report.findings.find((f) => f.code === 'DOUBLE_SERVER_SPANS');
    expect(double?.severity).toBe('error');
    expect(double?.message).toContain('2 request(s) got two SERVER spans');
    expect(double?.message).toContain('/orders/1 (@tracewire/express)');
    expect(double?.fix).toContain("officialServerSpan: 'own'");
  });
});
