// Stages every public workspace package as it is published: the manifest without the repository's
// `source` export condition (tests resolve workspace sources through it; a consumer who sets
// `customConditions: ["source"]` must not be sent to .ts files it cannot compile), `dist` without
// source maps (they point at src/, which is not shipped), README, LICENSE, CHANGELOG. Then
// `npm pack` (default) or `npm publish --provenance` runs on each staged directory.
//
//   node scripts/stage-packages.mjs [out-dir]            stage and pack: prints one .tgz path a line
//   node scripts/stage-packages.mjs [out-dir] --publish  stage and publish (the release script)
// out-dir defaults to a new temp folder.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SHIPPED = ['README.md', 'LICENSE', 'CHANGELOG.md'];

/** Removes the `source` condition (and any condition pointing at a .ts source) from an exports map. */
export function publishedExports(exports) {
  if (typeof exports === 'string' || exports === null || typeof exports !== 'object') return exports;
  const out = {};
  for (const [key, value] of Object.entries(exports)) {
    if (key === 'source') continue;
    if (typeof value === 'string' && /\.(c|m)?tsx?$/.test(value) && !/\.d\.(c|m)?ts$/.test(value)) continue;
    out[key] = publishedExports(value);
  }
  return out;
}

/** The manifest as published. */
export function publishedManifest(pkg) {
  const out = { ...pkg };
  if (out.exports !== undefined) out.exports = publishedExports(out.exports);
  if (Array.isArray(out.sideEffects))
    out.sideEffects = out.sideEffects.filter((p) => !p.startsWith('./src/'));
  delete out.devDependencies; // not installed for consumers; keeps workspace-only names out
  delete out.scripts; // build/test scripts are the repository's; prepublishOnly refuses workspace publishes
  return out;
}

function copyDist(from, to) {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    if (statSync(src).isDirectory()) copyDist(src, dst);
    else if (name.endsWith('.map') || name.endsWith('.tsbuildinfo')) continue;
    else if (/\.(c|m)?js$|\.d\.(c|m)?ts$/.test(name)) {
      // The maps are not shipped: drop the comment that points at them.
      const text = readFileSync(src, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
      writeFileSync(dst, text);
    } else cpSync(src, dst);
  }
}

/** Stages every public package under `outDir/stage/<dir>`; returns [{ name, dir, version }]. */
export function stagePackages(outDir) {
  const staged = [];
  for (const dir of readdirSync(join(root, 'packages')).sort()) {
    const pkgDir = join(root, 'packages', dir);
    const manifestPath = join(pkgDir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const pkg = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (pkg.private) continue;
    if (!existsSync(join(pkgDir, 'dist'))) throw new Error(`${pkg.name}: no dist/ (run npm run build first)`);
    const target = join(outDir, 'stage', dir);
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target, { recursive: true });
    writeFileSync(join(target, 'package.json'), `${JSON.stringify(publishedManifest(pkg), null, 2)}\n`);
    copyDist(join(pkgDir, 'dist'), join(target, 'dist'));
    for (const file of SHIPPED) {
      const from = existsSync(join(pkgDir, file)) ? join(pkgDir, file) : join(root, file);
      if (existsSync(from)) cpSync(from, join(target, file));
    }
    staged.push({ name: pkg.name, version: pkg.version, dir: target, workspace: dir });
  }
  return staged;
}

/** Stages and packs; returns [{ name, version, tarball }]. */
export function packPackages(outDir) {
  const tarballs = join(outDir, 'tarballs');
  mkdirSync(tarballs, { recursive: true });
  return stagePackages(outDir).map((p) => {
    const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', tarballs], {
      cwd: p.dir,
      encoding: 'utf8',
    });
    const file = out.trim().split('\n').pop();
    return { ...p, tarball: join(tarballs, file) };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = process.argv.slice(2).find((a) => !a.startsWith('--'));
  const outDir = arg === undefined ? mkdtempSync(join(tmpdir(), 'tracewire-stage-')) : resolve(arg);
  if (process.argv.includes('--publish')) {
    for (const p of stagePackages(outDir)) {
      // Already published versions are skipped (changesets bumps only what changed).
      let published = false;
      try {
        execFileSync('npm', ['view', `${p.name}@${p.version}`, 'version'], { stdio: 'pipe' });
        published = true;
      } catch {}
      if (published) {
        console.log(`skip ${p.name}@${p.version} (already published)`);
        continue;
      }
      execFileSync('npm', ['publish', '--provenance', '--access', 'public'], {
        cwd: p.dir,
        stdio: 'inherit',
      });
    }
  } else {
    for (const p of packPackages(outDir)) console.log(p.tarball);
  }
}
