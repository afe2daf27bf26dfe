// The child-process tests run the BUILT package (a fixture imports '@tracewire/node', which resolves
// to dist/ outside vitest), so build it once before the suite.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const pkg = fileURLToPath(new URL('..', import.meta.url));
  const tsc = fileURLToPath(new URL('../../../node_modules/.bin/tsc', import.meta.url));
  execFileSync(tsc, ['-p', 'tsconfig.json'], { cwd: pkg, stdio: 'inherit' });
}
