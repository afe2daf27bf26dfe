// The fixture apps run in child processes, outside vitest, so '@tracewire/*' resolves to each
// package's dist/: build the packages they load (in dependency order) once before the suite, and
// this package, whose built bin one test runs.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ORDER = [
  'errors',
  'core',
  'sql',
  'logger',
  'express',
  'koa',
  'grpc',
  'fastify',
  'pg',
  'node',
  'nest',
  'cli',
];

export default function setup(): void {
  const tsc = fileURLToPath(new URL('../../../node_modules/.bin/tsc', import.meta.url));
  for (const name of ORDER) {
    const dir = fileURLToPath(new URL(`../../${name}/`, import.meta.url));
    try {
      execFileSync(tsc, ['-p', 'tsconfig.json'], { cwd: dir, stdio: 'inherit' });
    } catch (error) {
      // tsc still emits on type errors (that package's own typecheck reports them); only a
      // missing build is fatal here.
      if (!existsSync(`${dir}dist/index.js`)) throw error;
    }
  }
}
