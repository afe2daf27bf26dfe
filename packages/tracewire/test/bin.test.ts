import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('the `tracewire` package (npx tracewire ...)', () => {
  it('prints the @tracewire/cli usage', async () => {
    const { stdout } = await run(process.execPath, [bin, '--help']);
    expect(stdout).toContain('tracewire init');
    expect(stdout).toContain('tracewire doctor');
  });

  it('runs `init --dry-run` on an app: the summary line a CI job reads, nothing written', async () => {
    const app = await mkdtemp(join(tmpdir(), 'tracewire-npx-'));
    dirs.push(app);
    const manifest = JSON.stringify({ name: 'app', version: '1.0.0', main: 'server.js', type: 'module' });
    await writeFile(join(app, 'package.json'), manifest);
    await writeFile(
      join(app, 'server.js'),
      "import express from 'express';\nconst app = express();\napp.get('/users/:id', (req, res) => res.json({}));\napp.listen(3000);\n",
    );
    const out = await run(process.execPath, [bin, 'init', app, '--dry-run'], { cwd: app }).catch(
      (e: { code: number; stdout: string }) => e,
    );
    const stdout = (out as { stdout: string }).stdout;
    expect(stdout).toContain("+import '@tracewire/node/register';");
    expect(stdout).toContain('+app.use(otelExpress());');
    expect(stdout).toMatch(/tracewire init: 2 changed, 0 manual, 0 failed/);
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(join(app, 'package.json'), 'utf8')).toBe(manifest);
  });
});
