// Checks the dependency rules every library package must follow:
// - @opentelemetry/api is a peer dependency (never a runtime dependency);
// - no OpenTelemetry SDK package appears in runtime or peer dependencies;
// - dependencies only point "down" the layer order errors <- core <- adapters.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const layer = { errors: 0, core: 1, logger: 1, sql: 1, nest: 3 }; // default: 2 (adapters)
// @tracewire/node is the application bootstrap: wiring the SDK is its job, so it alone may depend on it.
const sdkAllowed = new Set(['node']);
const sdk = /^@opentelemetry\/(sdk-|context-|exporter-|resources|core$|instrumentation)/;
const problems = [];
for (const dir of readdirSync(join(root, 'packages'))) {
  const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
  if (pkg.private) continue;
  const deps = pkg.dependencies ?? {};
  const peers = pkg.peerDependencies ?? {};
  if (!peers['@opentelemetry/api'])
    problems.push(`${pkg.name}: @opentelemetry/api must be a peer dependency`);
  if (deps['@opentelemetry/api']) problems.push(`${pkg.name}: @opentelemetry/api must not be a dependency`);
  for (const name of [...Object.keys(deps), ...Object.keys(peers)]) {
    if (sdk.test(name) && !sdkAllowed.has(dir)) problems.push(`${pkg.name}: depends on SDK package ${name}`);
    if (name.startsWith('@tracewire/')) {
      const target = name.slice('@tracewire/'.length);
      const mine = layer[dir] ?? 2;
      const theirs = layer[target] ?? 2;
      if (theirs >= mine) problems.push(`${pkg.name}: may not depend on ${name} (layer order)`);
    }
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('dependency rules: ok');
