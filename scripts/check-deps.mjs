// Checks the dependency rules every library package must follow:
// - @opentelemetry/api is a peer dependency (never a runtime dependency);
// - no OpenTelemetry SDK package appears in runtime or peer dependencies (except @tracewire/node);
// - dependencies only point "down" the layer order errors <- core <- adapters;
// - every runtime dependency is imported by the package's sources (no dead weight for users), and
//   every bare import of the sources is declared (dependency or peer);
// - runtime dependencies use caret ranges, so a user's own copy (pino, the SDK) can be the only one.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const layer = { errors: 0, core: 1, logger: 1, sql: 2, pg: 3, mysql2: 3, nest: 3, tracewire: 4 }; // default: 2 (adapters)
// @tracewire/node is the application bootstrap: wiring the SDK is its job, so it alone may depend on it.
const sdkAllowed = new Set(['node']);
const sdk = /^@opentelemetry\/(sdk-|context-|exporter-|resources|core$|instrumentation)/;
const builtins = new Set(builtinModules);

/** Every file under src/, recursively. */
function sources(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (/\.(m|c)?[jt]s$/.test(name)) out.push(path);
  }
  return out;
}

/** Package names the sources import (static, dynamic, re-exports, require), comments stripped. */
function importedPackages(dir) {
  const names = new Set();
  let src;
  try {
    src = sources(join(dir, 'src'));
  } catch {
    return names;
  }
  for (const file of src) {
    const text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])([^'"]+)\1/g;
    for (const m of text.matchAll(re)) {
      const spec = m[2];
      if (spec.startsWith('.') || spec.startsWith('node:') || spec.startsWith('#')) continue;
      const parts = spec.split('/');
      const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
      if (builtins.has(name)) continue;
      names.add(name);
    }
  }
  return names;
}

const problems = [];
for (const dir of readdirSync(join(root, 'packages'))) {
  const pkgDir = join(root, 'packages', dir);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
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
  const imported = importedPackages(pkgDir);
  imported.delete(pkg.name); // doc examples and self-references
  for (const [name, range] of Object.entries(deps)) {
    if (!imported.has(name)) problems.push(`${pkg.name}: declares ${name} but never imports it`);
    if (!/^\^\d/.test(range))
      problems.push(`${pkg.name}: ${name}@${range} must be a caret range (^x.y.z) so users' copies dedupe`);
  }
  for (const name of imported) {
    if (!(name in deps) && !(name in peers))
      problems.push(`${pkg.name}: imports ${name} without declaring it (dependencies or peerDependencies)`);
  }
  for (const [cond, target] of conditions(pkg.exports)) {
    if (cond === 'source') continue; // stripped from the published manifest by scripts/stage-packages.mjs
    if (/\.tsx?$/.test(target) && !target.endsWith('.d.ts'))
      problems.push(`${pkg.name}: export condition "${cond}" points at source ${target}`);
  }
}

function* conditions(exports, cond = 'default') {
  if (typeof exports === 'string') yield [cond, exports];
  else if (exports && typeof exports === 'object')
    for (const [k, v] of Object.entries(exports)) yield* conditions(v, k.startsWith('.') ? cond : k);
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('dependency rules: ok');
