// The doctor against small fake node_modules trees written to a temp dir, in-process and via the bin.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { apiAccepts, formatDoctorReport, runDoctor } from '../src/index.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

type Tree = Record<
  string,
  { version: string; dependencies?: Record<string, string>; peerDependencies?: Record<string, string> }
>;

/** Writes `<root>/package.json` and one package.json per entry (keys are paths under root). */
async function tree(rootDeps: Record<string, string>, packages: Tree): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'tracewire-doctor-'));
  dirs.push(root);
  await writeFile(
    join(root, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', dependencies: rootDeps }),
  );
  for (const [path, manifest] of Object.entries(packages)) {
    const dir = join(root, path);
    await mkdir(dir, { recursive: true });
    const name = path.split('node_modules/').at(-1);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name, ...manifest }));
  }
  return root;
}

const ENV = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };

describe('doctor', () => {
  it('flags an API copy the registered global will not accept, with who pulls it in and the fix', async () => {
    const root = await tree(
      { '@tracewire/node': '0.1.0', 'legacy-tracing': '2.0.0' },
      {
        'node_modules/@opentelemetry/api': { version: '1.4.1' },
        'node_modules/@opentelemetry/sdk-trace': {
          version: '3.1.0',
          peerDependencies: { '@opentelemetry/api': '>=1.4.0 <1.10.0' },
        },
        'node_modules/@tracewire/node': {
          version: '0.1.0',
          peerDependencies: { '@opentelemetry/api': '^1.10.0' },
        },
        'node_modules/@tracewire/node/node_modules/@opentelemetry/api': { version: '1.10.0' },
        'node_modules/@tracewire/core': {
          version: '0.1.0',
          peerDependencies: { '@opentelemetry/api': '^1.10.0' },
        },
        'node_modules/legacy-tracing': { version: '2.0.0', dependencies: { '@opentelemetry/api': '1.4.1' } },
      },
    );
    const report = await runDoctor({ cwd: root, env: ENV });
    const apis = report.packages.filter((p) => p.name === '@opentelemetry/api');
    expect(apis).toEqual([
      {
        name: '@opentelemetry/api',
        version: '1.4.1',
        path: 'node_modules/@opentelemetry/api',
        requiredBy: expect.arrayContaining([
          '@opentelemetry/sdk-trace@3.1.0',
          '@tracewire/core@0.1.0',
          'legacy-tracing@2.0.0',
        ]),
      },
      {
        name: '@opentelemetry/api',
        version: '1.10.0',
        path: 'node_modules/@tracewire/node/node_modules/@opentelemetry/api',
        requiredBy: ['@tracewire/node@0.1.0'],
      },
    ]);
    // The SDK registers through 1.4.1; a 1.10.0 copy refuses a global of an older minor: no-op.
    const incompatible = report.findings.find((f) => f.code === 'API_INCOMPATIBLE');
    expect(incompatible?.severity).toBe('error');
    expect(incompatible?.message).toContain(
      '1.10.0 at node_modules/@tracewire/node/node_modules/@opentelemetry/api',
    );
    expect(incompatible?.message).toContain('@tracewire/node@0.1.0');
    expect(incompatible?.fix).toContain('"overrides": { "@opentelemetry/api": "1.10.0" }');
  });

  it('warns about a duplicate but compatible API copy, mixed SDK and mixed tracewire versions', async () => {
    const root = await tree(
      {},
      {
        'node_modules/@opentelemetry/api': { version: '1.10.0' },
        'node_modules/@opentelemetry/sdk-trace': { version: '3.1.0' },
        'node_modules/old-lib/node_modules/@opentelemetry/api': { version: '1.9.0' },
        'node_modules/old-lib': {
          version: '1.0.0',
          dependencies: { '@opentelemetry/api': '1.9.0', '@opentelemetry/core': '2.0.0' },
        },
        'node_modules/old-lib/node_modules/@opentelemetry/core': { version: '2.0.0' },
        'node_modules/@opentelemetry/core': { version: '3.1.0' },
        'node_modules/@tracewire/core': { version: '0.1.0' },
        'node_modules/@tracewire/express': { version: '0.2.0' },
      },
    );
    const report = await runDoctor({ cwd: root, env: ENV });
    const codes = report.findings.filter((f) => f.severity !== 'info').map((f) => `${f.severity}:${f.code}`);
    expect(codes.sort()).toEqual([
      'warn:API_DUPLICATE',
      'warn:SDK_DUPLICATE',
      'warn:SDK_MIXED_MAJOR',
      'warn:TRACEWIRE_MIXED',
    ]);
    expect(report.findings.find((f) => f.code === 'TRACEWIRE_MIXED')?.fix).toContain('@tracewire/core@0.2.0');
  });

  it('reports a clean tree and explains the configuration', async () => {
    const root = await tree(
      {},
      {
        'node_modules/@opentelemetry/api': { version: '1.10.0' },
        'node_modules/@opentelemetry/sdk-trace': { version: '3.1.0' },
      },
    );
    const report = await runDoctor({
      cwd: join(root),
      env: { OTEL_TRACES_EXPORTER: 'none', OTEL_TRACES_SAMPLER: 'always_off' },
    });
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(report.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['TRACES_OFF', 'SAMPLER_OFF']));
    const empty = await tree({}, {});
    expect((await runDoctor({ cwd: empty, env: {} })).findings.map((f) => f.code)).toContain('API_MISSING');
  });

  it('reports a Node.js older than engines.node allows as an error, and accepts 22.15+', async () => {
    const root = await tree({}, { 'node_modules/@opentelemetry/api': { version: '1.10.0' } });
    const old = await runDoctor({ cwd: root, env: ENV, nodeVersion: 'v20.20.2' });
    const finding = old.findings.find((f) => f.code === 'NODE_UNSUPPORTED');
    expect(finding?.severity).toBe('error');
    expect(finding?.message).toContain('v20.20.2');
    expect(finding?.fix).toContain('22.15.0');
    expect(formatDoctorReport(old)).toContain('NODE_UNSUPPORTED');
    for (const ok of ['v22.15.0', 'v22.23.3', 'v24.9.0']) {
      const report = await runDoctor({ cwd: root, env: ENV, nodeVersion: ok });
      expect(report.findings.map((f) => f.code)).not.toContain('NODE_UNSUPPORTED');
    }
    const v2214 = await runDoctor({ cwd: root, env: ENV, nodeVersion: 'v22.14.0' });
    expect(v2214.findings.map((f) => f.code)).toContain('NODE_UNSUPPORTED');
  });

  it('checks this process: no provider, context manager or propagator registered', async () => {
    // Nothing is registered globally in this test file.
    const report = await runDoctor({ cwd: process.cwd(), env: ENV, runtime: true });
    const codes = report.findings.map((f) => f.code);
    expect(codes).toEqual(
      expect.arrayContaining(['NOOP_TRACER_PROVIDER', 'NO_CONTEXT_MANAGER', 'NO_PROPAGATOR']),
    );
  });

  it('mirrors the API compatibility rule', () => {
    expect(apiAccepts('1.10.0')('1.4.1')).toBe(true);
    expect(apiAccepts('1.4.1')('1.10.0')).toBe(false);
    expect(apiAccepts('2.0.0')('1.10.0')).toBe(false);
    expect(apiAccepts('1.10.0-rc.1')('1.10.0')).toBe(false);
    expect(apiAccepts('0.3.2')('0.3.1')).toBe(true);
    expect(apiAccepts('0.3.2')('0.4.0')).toBe(false);
  });

  it('`tracewire doctor` prints the report and exits 1 on errors (the built bin)', async () => {
    const root = await tree(
      {},
      {
        'node_modules/@opentelemetry/api': { version: '1.4.1' },
        'node_modules/@opentelemetry/sdk-trace': { version: '3.1.0' },
        'node_modules/instr/node_modules/@opentelemetry/api': { version: '1.9.0' },
        'node_modules/instr': { version: '1.0.0', dependencies: { '@opentelemetry/api': '^1.9.0' } },
      },
    );
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    const run = promisify(execFile);
    const err = await run(process.execPath, [cli, 'doctor', '--cwd', root], {
      env: { PATH: process.env.PATH ?? '' },
    }).catch((e: { code: number; stdout: string }) => e);
    expect('code' in err && err.code).toBe(1);
    const text = (err as { stdout: string }).stdout;
    expect(text).toContain('@opentelemetry/api:\n  1.4.1  node_modules/@opentelemetry/api');
    expect(text).toContain('1.9.0  node_modules/instr/node_modules/@opentelemetry/api  <- instr@1.0.0');
    expect(text).toContain('✖ error API_INCOMPATIBLE');
    expect(text).toContain('1 error(s)');
    const json = await run(process.execPath, [cli, 'doctor', '--json', '--cwd', root], { env: {} }).catch(
      (e: { stdout: string }) => e,
    );
    expect(JSON.parse((json as { stdout: string }).stdout).packages).toHaveLength(3);
    expect(formatDoctorReport(await runDoctor({ cwd: root, env: {} }))).toContain(
      'fix: make the whole tree resolve one',
    );
  });

  it("`tracewire init` through this package's bin runs @tracewire/cli (both declare `tracewire`)", async () => {
    const root = await tree({}, {});
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    const run = promisify(execFile);
    // An app with no entry file: the dry run lists the dependencies it would add and one manual step.
    const out = await run(process.execPath, [cli, 'init', root, '--dry-run'], {
      env: { PATH: process.env.PATH ?? '' },
      cwd: root,
    }).catch((e: { code: number; stdout: string }) => e);
    expect('code' in out && out.code).toBe(1);
    expect((out as { stdout: string }).stdout).toContain('tracewire init: 1 changed, 1 manual, 0 failed');
  });
});
