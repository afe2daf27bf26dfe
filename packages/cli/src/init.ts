// `tracewire init [dir]`: detects what the service uses and inserts tracewire where each thing is
// created. Every edit is an insertion at an offset of the original text (magic-string), recorded
// in .tracewire-init.json so that `--uninstall` removes exactly those bytes.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import MagicString from 'magic-string';
import { type AstNode, importsOf, parseFile } from './internal/ast.js';
import { unifiedDiff } from './internal/diff.js';
import {
  emptyPlan,
  type Insertion,
  type ManualStep,
  needImport,
  type Plan,
  placeImports,
} from './internal/plan.js';
import {
  loadSources,
  type ProjectInfo,
  parseStart,
  readProject,
  resolveRelative,
  runsAsEsm,
  sourceOf,
} from './internal/project.js';
import {
  express,
  grpc,
  koa,
  nest,
  type ProjectFiles,
  pg,
  pino,
  type TransformOptions,
} from './internal/transforms.js';
import { VERSION } from './version.js';

const REGISTER = '@tracewire/node/register';
// Kept apart so that no `import '<package>'` text appears in the source (scripts/check-deps.mjs
// reads such text as a real import).
const SQ = "'";

/** The file that records what init inserted; commit it with the change. */
export const MANIFEST = '.tracewire-init.json';

/** Exit codes of `tracewire init` (also in the README). */
export const EXIT = { ok: 0, manual: 1, usage: 2, refused: 3, failed: 4 } as const;

export interface InitOptions {
  /** Project directory. @default process.cwd() */
  dir?: string;
  /** Print a unified diff, write nothing. @default false */
  dryRun?: boolean;
  /** Run on a dirty git tree (or outside git). @default false */
  force?: boolean;
  /** Run the package manager after adding dependencies. @default true */
  install?: boolean;
  /** Remove what an earlier run added. @default false */
  uninstall?: boolean;
  /** Add the problem+json error handling (changes error responses). @default false */
  problemDetails?: boolean;
  /** With problemDetails: put the Express handler before the app's own error handlers. @default false */
  problemDetailsFirst?: boolean;
  /** Where the report goes. @default process.stdout */
  write?: (text: string) => void;
}

export interface InitResult {
  exitCode: number;
  /** Files written (or, with dryRun, that would be). */
  changed: string[];
  manual: ManualStep[];
  failed: { file: string; error: string }[];
  /** The unified diff of every change (also computed when files are written). */
  diff: string;
  summary: string;
}

interface ManifestEntry {
  file: string;
  at: number;
  before: string;
  text: string;
}

/**
 * Runs init (or --uninstall) on a project. Never throws for a problem in the project: the result's
 * `exitCode` (see {@link EXIT}) and `summary` say what happened.
 *
 * @example
 * const { diff, exitCode } = runInit({ dir: 'services/orders', dryRun: true, write: () => {} });
 * if (exitCode === EXIT.ok) process.stdout.write(diff);
 */
export function runInit(options: InitOptions = {}): InitResult {
  const dir = resolve(options.dir ?? process.cwd());
  const write = options.write ?? ((t: string) => process.stdout.write(t));
  const label = options.uninstall ? 'tracewire init --uninstall' : 'tracewire init';
  const finish = (result: Omit<InitResult, 'summary'>): InitResult => {
    const summary = `${label}: ${result.changed.length} changed, ${result.manual.length} manual, ${result.failed.length} failed`;
    write(`${summary}\n`);
    return { ...result, summary };
  };
  const refuse = (why: string): InitResult => {
    write(`${label}: ${why}\n`);
    return finish({ exitCode: EXIT.refused, changed: [], manual: [], failed: [], diff: '' });
  };
  if (!existsSync(join(dir, 'package.json'))) return refuse(`no package.json in ${dir}`);
  if (!options.dryRun && !options.force) {
    const status = gitStatus(dir);
    if (status === undefined)
      return refuse('not a git repository: commit your work in git first, or pass --force');
    if (status !== '') {
      return refuse(
        `the git tree has uncommitted changes; commit or stash them first, or pass --force\n${status}`,
      );
    }
  }
  try {
    return options.uninstall ? uninstall(dir, options, write, finish) : init(dir, options, write, finish);
  } catch (error) {
    // An unreadable manifest, a file that cannot be written...: reported, never thrown.
    write(`${label}: ${error instanceof Error ? error.message : String(error)}\n`);
    return finish({
      exitCode: EXIT.failed,
      changed: [],
      manual: [],
      failed: [{ file: '', error: String(error) }],
      diff: '',
    });
  }
}

