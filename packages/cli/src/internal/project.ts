// What kind of project this is: package manager, module system, TypeScript, entry point, files.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { type ParsedFile, parseFile } from './ast.js';

export interface PackageJson {
  type?: string;
  main?: string;
  bin?: string | Record<string, string>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  [key: string]: unknown;
}

export interface ProjectInfo {
  dir: string;
  packageJsonText: string;
  packageJson: PackageJson;
  packageManager: 'npm' | 'pnpm' | 'yarn' | 'bun';
  /** `"type": "module"` */
  typeModule: boolean;
  typescript: boolean;
  tsconfig: { outDir?: string; rootDir?: string; module?: string } | undefined;
  /** Versions of what the app uses, from package.json (`express: '^5.1.0'`). */
  uses: Record<string, string>;
}

const SOURCE = /\.(m|c)?(j|t)sx?$/;
const SKIP_DIRS = new Set([
  'node_modules',
  '.git',
  'dist',
  'build',
  'out',
  'coverage',
  '.next',
  '.turbo',
  'test',
  'tests',
  '__tests__',
]);
const MAX_FILES = 5000;
const MAX_BYTES = 1_000_000;

export function readProject(dir: string): ProjectInfo {
  const packageJsonText = readFileSync(join(dir, 'package.json'), 'utf8');
  const packageJson = JSON.parse(packageJsonText) as PackageJson;
  const has = (f: string): boolean => existsSync(join(dir, f));
  const packageManager = has('pnpm-lock.yaml')
    ? 'pnpm'
    : has('yarn.lock')
      ? 'yarn'
      : has('bun.lockb') || has('bun.lock')
        ? 'bun'
        : 'npm';
  let tsconfig: ProjectInfo['tsconfig'];
  if (has('tsconfig.json')) {
    try {
      // tsconfig allows comments and trailing commas: strip them for the few fields read here.
      const text = readFileSync(join(dir, 'tsconfig.json'), 'utf8')
        .replace(/\/\*[\s\S]*?\*\/|(^|[^:"'])\/\/.*$/gm, '$1')
        .replace(/,(\s*[}\]])/g, '$1');
      const options =
        (JSON.parse(text) as { compilerOptions?: Record<string, string> }).compilerOptions ?? {};
      tsconfig = { outDir: options.outDir, rootDir: options.rootDir, module: options.module };
    } catch {
      tsconfig = {};
    }
  }
  const all = { ...packageJson.devDependencies, ...packageJson.dependencies };
  const uses: Record<string, string> = {};
  for (const name of ['express', 'koa', '@koa/router', '@nestjs/core', '@grpc/grpc-js', 'pg', 'pino']) {
    if (all[name] !== undefined) uses[name] = all[name];
  }
  return {
    dir,
    packageJsonText,
    packageJson,
    packageManager,
    typeModule: packageJson.type === 'module',
    typescript: tsconfig !== undefined,
    tsconfig,
    uses,
  };
}

/** Source files of the project (not tests, not build output, not dependencies), parsed. */
export function loadSources(info: ProjectInfo): {
  files: Map<string, ParsedFile>;
  failed: { file: string; error: string }[];
} {
  const files = new Map<string, ParsedFile>();
  const failed: { file: string; error: string }[] = [];
  const outDir = info.tsconfig?.outDir?.replace(/^\.\//, '').replace(/\/$/, '');
  const visit = (abs: string): void => {
    for (const entry of readdirSync(abs, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (files.size >= MAX_FILES) return;
      const path = join(abs, entry.name);
      const rel = relative(info.dir, path).split(sep).join('/');
      if (entry.isDirectory()) {
        if (SKIP_DIRS.has(entry.name) || entry.name.startsWith('.') || rel === outDir) continue;
        visit(path);
      } else if (
        entry.isFile() &&
        SOURCE.test(entry.name) &&
        !/\.d\.[mc]?ts$|\.(test|spec)\.[mc]?[jt]sx?$/.test(entry.name)
      ) {
        if (statSync(path).size > MAX_BYTES) continue;
        try {
          const parsed = parseFile(rel, readFileSync(path, 'utf8'));
          if (parsed.errors.length > 0) failed.push({ file: rel, error: parsed.errors[0]! });
          else files.set(rel, parsed);
        } catch (error) {
          failed.push({ file: rel, error: String(error) });
        }
      }
    }
  };
  visit(info.dir);
  return { files, failed };
}

/** Resolves `./x`, `./x.js` (to `x.ts` too), `./x/index` against the project's files. */
export function resolveRelative(
  files: Map<string, ParsedFile>,
  from: string,
  specifier: string,
): ParsedFile | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = posix.normalize(posix.join(posix.dirname(from), specifier));
  const stem = base.replace(/\.(m|c)?js$/, '');
  const candidates = [
    base,
    ...['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.jsx'].flatMap((e) => [
      stem + e,
      `${base}/index${e}`,
    ]),
  ];
  for (const c of candidates) {
    const found = files.get(c);
    if (found) return found;
  }
  return undefined;
}

export interface StartCommand {
  /** The script's text and where the `node` token ends in it. */
  script: string;
  nodeEnd: number;
  /** The file it runs, relative to the project. */
  entry: string;
}

const NODE_FLAGS_WITH_VALUE = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '--env-file',
  '--conditions',
  '-C',
  '--input-type',
  '--title',
]);

/** `node [flags] file ...` in the start script. */
export function parseStart(script: string | undefined): StartCommand | undefined {
  if (script === undefined) return undefined;
  // `node` as a command word: first, after `&&`, `;`, `|`, or after env assignments / cross-env.
  const m = /(^|[\s;&|])(node)(\s+)/.exec(script);
  if (m === null) return undefined;
  const nodeEnd = m.index + m[1]!.length + m[2]!.length;
  const tokens = script.slice(nodeEnd).trim().split(/\s+/);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (NODE_FLAGS_WITH_VALUE.has(t)) {
      i++;
      continue;
    }
    if (t.startsWith('-')) continue;
    return { script, nodeEnd, entry: posix.normalize(t) };
  }
  return undefined;
}

/** A built file (`dist/main.js`) back to its TypeScript source (`src/main.ts`). */
export function sourceOf(
  info: ProjectInfo,
  files: Map<string, ParsedFile>,
  file: string,
): string | undefined {
  if (files.has(file)) return file;
  const stem = file.replace(/\.(m|c)?js$/, '');
  for (const ext of ['.ts', '.mts', '.cts', '.tsx']) if (files.has(stem + ext)) return stem + ext;
  const out = info.tsconfig?.outDir?.replace(/^\.\//, '').replace(/\/$/, '');
  if (out && file.startsWith(`${out}/`)) {
    const root = (info.tsconfig?.rootDir ?? 'src').replace(/^\.\//, '').replace(/\/$/, '');
    const rest = stem.slice(out.length + 1);
    for (const r of [root, '.', 'src']) {
      for (const ext of ['.ts', '.mts', '.cts', '.tsx']) {
        const candidate = posix.normalize(`${r}/${rest}${ext}`);
        if (files.has(candidate)) return candidate;
      }
    }
  }
  return undefined;
}

/** Whether the file runs as an ES module under Node. */
export function runsAsEsm(info: ProjectInfo, file: string): boolean {
  if (/\.m[jt]s$/.test(file)) return true;
  if (/\.c[jt]s$/.test(file)) return false;
  return info.typeModule;
}

export function existsIn(dir: string, file: string): boolean {
  return existsSync(join(dir, file));
}

export function dirOf(file: string): string {
  return dirname(file);
}
