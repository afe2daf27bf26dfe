// Safe by construction: dirty trees, --dry-run, what init cannot place, hand-written calls, files it
// cannot parse, opt-in problem+json, uninstall after later edits, the command line and the doctor.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, MANIFEST, main } from '../src/index.js';
import { commitAll, init, prepare, snapshot } from './helpers.js';

describe('a dirty git tree', () => {
  it('is refused (exit 3, nothing written) unless --force', () => {
    const dir = prepare('express-esm', 'dirty');
    writeFileSync(join(dir, 'orders.js'), `${readFileSync(join(dir, 'orders.js'), 'utf8')}// wip\n`);
    const before = snapshot(dir);
    const refused = init(dir);
    expect(refused.exitCode).toBe(EXIT.refused);
    expect(refused.output).toContain('uncommitted changes');
    expect(refused.output).toContain('orders.js');
    expect(refused.summary).toBe('tracewire init: 0 changed, 0 manual, 0 failed');
    expect(snapshot(dir)).toEqual(before);

    const forced = init(dir, { force: true });
    expect(forced.exitCode).toBe(EXIT.ok);
    expect(readFileSync(join(dir, 'server.js'), 'utf8')).toContain('app.use(otelExpress())');
  });

  it('outside git is refused too (nothing to review the change with) unless --force', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tracewire-init-'));
    try {
      writeFileSync(join(dir, 'package.json'), '{ "name": "x" }\n');
      expect(init(dir).exitCode).toBe(EXIT.refused);
      expect(init(dir).output).toContain('not a git repository');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--dry-run', () => {
  it('prints a unified diff of every file it would change and writes nothing', () => {
    const dir = prepare('express-esm', 'dry-run');
    const before = snapshot(dir);
    const result = init(dir, { dryRun: true });
    expect(result.exitCode).toBe(EXIT.ok);
    expect(snapshot(dir)).toEqual(before);
    expect(result.changed.sort()).toEqual(['package.json', 'server.js']);
    expect(result.output).toContain(
      [
        '--- a/server.js',
        '+++ b/server.js',
        '@@ -1,9 +1,12 @@',
        ' // biome-ignore-all format: the fixture keeps its own style (double quotes, no semicolons) on purpose',
        ' // Orders service: an Express 5 app in ESM, written in a style tracewire must keep byte for byte.',
        '+import "@tracewire/node/register"',
        ' import express from "express"',
        ' import { ordersRouter } from "./orders.js"',
        '+import { otelExpress } from "@tracewire/express"',
        ' ',
        ' const app = express() // the one app',
        '+app.use(otelExpress())',
      ].join('\n'),
    );
    expect(result.output).toContain('+    "@tracewire/express": "^0.1.0",');
    expect(result.output.trimEnd().split('\n').at(-1)).toBe('tracewire init: 2 changed, 0 manual, 0 failed');
  });

  it('on a dirty tree it still runs (it writes nothing)', () => {
    const dir = prepare('koa', 'dry-run-dirty');
    writeFileSync(join(dir, 'notes.txt'), 'wip\n');
    expect(init(dir, { dryRun: true }).exitCode).toBe(EXIT.ok);
  });
});

describe('what init cannot place with certainty', () => {
  it('prints the snippet with file and line and exits 1 instead of guessing', () => {
    const dir = prepare('unplaceable');
    const before = snapshot(dir);
    const result = init(dir);
    expect(result.exitCode).toBe(EXIT.manual);
    expect(result.summary).toBe('tracewire init: 1 changed, 2 manual, 0 failed');
    expect(result.output).toContain(
      '  ! index.js:5: Express app not assigned to a variable in a statement list; add by hand:\n      app.use(otelExpress()); // right after the app is created, before any route',
    );
    expect(result.output).toContain('two candidate entry files (index.js, cli.js)');
    expect(result.output).toContain("import '@tracewire/node/register';");
    // Only the dependencies were added; the sources are untouched.
    for (const [file, text] of before)
      if (file !== 'package.json') expect(snapshot(dir).get(file)).toBe(text);
    expect(result.manual.map((m) => `${m.file}:${m.line}`)).toEqual(['index.js:5', 'package.json:1']);
  });
});

describe('idempotence', () => {
  it('recognises hand-written tracewire calls and adds nothing', () => {
    const dir = prepare('express-esm', 'hand-written');
    const server = join(dir, 'server.js');
    const text = readFileSync(server, 'utf8')
      .replace(
        'import express from "express"',
        'import "@tracewire/node/register"\nimport express from "express"\nimport { otelExpress as tracing } from "@tracewire/express"',
      )
      .replace('app.use(express.json())', 'app.use(tracing())\napp.use(express.json())');
    writeFileSync(server, text);
    commitAll(dir, 'hand-written');
    const before = snapshot(dir);
    const result = init(dir);
    expect(result.exitCode).toBe(EXIT.ok);
    expect(result.changed).toEqual([]);
    expect(result.output).toContain('otelExpress() is already used at server.js:');
    expect(result.output).toContain('the OpenTelemetry bootstrap (@tracewire/node) is already loaded');
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('byte fidelity', () => {
  it('CRLF files get CRLF lines; offsets stay right after non-ASCII text; uninstall restores the bytes', () => {
    const dir = prepare('koa', 'crlf');
    const path = join(dir, 'app.js');
    const original = `// Inventaire — stock par entrepôt 📦\r\n${readFileSync(path, 'utf8').replace(/\n/g, '\r\n')}`;
    writeFileSync(path, original);
    commitAll(dir, 'crlf');
    expect(init(dir).exitCode).toBe(EXIT.ok);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('const app = new Koa();\r\napp.use(otelKoa());\r\nconst router = new Router();');
    expect(text).toContain("import Koa from 'koa';\r\nimport { otelKoa } from '@tracewire/koa';\r\n");
    expect(text.replace(/\r\n/g, '')).toBe(text.replace(/\r?\n/g, ''));
    commitAll(dir, 'init');
    expect(init(dir, { uninstall: true }).exitCode).toBe(EXIT.ok);
    expect(readFileSync(path, 'utf8')).toBe(original);
  });

  it('a package.json that is not JSON is a failure (exit 4), not a crash', () => {
    const dir = prepare('koa', 'bad-package-json');
    writeFileSync(join(dir, 'package.json'), '{ "name": "x", }\n');
    commitAll(dir, 'bad');
    const result = init(dir);
    expect(result.exitCode).toBe(EXIT.failed);
    expect(result.summary).toBe('tracewire init: 0 changed, 0 manual, 1 failed');
  });
});

describe('a file that does not parse', () => {
  it('is reported (exit 4), and the other files are still handled', () => {
    const dir = prepare('express-esm', 'broken');
    writeFileSync(join(dir, 'broken.js'), 'export const x = (;\n');
    commitAll(dir, 'broken');
    const result = init(dir);
    expect(result.exitCode).toBe(EXIT.failed);
    expect(result.summary).toBe('tracewire init: 2 changed, 0 manual, 1 failed');
    expect(result.output).toMatch(/x broken\.js: cannot parse/);
    expect(readFileSync(join(dir, 'server.js'), 'utf8')).toContain('app.use(otelExpress())');
  });
});

describe('--problem-details', () => {
  it('is off by default: nothing that changes error responses is added', () => {
    const dir = prepare('pg', 'pd-default');
    init(dir);
    expect(readFileSync(join(dir, 'index.js'), 'utf8')).not.toContain('otelExpressErrorHandler');
  });

  it('adds the Express handler after the app’s own error handler, or before it with =first', () => {
    const after = prepare('pg', 'pd-after');
    expect(init(after, { problemDetails: true }).exitCode).toBe(EXIT.ok);
    const text = readFileSync(join(after, 'index.js'), 'utf8');
    expect(text).toContain("import { otelExpress, otelExpressErrorHandler } from '@tracewire/express';");
    expect(text.indexOf('app.use(otelExpressErrorHandler());')).toBeGreaterThan(
      text.indexOf("res.status(500).json({ error: 'internal' });"),
    );

    const first = prepare('pg', 'pd-first');
    expect(init(first, { problemDetails: true, problemDetailsFirst: true }).exitCode).toBe(EXIT.ok);
    const firstText = readFileSync(join(first, 'index.js'), 'utf8');
    expect(firstText).toContain('app.use(otelExpressErrorHandler());\napp.use((err, _req, res, _next) => {');
    // and --uninstall takes it back out with the rest
    commitAll(first, 'init');
    expect(init(first, { uninstall: true }).exitCode).toBe(EXIT.ok);
    expect(readFileSync(join(first, 'index.js'), 'utf8')).not.toContain('otel');
  });

  it('Koa and Nest get the option form', () => {
    const koa = prepare('koa', 'pd-koa');
    init(koa, { problemDetails: true });
    expect(readFileSync(join(koa, 'app.js'), 'utf8')).toContain(
      'app.use(otelKoa({ problemDetails: true }));',
    );
    const nest = prepare('nest', 'pd-nest');
    init(nest, { problemDetails: true });
    expect(readFileSync(join(nest, 'src/app.module.ts'), 'utf8')).toContain(
      'imports: [OtelModule.forRoot({ problemDetails: true }), UsersModule],',
    );
  });
});

describe('--uninstall', () => {
  it('removes exactly what init added, keeping edits the team made afterwards', () => {
    const dir = prepare('koa', 'uninstall-later-edits');
    const original = readFileSync(join(dir, 'app.js'), 'utf8');
    init(dir);
    const edited = readFileSync(join(dir, 'app.js'), 'utf8').replace(
      "ctx.set('x-inventory', '1');",
      "ctx.set('x-inventory', '2');",
    );
    writeFileSync(join(dir, 'app.js'), `// owned by the inventory team\n${edited}`);
    commitAll(dir, 'later edits');
    const result = init(dir, { uninstall: true });
    expect(result.exitCode).toBe(EXIT.ok);
    expect(readFileSync(join(dir, 'app.js'), 'utf8')).toBe(
      `// owned by the inventory team\n${original.replace("ctx.set('x-inventory', '1');", "ctx.set('x-inventory', '2');")}`,
    );
    expect(snapshot(dir).has(MANIFEST)).toBe(false);
  });

  it('a manifest that is not JSON is a failure (exit 4), not a crash, and nothing is touched', () => {
    const dir = prepare('koa', 'uninstall-bad-manifest');
    init(dir);
    writeFileSync(join(dir, MANIFEST), '{ not json');
    commitAll(dir, 'broken manifest');
    const before = snapshot(dir);
    const result = init(dir, { uninstall: true });
    expect(result.exitCode).toBe(EXIT.failed);
    expect(result.summary).toBe('tracewire init --uninstall: 0 changed, 0 manual, 1 failed');
    expect(snapshot(dir)).toEqual(before);
  });

  it('says so when an inserted line was changed by hand, and leaves it (exit 1)', () => {
    const dir = prepare('koa', 'uninstall-edited');
    init(dir);
    const path = join(dir, 'app.js');
    writeFileSync(
      path,
      readFileSync(path, 'utf8').replace('app.use(otelKoa());', 'app.use(otelKoa({ ignore: () => false }));'),
    );
    commitAll(dir, 'tuned');
    const result = init(dir, { uninstall: true });
    expect(result.exitCode).toBe(EXIT.manual);
    expect(result.output).toContain('the inserted text was edited since');
    expect(snapshot(dir).has(MANIFEST)).toBe(true);
  });
});

describe('the tracewire command', () => {
  it('init through argv: exit codes and the summary line', async () => {
    const dir = prepare('express-cjs', 'argv');
    let out = '';
    const write = (t: string): void => {
      out += t;
    };
    expect(await main(['init', dir, '--dry-run'], write)).toBe(EXIT.ok);
    expect(out).toContain('+    "start": "node --import @tracewire/node/register src/index.js"');
    expect(await main(['init', dir, '--bogus'], write)).toBe(EXIT.usage);
    expect(await main(['frobnicate'], write)).toBe(EXIT.usage);
    expect(await main([], write)).toBe(EXIT.usage);
    expect(await main(['--help'], write)).toBe(EXIT.ok);
    expect(await main(['init', dir, '--no-install'], write)).toBe(EXIT.ok);
    expect(out.trimEnd().split('\n').at(-1)).toBe('tracewire init: 2 changed, 0 manual, 0 failed');
  });

  it('doctor runs the @tracewire/node doctor installed for the project', async () => {
    const dir = prepare('express-esm', 'doctor');
    let out = '';
    const code = await main(['doctor', '--cwd', dir, '--json'], (t) => {
      out += t;
    });
    expect([0, 1]).toContain(code);
    const report = JSON.parse(out) as { findings: unknown[] };
    expect(Array.isArray(report.findings)).toBe(true);
  });

  it('doctor without @tracewire/node says how to get it (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tracewire-doctor-'));
    try {
      writeFileSync(join(dir, 'package.json'), '{ "name": "x" }\n');
      let out = '';
      expect(await main(['doctor', '--cwd', dir], (t) => (out += t))).toBe(2);
      expect(out).toContain('npm install @tracewire/node');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