function init(
  dir: string,
  options: InitOptions,
  write: (text: string) => void,
  finish: (r: Omit<InitResult, 'summary'>) => InitResult,
): InitResult {
  let info: ProjectInfo;
  try {
    info = readProject(dir);
  } catch (error) {
    write(`tracewire init: package.json cannot be read: ${String(error)}\n`);
    return finish({
      exitCode: EXIT.failed,
      changed: [],
      manual: [],
      failed: [{ file: 'package.json', error: String(error) }],
      diff: '',
    });
  }
  const { files, failed } = loadSources(info);
  const project: ProjectFiles = { files, resolve: (from, spec) => resolveRelative(files, from, spec) };
  const plan = emptyPlan();
  plan.failed.push(...failed);
  const transformOptions: TransformOptions = {
    problemDetails: options.problemDetails === true,
    problemDetailsFirst: options.problemDetailsFirst === true,
  };
  express(project, plan, transformOptions);
  koa(project, plan, transformOptions);
  nest(project, plan, transformOptions);
  grpc(project, plan);
  pg(project, plan);
  pino(project, plan);
  const packageJsonInsertions: Insertion[] = [];
  const entry = bootstrap(info, project, plan, packageJsonInsertions);
  for (const parsed of files.values()) placeImports(plan, parsed);
  addDependencies(info, plan, packageJsonInsertions);

  const uses =
    Object.entries(info.uses)
      .map(([n, v]) => `${n} ${v}`)
      .join(', ') || 'nothing tracewire instruments';
  write(
    `tracewire init ${dir}\n  ${info.packageManager}, ${info.typeModule ? 'ESM' : 'CommonJS'}${info.typescript ? ', TypeScript' : ''}, entry ${entry ?? '(not found)'}; uses ${uses}\n`,
  );

  // Apply: new text per file, and the manifest entries that let --uninstall take it back.
  const outputs = new Map<string, { before: string; after: string; entries: ManifestEntry[] }>();
  for (const [file, insertions] of plan.insertions) {
    const before = files.get(file)?.text ?? readFileSync(join(dir, file), 'utf8');
    outputs.set(file, apply(file, before, insertions));
  }
  if (packageJsonInsertions.length > 0)
    outputs.set('package.json', apply('package.json', info.packageJsonText, packageJsonInsertions));
  let diff = '';
  for (const [file, o] of outputs) diff += unifiedDiff(file, o.before, o.after);

  for (const change of plan.changes) write(`  + ${change}\n`);
  for (const done of plan.already) write(`  = ${done}\n`);
  for (const step of plan.manual)
    write(`  ! ${step.file}:${step.line}: ${step.what}; add by hand:\n      ${step.snippet}\n`);
  for (const note of plan.notes) write(`  i ${note}\n`);
  for (const f of plan.failed) write(`  x ${f.file}: cannot parse: ${f.error}\n`);

  const changed = [...outputs.keys()];
  if (options.dryRun) {
    write(diff);
  } else if (changed.length > 0) {
    for (const [file, o] of outputs) writeFileSync(join(dir, file), o.after);
    const manifestPath = join(dir, MANIFEST);
    const previous: ManifestEntry[] = existsSync(manifestPath)
      ? ((JSON.parse(readFileSync(manifestPath, 'utf8')) as { insertions: ManifestEntry[] }).insertions ?? [])
      : [];
    const entries = [...previous, ...[...outputs.values()].flatMap((o) => o.entries)];
    writeFileSync(
      manifestPath,
      `${JSON.stringify({ tool: `@tracewire/cli@${VERSION}`, insertions: entries }, null, 2)}\n`,
    );
    write(`  wrote ${changed.join(', ')} and ${MANIFEST} (what --uninstall removes; commit it)\n`);
    if (options.install !== false && packageJsonInsertions.some((i) => i.text.includes('@'))) {
      const installed = spawnSync(info.packageManager, ['install'], { cwd: dir, stdio: 'inherit' });
      if (installed.status !== 0) {
        plan.failed.push({ file: 'package.json', error: `${info.packageManager} install failed` });
        write(`  x ${info.packageManager} install failed; run it yourself\n`);
      }
    }
  }
  const exitCode = plan.failed.length > 0 ? EXIT.failed : plan.manual.length > 0 ? EXIT.manual : EXIT.ok;
  return finish({ exitCode, changed, manual: plan.manual, failed: plan.failed, diff });
}

