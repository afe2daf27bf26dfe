// The tarball test (`npm run test:pack`): what `npm i @tracewire/...` gives a user. Builds and packs
// every public package as published (scripts/stage-packages.mjs), installs the tarballs (not the
// workspace) into a scratch project in a temp folder outside the repository, with everything else
// from the npm registry, and runs each way of using them. Every scenario asserts that a real request
// produced a SERVER span named after its route (GET /users/:id, http.route=/users/:id).
// Prints one line per scenario and `test:pack: N passed, N failed`; exits non-zero on a failure.
//
// Needs only the npm registry (and the repository's own esbuild and tsc for the bundle and
// TypeScript scenarios). Node 22 comes from the npm `node` package, as in scripts/test-node-line.sh.
import { execFile, execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packPackages } from './stage-packages.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = join(root, 'scripts', 'pack-fixtures');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const keep = process.argv.includes('--keep');
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)}s`;

const work = mkdtempSync(join(tmpdir(), 'tracewire-pack-'));
const results = [];

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { timeout: opts.timeout ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', ...opts },
      (error, stdout, stderr) => resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr, error }),
    );
  });
}

function record(name, ok, detail) {
  results.push({ name, ok, detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
}

// The span line @tracewire/node's readable console exporter (and formatSpan) prints for the request.
const SPAN =
  /^\d\d:\d\d:\d\d\.\d{3} server GET \/users\/:id 200 [\d.]+ms trace=[0-9a-f]{32} span=[0-9a-f]{16}.*$/m;

/** Runs one app; passes when it answered, exited 0 and printed the SERVER span with its route. */
async function scenario(name, cmd, args, { cwd = app, env = {} } = {}) {
  const r = await run(cmd, args, {
    cwd,
    timeout: 30_000,
    // A clean environment: only what the scenario sets (no OTEL_* from the caller).
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  const span = SPAN.exec(r.stdout)?.[0];
  const answered = r.stdout.includes('response 200 {"id":"42"}');
  const routeAttr = span?.includes('http.route=/users/:id') ?? false;
  const ok = r.code === 0 && answered && span !== undefined && routeAttr;
  const detail = ok
    ? span.replace(/^\S+ /, '').replace(/ trace=.*?(http\.route=\S+).*$/, ' $1')
    : `exit ${r.code}; answered ${answered}; span ${span ?? 'none'}\n--- stdout\n${r.stdout.slice(-2000)}\n--- stderr\n${r.stderr.slice(-3000)}`;
  record(name, ok, detail);
}

function check(name, fn) {
  try {
    const detail = fn();
    record(name, true, detail);
  } catch (error) {
    record(name, false, error instanceof Error ? error.message : String(error));
  }
}

const app = join(work, 'app');
try {
  // 1. Build and pack every public package that has sources (a package scaffolded without any yet is
  //    reported, not packed).
  const packable = [];
  for (const dir of readdirSync(join(root, 'packages')).sort()) {
    const pkgFile = join(root, 'packages', dir, 'package.json');
    if (!existsSync(pkgFile)) continue;
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
    if (pkg.private) continue;
    if (!existsSync(join(root, 'packages', dir, 'src'))) {
      console.log(`note ${pkg.name}: no src/ yet, not packed`);
      continue;
    }
    packable.push(pkg.name);
  }
  execFileSync(
    bin('turbo'),
    ['run', 'build', '--output-logs=errors-only', ...packable.map((n) => `--filter=${n}`)],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  const packed = packPackages(work).filter((p) => packable.includes(p.name));
  console.log(`packed ${packed.length} packages (${elapsed()})`);

  // 2. A scratch project outside the repository: the tarballs plus what a user installs from the
  //    registry (their own SDK copy included, which must be the only one).
  mkdirSync(app, { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'pack-scratch', private: true }, null, 2)}\n`,
  );
  const registry = [
    'express@^5',
    '@opentelemetry/api@^1.9.0',
    '@opentelemetry/sdk-trace@^3',
    'pino@^10',
    '@koa/router@^15',
    '@types/express@^5',
    '@types/pg@^8',
    '@types/node@^24',
    'typescript@^5',
  ];
  const install = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packed.map((p) => p.tarball), ...registry],
    { cwd: app, timeout: 300_000 },
  );
  if (install.code !== 0) {
    record('install tarballs', false, install.stderr.slice(-3000));
    throw new Error('install failed');
  }
  record(
    'install tarballs',
    true,
    `${packed.length} tarballs + ${registry.length} registry packages (${elapsed()})`,
  );

  // 3. What was installed: the published manifests and files, one copy of each shared package.
  check('package contents', () => {
    const problems = [];
    for (const p of packed) {
      const dir = join(app, 'node_modules', ...p.name.split('/'));
      const manifest = readFileSync(join(dir, 'package.json'), 'utf8');
      if (manifest.includes('"source"')) problems.push(`${p.name}: manifest has a "source" condition`);
      if (/\.ts"/.test(manifest.replace(/\.d\.ts"/g, '')))
        problems.push(`${p.name}: manifest points at .ts sources`);
      for (const f of ['LICENSE', 'README.md', 'dist'])
        if (!existsSync(join(dir, f))) problems.push(`${p.name}: no ${f}`);
      if (!readFileSync(join(dir, 'LICENSE'), 'utf8').includes('Apache License'))
        problems.push(`${p.name}: LICENSE`);
      for (const f of ['src', 'test', 'tsconfig.json', 'vitest.config.ts'])
        if (existsSync(join(dir, f))) problems.push(`${p.name}: ships ${f}`);
      const pkg = JSON.parse(manifest);
      for (const field of ['repository', 'homepage', 'bugs', 'license'])
        if (!pkg[field]) problems.push(`${p.name}: no ${field}`);
    }
    if (problems.length > 0) throw new Error(problems.join('; '));
    return `${packed.length} packages: LICENSE, README, dist; no src, no source condition`;
  });
  check("one copy of the API, pino and tracewire; @tracewire/node uses the user's own SDK", () => {
    const copies = (name) => [
      ...new Set(
        execFileSync('npm', ['ls', name, '--all', '--parseable'], { cwd: app, encoding: 'utf8' })
          .split('\n')
          .filter(Boolean),
      ),
    ];
    const version = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
    const out = [];
    for (const name of ['@opentelemetry/api', '@tracewire/core', 'pino']) {
      const paths = copies(name);
      if (paths.length !== 1) throw new Error(`${name}: ${paths.length} copies: ${paths.join(', ')}`);
      out.push(`${name}@${version(paths[0])}`);
    }
    // What @tracewire/node resolves is what the app resolves: the user's copy (the processors and
    // readers the user builds and the providers start() builds come from one SDK).
    for (const name of [
      '@opentelemetry/sdk-trace',
      '@opentelemetry/sdk-metrics',
      '@opentelemetry/resources',
    ]) {
      const fromApp = join(app, 'node_modules', ...name.split('/'));
      const nested = join(app, 'node_modules', '@tracewire', 'node', 'node_modules', ...name.split('/'));
      if (existsSync(nested)) throw new Error(`@tracewire/node has its own ${name}@${version(nested)}`);
      out.push(`${name}@${version(fromApp)}`);
    }
    // Upstream's OTLP exporters pin the SDK exactly; a newer SDK patch then nests their own copy.
    const extra = copies('@opentelemetry/sdk-trace').filter(
      (p) => !p.endsWith(join('app', 'node_modules', '@opentelemetry', 'sdk-trace')),
    );
    if (extra.length > 0)
      out.push(
        `note: upstream exporters nest ${extra.length} exact-pinned sdk-trace copies (${[...new Set(extra.map(version))].join(', ')})`,
      );
    return out.join(', ');
  });
  check('no module-patching loader in the tree', () => {
    for (const name of [
      'require-in-the-middle',
      'import-in-the-middle',
      '@opentelemetry/instrumentation',
      '@opentelemetry/sdk-node',
      '@opentelemetry/otlp-grpc-exporter-base',
    ])
      if (existsSync(join(app, 'node_modules', name))) throw new Error(`${name} is installed`);
    return 'no require-in-the-middle, import-in-the-middle, @opentelemetry/instrumentation, sdk-node, OTLP gRPC';
  });

  // The doctor, run from the installed package on the fresh install: no error; its warnings listed.
  {
    const doctor = await run(
      process.execPath,
      [join(app, 'node_modules', '@tracewire', 'node', 'dist', 'cli.js'), 'doctor', '--json'],
      { cwd: app, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } },
    );
    let findings = [];
    try {
      findings = JSON.parse(doctor.stdout).findings ?? [];
    } catch {}
    const errors = findings.filter((f) => f.severity === 'error').map((f) => f.code);
    const warnings = findings.filter((f) => f.severity === 'warn').map((f) => f.code);
    record(
      'tracewire doctor on the fresh install: no error',
      doctor.code === 0 && errors.length === 0 && doctor.stdout.includes('"findings"'),
      `exit ${doctor.code}; errors [${errors.join(', ')}]; warnings [${warnings.join(', ')}]${doctor.code === 0 ? '' : `\n${doctor.stderr.slice(-1500)}`}`,
    );
  }

  // 4. Node 22 (the lowest line engines allows) from the npm `node` package.
  const node24 = process.execPath;
  const n22 = join(work, 'node22');
  mkdirSync(n22);
  writeFileSync(join(n22, 'package.json'), '{"name":"node22","private":true}\n');
  const got22 = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', 'node@^22'], {
    cwd: n22,
    timeout: 300_000,
  });
  const node22 = join(n22, 'node_modules', '.bin', 'node');
  const v24 = execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim();
  const v22 = got22.code === 0 ? execFileSync(node22, ['--version'], { encoding: 'utf8' }).trim() : undefined;
  if (v22 === undefined) record('Node 22 binary', false, got22.stderr.slice(-2000));
  console.log(`runtimes: ${v24}, ${v22 ?? 'no Node 22'} (${elapsed()})`);

  for (const f of ['app.mjs', 'app.cjs', 'server.cjs', 'server.mjs']) cpSync(join(fixtures, f), join(app, f));
  const consoleEnv = { OTEL_TRACES_EXPORTER: 'console' };

  // 5. Plain Node: ESM, CJS (require) on 22 and 24, -r and --import register.
  await scenario(`esm app: await start({ spanProcessors }) (${v24})`, node24, ['app.mjs']);
  for (const [node, v] of [
    [node22, v22],
    [node24, v24],
  ]) {
    if (v === undefined) continue;
    await scenario(`cjs app: require() + startSync() (${v})`, node, ['app.cjs'], { env: consoleEnv });
    await scenario(
      `node -r @tracewire/node/register server.cjs (${v})`,
      node,
      ['-r', '@tracewire/node/register', 'server.cjs'],
      {
        env: consoleEnv,
      },
    );
    await scenario(
      `node --import @tracewire/node/register server.mjs (${v})`,
      node,
      ['--import', '@tracewire/node/register', 'server.mjs'],
      { env: consoleEnv },
    );
  }

  // 6. TypeScript consumers (strict, skipLibCheck off): node16 and bundler resolution, the latter with
  //    customConditions ["source"]; compiled by TypeScript 5 from the registry (what most users run)
  //    and by the repository's TypeScript 7, then run.
  const compilers = [
    ['TypeScript 5', [node24, join(app, 'node_modules', 'typescript', 'bin', 'tsc')]],
    ['TypeScript 7', [bin('tsc')]],
  ];
  const tsConfigs = {
    'node16 resolution': { module: 'node16', moduleResolution: 'node16' },
    'bundler resolution': { module: 'esnext', moduleResolution: 'bundler', customConditions: ['source'] },
    // A CommonJS TypeScript project: imports compile to require() of our ESM (TypeScript >= 5.8).
    'nodenext resolution, CommonJS output': {
      module: 'nodenext',
      moduleResolution: 'nodenext',
      commonjs: true,
    },
  };
  for (const [compiler, command] of compilers) {
    const version = execFileSync(command[0], [...command.slice(1), '--version'], { encoding: 'utf8' }).trim();
    for (const [kind, extra] of Object.entries(tsConfigs)) {
      const d = join(app, `ts-${compiler.replace(/\W/g, '')}-${kind.replace(/\W/g, '')}`);
      const label = `${version.replace('Version', 'TypeScript')} consumer, ${kind} (strict${extra.customConditions ? ', customConditions ["source"]' : ''})`;
      mkdirSync(d);
      cpSync(join(fixtures, 'app.ts'), join(d, 'app.ts'));
      cpSync(join(fixtures, 'types-all.ts'), join(d, 'types-all.ts'));
      const { commonjs, ...compilerOptions } = extra;
      writeFileSync(join(d, 'package.json'), `{"type":"${commonjs ? 'commonjs' : 'module'}"}\n`);
      writeFileSync(
        join(d, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'es2022',
            strict: true,
            skipLibCheck: false,
            esModuleInterop: true,
            types: ['node'],
            outDir: 'dist',
            ...compilerOptions,
          },
          include: ['*.ts'],
        }),
      );
      const tsc = await run(command[0], [...command.slice(1), '-p', 'tsconfig.json'], {
        cwd: d,
        timeout: 120_000,
      });
      if (tsc.code !== 0) {
        record(label, false, `tsc:\n${tsc.stdout}${tsc.stderr}`.slice(0, 4000));
        continue;
      }
      await scenario(`${label}: compiled and run (${v24})`, node24, ['dist/app.js'], {
        cwd: d,
        env: consoleEnv,
      });
    }
  }

  // 7. esbuild bundles, nothing external, run from a folder with no node_modules at all.
  const bundles = join(work, 'bundles');
  mkdirSync(bundles);
  const esbuild = bin('esbuild');
  const bundleCases = [
    {
      name: 'esbuild ESM bundle',
      entry: 'app.mjs',
      out: 'app.bundle.mjs',
      // esbuild's documented recipe for CommonJS dependencies (express) inside an ESM bundle.
      args: [
        '--format=esm',
        "--banner:js=import { createRequire as __cjsRequire } from 'node:module'; const require = __cjsRequire(import.meta.url);",
      ],
      env: {},
    },
    {
      name: 'esbuild CJS bundle',
      entry: 'app.cjs',
      out: 'app.bundle.cjs',
      args: ['--format=cjs'],
      env: consoleEnv,
    },
  ];
  for (const b of bundleCases) {
    const meta = join(bundles, `${b.out}.meta.json`);
    const built = await run(
      esbuild,
      [
        b.entry,
        '--bundle',
        '--platform=node',
        '--target=node22',
        `--outfile=${join(bundles, b.out)}`,
        `--metafile=${meta}`,
        '--log-level=error',
        ...b.args,
      ],
      { cwd: app, timeout: 120_000 },
    );
    if (built.code !== 0) {
      record(b.name, false, `esbuild:\n${built.stderr}`.slice(0, 4000));
      continue;
    }
    const inputs = Object.keys(JSON.parse(readFileSync(meta, 'utf8')).inputs);
    const patched = inputs.filter((i) =>
      /require-in-the-middle|import-in-the-middle|otlp-grpc|@grpc\/grpc-js/.test(i),
    );
    if (patched.length > 0) {
      record(b.name, false, `bundle contains ${patched.slice(0, 3).join(', ')}`);
      continue;
    }
    await scenario(`${b.name} (nothing external, no node_modules at run time) (${v24})`, node24, [b.out], {
      cwd: bundles,
      env: b.env,
    });
  }

  // 8. The bundled OTLP exporters and runtime metrics work too: the CJS bundle again, exporting
  //    OTLP http/protobuf to a receiver here (traces and metrics, flushed when the app exits).
  if (existsSync(join(bundles, 'app.bundle.cjs'))) {
    const received = [];
    const receiver = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url, type: req.headers['content-type'], body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
    const r = await run(node24, ['app.bundle.cjs'], {
      cwd: bundles,
      timeout: 30_000,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.address().port}`,
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_LOGS_EXPORTER: 'none',
      },
    });
    await new Promise((res) => receiver.close(res));
    const traces = received.filter((q) => q.path === '/v1/traces');
    const metrics = received.filter((q) => q.path === '/v1/metrics');
    const has = (reqs, text) => reqs.some((q) => q.body.includes(Buffer.from(text)));
    const ok =
      r.code === 0 &&
      traces.every((q) => q.type === 'application/x-protobuf') &&
      has(traces, 'GET /users/:id') &&
      has(traces, '/users/:id') &&
      has(metrics, 'http.server.request.duration') &&
      has(metrics, 'nodejs.eventloop.utilization') &&
      has(metrics, 'v8js.memory.heap.used');
    record(
      `esbuild CJS bundle exporting OTLP http/protobuf (${v24})`,
      ok,
      ok
        ? `${traces.length} trace and ${metrics.length} metric requests: span GET /users/:id, http.server.request.duration, nodejs.eventloop.*, v8js.*`
        : `exit ${r.code}; ${traces.length} trace / ${metrics.length} metric requests\n${r.stderr.slice(-2000)}`,
    );
  }
} catch (error) {
  if (!results.some((r) => !r.ok))
    record('test:pack', false, error instanceof Error ? error.stack : String(error));
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`test:pack: ${passed} passed, ${failed} failed (${elapsed()})`);
process.exit(failed === 0 ? 0 : 1);
