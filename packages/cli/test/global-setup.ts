// The fixture apps run in child processes, outside vitest, so '@tracewire/*' resolves to each
// package's dist/: build the packages they load (in dependency order) once before the suite.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ORDER = ['errors', 'core', 'sql', 'logger', 'express', 'koa', 'grpc', 'fastify', 'pg', 'node', 'nest'];

export default function setup(): void {
  const tsc = fileURLToPath(new URL('../../../node_modules/.bin/tsc', import.meta.url));
  for (const name of ORDER) {
    const dir = fileURLToPath(new URL(`../../${name}/`, import.meta.url));
    execFileSync(tsc, ['-p', 'tsconfig.json'], { cwd: dir, stdio: 'inherit' });
  }
}