function apply(
  file: string,
  before: string,
  insertions: Insertion[],
): { before: string; after: string; entries: ManifestEntry[] } {
  // Inserted lines end the way the file's lines end.
  const eol = before.includes('\r\n') ? '\r\n' : '\n';
  const ordered = insertions
    .map((ins, seq) => ({ pos: ins.pos, text: eol === '\n' ? ins.text : ins.text.replace(/\n/g, eol), seq }))
    .sort((x, y) => x.pos - y.pos || x.seq - y.seq);
  const s = new MagicString(before);
  for (const ins of ordered) s.appendLeft(ins.pos, ins.text);
  const after = s.toString();
  let shift = 0;
  const entries: ManifestEntry[] = [];
  for (const ins of ordered) {
    const at = ins.pos + shift;
    entries.push({ file, at, before: after.slice(Math.max(0, at - 48), at), text: ins.text });
    shift += ins.text.length;
  }
  return { before, after, entries };
}

/** The bootstrap: first import of an ESM entry, or `--import` in a CommonJS app's start script. */
function bootstrap(
  info: ProjectInfo,
  project: ProjectFiles,
  plan: Plan,
  pkg: Insertion[],
): string | undefined {
  const start = parseStart(info.packageJson.scripts?.start);
  const bins =
    typeof info.packageJson.bin === 'string'
      ? [info.packageJson.bin]
      : Object.values(info.packageJson.bin ?? {});
  const candidates = start
    ? [start.entry]
    : [...new Set([info.packageJson.main, ...bins].filter((x): x is string => !!x))];
  const entry = candidates.length === 1 ? candidates[0] : undefined;
  const snippet = `import ${SQ}${REGISTER}${SQ}; // first line of the entry file, or: node --import ${REGISTER} <entry>`;
  const already =
    info.packageJson.scripts?.start?.includes('@tracewire/node/register') ||
    [...project.files.values()].some((p) => {
      const node = importsOf(p, '@tracewire/node');
      return (
        importsOf(p, '@tracewire/node/register').whole.size > 0 ||
        hasSideEffectImport(p.program, '@tracewire/node/register') ||
        node.named.has('start')
      );
    });
  // An app that already starts an OpenTelemetry SDK of its own keeps it: a second one would fight
  // it over the globals. tracewire's middleware uses whichever SDK is registered.
  const otherSdk = otherSdkAt(info, project);
  if (!already && otherSdk !== undefined) {
    plan.already.push(
      `an OpenTelemetry SDK is already started (${otherSdk}): the @tracewire/node bootstrap is not added`,
    );
    return entry && (sourceOf(info, project.files, entry.replace(/^\.\//, '')) ?? entry);
  }
  if (already) {
    plan.already.push('the OpenTelemetry bootstrap (@tracewire/node) is already loaded');
    return entry && (sourceOf(info, project.files, entry.replace(/^\.\//, '')) ?? entry);
  }
  plan.dependencies.add('@tracewire/node');
  if (entry === undefined) {
    plan.manual.push({
      file: 'package.json',
      line: 1,
      what:
        candidates.length > 1
          ? `two candidate entry files (${candidates.join(', ')})`
          : 'no entry point (main, bin or a `node` start script)',
      snippet,
    });
    return candidates.join(' or ') || undefined;
  }
  const normalized = entry.replace(/^\.\//, '');
  const source = sourceOf(info, project.files, normalized);
  if (runsAsEsm(info, normalized)) {
    if (source === undefined) {
      plan.manual.push({
        file: normalized,
        line: 1,
        what: 'the entry file was not found among the sources',
        snippet,
      });
      return normalized;
    }
    needImport(plan, source, '@tracewire/node/register');
    plan.changes.push(`${source}:1: import ${SQ}${REGISTER}${SQ} first in the entry`);
    return source;
  }
  // CommonJS: register uses top-level await, which require() cannot load; Node's --import can.
  if (start === undefined) {
    plan.manual.push({
      file: 'package.json',
      line: 1,
      what: 'a CommonJS entry without a `node` start script',
      snippet: `node --import @tracewire/node/register ${normalized}`,
    });
    return normalized;
  }
  const scriptNode = findStartLiteral(info.packageJsonText);
  if (scriptNode === undefined) {
    plan.manual.push({
      file: 'package.json',
      line: 1,
      what: 'the start script cannot be edited in place',
      snippet: `node --import @tracewire/node/register ${normalized}`,
    });
    return normalized;
  }
  pkg.push({ pos: scriptNode.start + 1 + start.nodeEnd, text: ' --import @tracewire/node/register' });
  plan.changes.push(
    `package.json: the start script loads --import @tracewire/node/register (CommonJS entry ${normalized})`,
  );
  return source ?? normalized;
}

const SDK_PACKAGES = new Set([
  '@opentelemetry/sdk-node',
  '@opentelemetry/sdk-trace-node',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/auto-instrumentations-node',
  '@opentelemetry/auto-instrumentations-node/register',
]);

function otherSdkAt(info: ProjectInfo, project: ProjectFiles): string | undefined {
  const start = info.packageJson.scripts?.start ?? '';
  if (/@opentelemetry\/auto-instrumentations-node/.test(start)) return 'package.json start script';
  for (const parsed of project.files.values()) {
    const bindings = importsOf(parsed, (s) => SDK_PACKAGES.has(s));
    if (bindings.whole.size > 0 || bindings.named.size > 0) return parsed.file;
    if (
      (parsed.program.body as AstNode[]).some(
        (s) => s.type === 'ImportDeclaration' && SDK_PACKAGES.has(s.source.value),
      )
    ) {
      return parsed.file;
    }
  }
  return undefined;
}

function hasSideEffectImport(program: AstNode, module: string): boolean {
  return (program.body as AstNode[]).some((s) => s.type === 'ImportDeclaration' && s.source.value === module);
}

/** package.json as a JS expression, so its properties come with offsets. */
function packageJsonAst(text: string): AstNode | undefined {
  const parsed = parseFile('package.json.js', `(${text})`);
  const statement = (parsed.program.body as AstNode[])[0];
  if (parsed.errors.length > 0 || statement?.type !== 'ExpressionStatement') return undefined;
  const shift = (node: AstNode): void => {
    node.start -= 1;
    node.end -= 1;
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) for (const v of value) if (v && typeof v.type === 'string') shift(v);
      if (value && typeof (value as AstNode).type === 'string') shift(value as AstNode);
    }
  };
  shift(statement.expression);
  return statement.expression;
}

function property(object: AstNode | undefined, key: string): AstNode | undefined {
  return (object?.properties as AstNode[] | undefined)?.find((p) => p.key?.value === key);
}

function findStartLiteral(text: string): AstNode | undefined {
  const start = property(property(packageJsonAst(text), 'scripts')?.value, 'start')?.value as
    | AstNode
    | undefined;
  // Only a literal without escapes maps string offsets one to one.
  if (start?.type !== 'Literal' || text.slice(start.start, start.end) !== JSON.stringify(start.value))
    return undefined;
  return start;
}

function addDependencies(info: ProjectInfo, plan: Plan, pkg: Insertion[]): void {
  if (plan.changes.length === 0 && plan.manual.length === 0) return;
  const declared = { ...info.packageJson.devDependencies, ...info.packageJson.dependencies };
  const wanted = [...plan.dependencies, '@opentelemetry/api'].filter((d) => declared[d] === undefined).sort();
  if (wanted.length === 0) return;
  const root = packageJsonAst(info.packageJsonText);
  if (root === undefined) return;
  const versionOf = (name: string): string => (name === '@opentelemetry/api' ? '^1.9.0' : `^${VERSION}`);
  const text = info.packageJsonText;
  const deps = property(root, 'dependencies');
  const lineIndent = (pos: number): string =>
    /^[ \t]*/.exec(text.slice(text.lastIndexOf('\n', pos - 1) + 1))?.[0] ?? '';
  const firstProp = (root.properties as AstNode[])[0];
  const unit = firstProp ? lineIndent(firstProp.start) || '  ' : '  ';
  if (deps?.value.type === 'ObjectExpression' && deps.value.properties.length > 0) {
    const props = deps.value.properties as AstNode[];
    const indent = lineIndent(props[0]!.start);
    for (const name of wanted) {
      const next = props.find((p) => String(p.key.value) > name);
      if (next) pkg.push({ pos: next.start, text: `"${name}": "${versionOf(name)}",\n${indent}` });
      else pkg.push({ pos: props.at(-1)!.end, text: `,\n${indent}"${name}": "${versionOf(name)}"` });
    }
  } else {
    const body = wanted.map((n) => `${unit}${unit}"${n}": "${versionOf(n)}"`).join(',\n');
    if (deps?.value.type === 'ObjectExpression')
      pkg.push({ pos: deps.value.start + 1, text: `\n${body}\n${unit}` });
    else {
      const last = (root.properties as AstNode[]).at(-1);
      if (last) pkg.push({ pos: last.end, text: `,\n${unit}"dependencies": {\n${body}\n${unit}}` });
    }
  }
  plan.changes.push(`package.json: dependencies ${wanted.join(', ')}`);
}

function uninstall(
  dir: string,
  options: InitOptions,
  write: (text: string) => void,
  finish: (r: Omit<InitResult, 'summary'>) => InitResult,
): InitResult {
  const manifestPath = join(dir, MANIFEST);
  if (!existsSync(manifestPath)) {
    write(`tracewire init --uninstall: no ${MANIFEST}: nothing recorded to remove\n`);
    return finish({ exitCode: EXIT.ok, changed: [], manual: [], failed: [], diff: '' });
  }
  const entries = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { insertions: ManifestEntry[] })
    .insertions;
  const byFile = new Map<string, ManifestEntry[]>();
  for (const e of entries) byFile.set(e.file, [...(byFile.get(e.file) ?? []), e]);
  const manual: ManualStep[] = [];
  const changed: string[] = [];
  let diff = '';
  const outputs: [string, string][] = [];
  for (const [file, list] of byFile) {
    const path = join(dir, file);
    if (!existsSync(path)) {
      for (const e of list)
        manual.push({ file, line: 1, what: 'file is gone; nothing to remove', snippet: e.text.trim() });
      continue;
    }
    const before = readFileSync(path, 'utf8');
    let text = before;
    // Last insertion first, so each one's recorded context is still in place.
    for (const e of [...list].sort((a, b) => b.at - a.at)) {
      const needle = e.before + e.text;
      let best = -1;
      for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + 1)) {
        if (best === -1 || Math.abs(i + e.before.length - e.at) < Math.abs(best + e.before.length - e.at))
          best = i;
      }
      if (best === -1) {
        manual.push({
          file,
          line: 1,
          what: 'the inserted text was edited since; remove it by hand',
          snippet: e.text.trim(),
        });
        continue;
      }
      const at = best + e.before.length;
      text = text.slice(0, at) + text.slice(at + e.text.length);
    }
    if (text !== before) {
      changed.push(file);
      diff += unifiedDiff(file, before, text);
      outputs.push([path, text]);
    }
  }
  for (const step of manual) write(`  ! ${step.file}: ${step.what}:\n      ${step.snippet}\n`);
  if (options.dryRun) write(diff);
  else {
    for (const [path, text] of outputs) writeFileSync(path, text);
    if (manual.length === 0) rmSync(manifestPath);
    for (const file of changed) write(`  - ${file}\n`);
  }
  return finish({ exitCode: manual.length > 0 ? EXIT.manual : EXIT.ok, changed, manual, failed: [], diff });
}

function gitStatus(dir: string): string | undefined {
  try {
    return execFileSync('git', ['status', '--porcelain'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}
