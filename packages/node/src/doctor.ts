import { readFileSync } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve as resolvePath, sep } from 'node:path';
import { context, createContextKey, metrics, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { getInstrumentationRuntimeFindings, isSupportedNodeVersion, MIN_NODE_VERSION } from '@tracewire/core';
import { type Env, planMetrics, planTraces, sdkDisabled } from './internal/env.js';

/** How bad a finding is: `error` silently loses telemetry, `warn` risks it, `info` explains. */
export type DoctorSeverity = 'error' | 'warn' | 'info';

/** One problem (or fact) the doctor found, with its fix. `code` is stable and never reused. */
export interface DoctorFinding {
  code: string;
  severity: DoctorSeverity;
  message: string;
  fix?: string;
}

/** One installed copy of a package of interest. */
export interface InstalledPackage {
  name: string;
  version: string;
  /** Directory, relative to the report's root. */
  path: string;
  /** `name@version` of the packages that resolve to this copy (`(root)` for the project itself). */
  requiredBy: string[];
}

/** What {@link runDoctor} returns. */
export interface DoctorReport {
  /** Absolute directory whose `node_modules` tree was read. */
  root: string;
  /** Copies of `@opentelemetry/api`, of the SDK packages and of `@tracewire/*`. */
  packages: InstalledPackage[];
  findings: DoctorFinding[];
  /** True when the tree was larger than `maxPackages` and only partly read. */
  truncated: boolean;
}

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  /** Where to look: the nearest directory at or above it that has `node_modules`. @default process.cwd() */
  cwd?: string;
  /** Also check this process: registered providers, context manager, propagator, API version. @default false */
  runtime?: boolean;
  /** Environment to explain (exporters, sampler, disabled SDK). @default process.env */
  env?: Env;
  /** Stop reading the tree after this many packages. @default 20000 */
  maxPackages?: number;
  /** The Node.js version to check against `engines.node`. @default process.version */
  nodeVersion?: string;
}

const API = '@opentelemetry/api';
const SDK_PACKAGES = new Set([
  '@opentelemetry/sdk-node',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/sdk-trace-node',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/sdk-logs',
  '@opentelemetry/core',
  '@opentelemetry/resources',
  '@opentelemetry/context-async-hooks',
]);
// The API copy that matters most is the one the SDK registers its providers with.
const REGISTRANT_ORDER = [
  '@opentelemetry/sdk-trace',
  '@opentelemetry/sdk-node',
  '@opentelemetry/sdk-trace-base',
  '@tracewire/node',
];
const MAX_DEPTH = 10;
const MAX_REQUIRED_BY = 8;

interface Pkg {
  name: string;
  version: string;
  /** Where it was found (a path inside some node_modules). */
  logical: string;
  /** Where it really is (workspaces are symlinks). */
  real: string;
  deps: string[];
  requiredBy: string[];
}

/**
 * Official instrumentations that overlap a tracewire package: what each one instruments, which
 * tracewire packages do the same, and what to do beside them (the migration guide,
 * docs/migrating-from-auto-instrumentation.md, has the whole story).
 */
interface OfficialOverlap {
  what: string;
  tracewire: readonly string[];
  /** The `OTEL_NODE_DISABLED_INSTRUMENTATIONS` name under auto-instrumentations-node. */
  autoName?: string;
  beside: string;
}
const OFFICIAL_OVERLAPS: Readonly<Record<string, OfficialOverlap>> = {
  '@opentelemetry/instrumentation-http': {
    what: 'node:http server and client',
    tracewire: [
      '@tracewire/express',
      '@tracewire/koa',
      '@tracewire/fastify',
      '@tracewire/nest',
      '@tracewire/node',
    ],
    autoName: 'http',
    beside:
      "tracewire reuses its SERVER span (officialServerSpan: 'reuse', the default) and makes no CLIENT span of its own for requests it already traced",
  },
  '@opentelemetry/instrumentation-undici': {
    what: 'fetch / undici client',
    tracewire: ['@tracewire/node'],
    autoName: 'undici',
    beside:
      'tracewire makes no CLIENT span for requests it propagated, as long as its SDK started before instrumentHttpClient()/start()',
  },
  '@opentelemetry/instrumentation-express': {
    what: 'Express middleware spans and http.route',
    tracewire: ['@tracewire/express', '@tracewire/nest'],
    autoName: 'express',
    beside: "tracewire's route (with mount prefixes) replaces the one it writes",
  },
  '@opentelemetry/instrumentation-koa': {
    what: 'Koa middleware spans and http.route',
    tracewire: ['@tracewire/koa'],
    autoName: 'koa',
    beside: "tracewire's route (with router prefixes) replaces the one it writes",
  },
  '@fastify/otel': {
    what: 'Fastify request and hook spans',
    tracewire: ['@tracewire/fastify', '@tracewire/nest'],
    beside: 'both make spans under the one HTTP SERVER span',
  },
  '@opentelemetry/instrumentation-nestjs-core': {
    what: 'NestJS controller spans',
    tracewire: ['@tracewire/nest'],
    autoName: 'nestjs-core',
    beside: 'both make spans under the one HTTP SERVER span',
  },
  '@opentelemetry/instrumentation-grpc': {
    what: 'gRPC server and client spans (patches @grpc/grpc-js)',
    tracewire: ['@tracewire/grpc', '@tracewire/nest'],
    autoName: 'grpc',
    beside:
      "tracewire's interceptors make no span of their own while it is loaded (officialServerSpan / officialClientSpan: 'reuse', the default) and add the RPC metrics it does not record",
  },
  '@opentelemetry/instrumentation-pg': {
    what: 'pg query spans and pool metrics',
    tracewire: ['@tracewire/pg'],
    autoName: 'pg',
    beside:
      "tracePg leaves each query to its CLIENT span (tracewire's SQL sanitizing then does not apply); the pool metrics of both are recorded",
  },
  '@opentelemetry/instrumentation-pino': {
    what: 'trace ids in pino lines',
    tracewire: ['@tracewire/logger'],
    autoName: 'pino',
    beside: 'both add the same trace_id/span_id fields; harmless but redundant',
  },
};
const AUTO = '@opentelemetry/auto-instrumentations-node';

function interesting(name: string): boolean {
  return (
    name === API ||
    SDK_PACKAGES.has(name) ||
    name.startsWith('@tracewire/') ||
    name === AUTO ||
    Object.hasOwn(OFFICIAL_OVERLAPS, name)
  );
}

/**
 * Reads the installed `node_modules` tree and (optionally) this process, and reports what makes
 * telemetry silently disappear: several or incompatible copies of `@opentelemetry/api` (a copy whose
 * version the registered global does not accept gets no-op tracers and meters), mixed SDK and
 * tracewire versions, no registered provider, context manager or propagator, and configuration that
 * turns signals off. Never throws for a broken tree: unreadable entries are skipped.
 *
 * @example
 * const report = await runDoctor({ runtime: true });
 * console.log(formatDoctorReport(report));
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const root = await findRoot(resolvePath(options.cwd ?? process.cwd()));
  const maxPackages = options.maxPackages ?? 20_000;
  const all: Pkg[] = [];
  const byLogical = new Map<string, Pkg>();
  const seenReal = new Set<string>();
  const state = { truncated: false };

  const visit = async (nodeModules: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) return;
    for (const entry of await list(nodeModules)) {
      if (entry.startsWith('.')) continue;
      if (entry.startsWith('@')) {
        for (const sub of await list(join(nodeModules, entry))) {
          if (!sub.startsWith('.')) await add(join(nodeModules, entry, sub), depth);
        }
      } else {
        await add(join(nodeModules, entry), depth);
      }
    }
  };
  const add = async (dir: string, depth: number): Promise<void> => {
    if (all.length >= maxPackages) {
      state.truncated = true;
      return;
    }
    const manifest = await readManifest(dir);
    if (manifest === undefined) return;
    const real = await realpath(dir).catch(() => dir);
    const pkg: Pkg = { ...manifest, logical: dir, real, requiredBy: [] };
    all.push(pkg);
    byLogical.set(dir, pkg);
    if (seenReal.has(real)) return; // a workspace linked twice; its subtree is read once
    seenReal.add(real);
    await visit(join(real, 'node_modules'), depth + 1);
  };

  const rootManifest = await readManifest(root);
  await visit(join(root, 'node_modules'), 0);

  // Node's resolution from a package's real directory: its own node_modules, then each parent's.
  const resolveFrom = (fromDir: string, name: string): Pkg | undefined => {
    let dir = fromDir;
    for (;;) {
      const hit = byLogical.get(join(dir, 'node_modules', name));
      if (hit !== undefined) return hit;
      const parent = dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
  };
  const dependents: { label: string; dir: string; deps: string[] }[] = all.map((p) => ({
    label: `${p.name}@${p.version}`,
    dir: p.real,
    deps: p.deps,
  }));
  if (rootManifest !== undefined) dependents.push({ label: '(root)', dir: root, deps: rootManifest.deps });
  for (const d of dependents) {
    for (const name of d.deps) {
      if (!interesting(name)) continue;
      const target = resolveFrom(d.dir, name);
      if (target !== undefined && !target.requiredBy.includes(d.label)) target.requiredBy.push(d.label);
    }
  }

  // One entry per physical copy (a workspace can be reachable through several links).
  const copies = new Map<string, Pkg>();
  for (const p of all) if (interesting(p.name) && !copies.has(p.real)) copies.set(p.real, p);
  const packages: InstalledPackage[] = [...copies.values()]
    .map((p) => ({
      name: p.name,
      version: p.version,
      path: relative(root, p.logical).split(sep).join('/'),
      requiredBy: p.requiredBy
        .slice(0, MAX_REQUIRED_BY)
        .concat(
          p.requiredBy.length > MAX_REQUIRED_BY ? [`+${p.requiredBy.length - MAX_REQUIRED_BY} more`] : [],
        ),
    }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.path.localeCompare(b.path));

  const findings: DoctorFinding[] = [];
  const apiCopies = [...copies.values()].filter((p) => p.name === API);
  let registrant: Pkg | undefined;
  for (const name of REGISTRANT_ORDER) {
    const owner = [...copies.values()].find((p) => p.name === name);
    registrant = owner === undefined ? undefined : resolveFrom(owner.real, API);
    if (registrant !== undefined) break;
  }
  registrant ??= byLogical.get(join(root, 'node_modules', API)) ?? apiCopies[0];
  checkApiCopies(apiCopies, registrant, root, findings);
  checkSdk([...copies.values()], findings);
  checkTracewire([...copies.values()], findings);
  checkOfficial([...copies.values()], findings);
  checkNode(options.nodeVersion ?? process.version, findings);
  checkEnv(env, findings);
  if (options.runtime === true) {
    checkRuntime(env, findings);
    checkDoubleInstrumentation(findings, root);
  }
  if (state.truncated) {
    findings.push({
      code: 'TREE_TRUNCATED',
      severity: 'info',
      message: `the tree has more than ${maxPackages} packages; only the first ${maxPackages} were read`,
    });
  }
  return { root, packages, findings, truncated: state.truncated };
}

function label(p: Pkg, root: string): string {
  return `${p.version} at ${relative(root, p.logical).split(sep).join('/')}`;
}

function checkApiCopies(
  copies: Pkg[],
  registrant: Pkg | undefined,
  root: string,
  findings: DoctorFinding[],
): void {
  if (copies.length === 0 || registrant === undefined) {
    findings.push({
      code: 'API_MISSING',
      severity: 'error',
      message: `${API} is not installed: nothing can create spans or metrics`,
      fix: `npm install ${API}`,
    });
    return;
  }
  if (copies.length === 1) return;
  const accepts = apiAccepts(registrant.version);
  for (const copy of copies) {
    if (copy === registrant) continue;
    const users = copy.requiredBy.length > 0 ? copy.requiredBy.join(', ') : 'no declared dependent';
    if (!accepts(copy.version)) {
      findings.push({
        code: 'API_INCOMPATIBLE',
        severity: 'error',
        message:
          `${API} ${label(copy, root)} (used by ${users}) cannot use the providers the SDK registers through ` +
          `${API} ${registrant.version}: the API only accepts a registered global of the same major and an ` +
          `equal or newer minor, so every tracer and meter obtained through this copy is a silent no-op`,
        fix:
          `make the whole tree resolve one ${API}: align versions to ^${maxVersion(copies)} (upgrade the SDK or ` +
          `the dependents), or add "overrides": { "${API}": "${maxVersion(copies)}" } to package.json, then npm install && npm dedupe`,
      });
    } else {
      findings.push({
        code: 'API_DUPLICATE',
        severity: 'warn',
        message:
          `${API} is installed more than once: ${label(copy, root)} (used by ${users}) next to ` +
          `${label(registrant, root)}. It works only while the SDK's copy registers first: the first copy to ` +
          `register anything (even diag.setLogger) fixes the version, and registrations from any other version are refused`,
        fix: `npm dedupe, or add "overrides": { "${API}": "${registrant.version}" } to package.json`,
      });
    }
  }
}

function checkSdk(copies: Pkg[], findings: DoctorFinding[]): void {
  const sdk = copies.filter((p) => SDK_PACKAGES.has(p.name));
  const byName = group(sdk);
  for (const [name, versions] of byName) {
    if (versions.size > 1) {
      findings.push({
        code: 'SDK_DUPLICATE',
        severity: 'warn',
        message: `${name} is installed in several versions (${[...versions].join(', ')}): providers and processors from different copies do not recognise each other`,
        fix: `npm ls ${name} to see who pulls them in; align the SDK packages to one release and npm dedupe`,
      });
    }
  }
  // The stable SDK packages are released together; different majors mean two SDK generations.
  const stable = sdk.filter((p) => !p.version.startsWith('0.'));
  const majors = new Set(stable.map((p) => p.version.split('.')[0]));
  if (majors.size > 1) {
    findings.push({
      code: 'SDK_MIXED_MAJOR',
      severity: 'warn',
      message: `SDK packages from different major releases are installed: ${stable.map((p) => `${p.name}@${p.version}`).join(', ')}`,
      fix: 'install the SDK packages of one release (e.g. all 3.x with sdk-node 0.3xx)',
    });
  }
}

function checkTracewire(copies: Pkg[], findings: DoctorFinding[]): void {
  const ours = copies.filter((p) => p.name.startsWith('@tracewire/'));
  const versions = new Set(ours.map((p) => p.version));
  if (versions.size > 1) {
    findings.push({
      code: 'TRACEWIRE_MIXED',
      severity: 'warn',
      message: `@tracewire packages of mixed versions: ${ours.map((p) => `${p.name}@${p.version}`).join(', ')}`,
      fix: `install the same version of every @tracewire package (npm install ${[...new Set(ours.map((p) => p.name))].map((n) => `${n}@${maxVersion(ours)}`).join(' ')})`,
    });
  }
}

/**
 * Official instrumentations installed beside tracewire packages that instrument the same thing: one
 * finding per overlap, saying what happens side by side and what to remove (or which instrumentation
 * to disable) to finish the migration.
 */
function checkOfficial(copies: Pkg[], findings: DoctorFinding[]): void {
  const names = new Set(copies.map((p) => p.name));
  const tracewire = [...names].filter((n) => n.startsWith('@tracewire/'));
  if (tracewire.length === 0) return;
  const who = (name: string): string => {
    const by = copies.filter((p) => p.name === name).flatMap((p) => p.requiredBy);
    return by.length === 0 ? '' : ` (required by ${[...new Set(by)].slice(0, 3).join(', ')})`;
  };
  const auto = copies.find((p) => p.name === AUTO);
  const overlapping: string[] = [];
  for (const [name, overlap] of Object.entries(OFFICIAL_OVERLAPS)) {
    if (!names.has(name)) continue;
    const ours = overlap.tracewire.filter((t) => names.has(t));
    if (ours.length === 0) continue;
    if (overlap.autoName !== undefined) overlapping.push(overlap.autoName);
    // Under auto-instrumentations-node they come as its dependencies: one finding for all of them.
    if (auto !== undefined && copies.filter((p) => p.name === name).every((p) => onlyFromAuto(p))) continue;
    findings.push({
      code: 'OFFICIAL_INSTRUMENTATION',
      severity: 'warn',
      message: `${name} (${overlap.what}) is installed${who(name)} beside ${ours.join(', ')}: ${overlap.beside}`,
      fix: `when every service uses ${ours.join(' / ')}, remove ${name}: npm uninstall ${name}, and drop it from the instrumentations you pass to NodeSDK/registerInstrumentations`,
    });
  }
  if (auto !== undefined) {
    const disable = overlapping.length > 0 ? overlapping.join(',') : 'http,undici,express,koa,grpc,pg';
    findings.push({
      code: 'OFFICIAL_AUTO_INSTRUMENTATIONS',
      severity: 'warn',
      message: `${AUTO}@${auto.version} is installed${who(AUTO)} beside ${tracewire.join(', ')}: it registers its own SDK and patches ${disable} (tracewire reuses its HTTP SERVER span and leaves CLIENT spans it made to it, so requests are traced once; start() beside it installs nothing and reports status 'foreign-sdk')`,
      fix: `to finish the migration remove --import ${AUTO}/register (from the start command or NODE_OPTIONS) and npm uninstall ${AUTO}; until then set OTEL_NODE_DISABLED_INSTRUMENTATIONS=${disable} to let tracewire do those`,
    });
  }
}

function onlyFromAuto(p: Pkg): boolean {
  return p.requiredBy.length > 0 && p.requiredBy.every((r) => r.startsWith(`${AUTO}@`));
}

/** A function patched by shimmer (what `@opentelemetry/instrumentation` uses) carries `__wrapped`. */
function isPatched(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as { __wrapped?: unknown }).__wrapped === true;
}

/**
 * This process: requests that got two SERVER or two CLIENT spans (tracewire notes each one when it
 * starts a span under another instrumentation's span of the same kind), requests where tracewire
 * reused the official span, and the official instrumentations' patch markers on loaded modules.
 */
function checkDoubleInstrumentation(findings: DoctorFinding[], root: string): void {
  try {
    const seen = getInstrumentationRuntimeFindings();
    const examples = (kind: 'server' | 'client'): string =>
      seen.examples
        .filter((e) => e.kind === kind)
        .slice(0, 3)
        .map((e) => `${e.target} (${e.instrumentation})`)
        .join(', ');
    if (seen.nestedServerSpans > 0) {
      findings.push({
        code: 'DOUBLE_SERVER_SPANS',
        severity: 'error',
        message: `${seen.nestedServerSpans} request(s) got two SERVER spans, tracewire's under another instrumentation's: ${examples('server')}`,
        fix: "remove officialServerSpan: 'own' from the tracewire middleware options (the default 'reuse' adds to the official span instead), or disable the other HTTP server instrumentation (OTEL_NODE_DISABLED_INSTRUMENTATIONS=http, or drop HttpInstrumentation from NodeSDK)",
      });
    }
    if (seen.nestedClientSpans > 0) {
      findings.push({
        code: 'DOUBLE_CLIENT_SPANS',
        severity: 'error',
        message: `${seen.nestedClientSpans} outgoing request(s) got two CLIENT spans: ${examples('client')}`,
        fix: 'call instrumentHttpClient()/start() after the official SDK started, or disable the other client instrumentation (OTEL_NODE_DISABLED_INSTRUMENTATIONS=http,undici)',
      });
    }
    if (seen.sharedServerSpans > 0 || seen.sharedClientSpans > 0) {
      findings.push({
        code: 'OFFICIAL_SPANS_REUSED',
        severity: 'info',
        message: `tracewire added to the official instrumentation's spans instead of making its own: ${seen.sharedServerSpans} SERVER, ${seen.sharedClientSpans} CLIENT (one span per request, as intended side by side)`,
        fix: 'to finish the migration remove the official HTTP instrumentation; tracewire then makes these spans itself',
      });
    }
    const patched: string[] = [];
    const require = createRequire(join(root, 'package.json'));
    for (const [mod, fns] of [
      ['node:http', ['request', 'get']],
      ['node:https', ['request', 'get']],
    ] as const) {
      const m = require(mod) as Record<string, unknown> & { Server?: { prototype?: { emit?: unknown } } };
      if (fns.some((f) => isPatched(m[f])) || isPatched(m.Server?.prototype?.emit)) patched.push(mod);
    }
    for (const [mod, probe] of [
      ['pg', (m: Record<string, any>) => m.Client?.prototype?.query],
      ['@grpc/grpc-js', (m: Record<string, any>) => m.Server?.prototype?.register],
      ['express', (m: Record<string, any>) => m.Router?.prototype?.route ?? m.Router?.route],
    ] as const) {
      const loaded = loadedModule(require, mod);
      if (loaded !== undefined && isPatched(probe(loaded))) patched.push(mod);
    }
    if (patched.length > 0) {
      findings.push({
        code: 'OFFICIAL_PATCHED',
        severity: 'info',
        message: `official OpenTelemetry instrumentations patched ${patched.join(', ')} in this process`,
        fix: 'beside tracewire each request is still traced once (see OFFICIAL_SPANS_REUSED); to finish the migration remove them (see docs/migrating-from-auto-instrumentation.md)',
      });
    }
  } catch {
    // A broken global must not make the doctor throw.
  }
}

/** The module if it is already loaded (never loads it). */
function loadedModule(require: NodeJS.Require, name: string): Record<string, unknown> | undefined {
  try {
    const path = require.resolve(name);
    return require.cache[path]?.exports as Record<string, unknown> | undefined;
  } catch {
    return undefined;
  }
}

function checkNode(version: string, findings: DoctorFinding[]): void {
  if (isSupportedNodeVersion(version)) return;
  findings.push({
    code: 'NODE_UNSUPPORTED',
    severity: 'error',
    message: `Node.js ${version} is older than tracewire supports (>= ${MIN_NODE_VERSION}, what OpenTelemetry JS 3.x needs); npm only warns about engines at install, and telemetry may be silently incomplete`,
    fix: `run the service on Node.js ${MIN_NODE_VERSION} or later (Node 22 LTS or 24 LTS)`,
  });
}

function checkEnv(env: Env, findings: DoctorFinding[]): void {
  if (sdkDisabled(env)) {
    findings.push({
      code: 'SDK_DISABLED',
      severity: 'warn',
      message: 'OTEL_SDK_DISABLED=true: start() installs nothing, all telemetry is a no-op',
      fix: 'unset OTEL_SDK_DISABLED',
    });
  }
  const traces = planTraces(env);
  if (traces === 'off') {
    findings.push({
      code: 'TRACES_OFF',
      severity: 'warn',
      message: 'OTEL_TRACES_EXPORTER=none: no spans are exported',
      fix: 'set OTEL_TRACES_EXPORTER=otlp (or unset it and set OTEL_EXPORTER_OTLP_ENDPOINT)',
    });
  } else {
    findings.push({
      code: 'TRACES_DESTINATION',
      severity: 'info',
      message:
        traces === 'console'
          ? 'traces: readable console output (no OTEL_TRACES_EXPORTER or OTLP endpoint is set)'
          : `traces: ${env.OTEL_TRACES_EXPORTER ?? 'otlp'} via ${env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf'} to ${env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318'}`,
    });
  }
  findings.push({
    code: 'METRICS_DESTINATION',
    severity: 'info',
    message:
      planMetrics(env) === 'off'
        ? 'metrics: off (set OTEL_METRICS_EXPORTER=otlp|prometheus|console or an OTLP endpoint)'
        : `metrics: ${env.OTEL_METRICS_EXPORTER ?? 'otlp'}`,
  });
  const sampler = (env.OTEL_TRACES_SAMPLER ?? '').trim();
  const ratio = Number(env.OTEL_TRACES_SAMPLER_ARG);
  if (sampler === 'always_off' || sampler === 'parentbased_always_off') {
    findings.push({
      code: 'SAMPLER_OFF',
      severity: 'warn',
      message: `OTEL_TRACES_SAMPLER=${sampler}: root spans are never sampled`,
      fix: 'use parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG between 0 and 1',
    });
  } else if (sampler.endsWith('traceidratio') && env.OTEL_TRACES_SAMPLER_ARG !== undefined && ratio === 0) {
    findings.push({
      code: 'SAMPLER_OFF',
      severity: 'warn',
      message: 'OTEL_TRACES_SAMPLER_ARG=0: root spans are never sampled',
      fix: 'raise OTEL_TRACES_SAMPLER_ARG',
    });
  }
}

interface WithDelegate {
  getDelegate?: () => unknown;
}

function checkRuntime(env: Env, findings: DoctorFinding[]): void {
  try {
    const registry = (globalThis as Record<symbol, { version?: string } | undefined>)[
      Symbol.for('opentelemetry.js.api.1')
    ];
    const own = ownApiVersion();
    if (registry?.version !== undefined && own !== undefined && !apiAccepts(registry.version)(own)) {
      findings.push({
        code: 'GLOBAL_API_INCOMPATIBLE',
        severity: 'error',
        message: `the global OpenTelemetry API was registered by ${API} ${registry.version}; the copy @tracewire uses (${own}) cannot see it, so its tracers and meters are no-ops`,
        fix: `make the tree resolve one ${API} (see API_INCOMPATIBLE / API_DUPLICATE)`,
      });
    }
    const tp = trace.getTracerProvider() as WithDelegate;
    const delegate = typeof tp.getDelegate === 'function' ? tp.getDelegate() : tp;
    if (ctorName(delegate) === 'NoopTracerProvider' && planTraces(env) !== 'off' && !sdkDisabled(env)) {
      findings.push({
        code: 'NOOP_TRACER_PROVIDER',
        severity: 'error',
        message: 'no tracer provider is registered: every span is a no-op',
        fix: "call start() from '@tracewire/node' before the app loads (or node --import @tracewire/node/register)",
      });
    }
    if (
      ctorName(metrics.getMeterProvider()) === 'NoopMeterProvider' &&
      planMetrics(env) !== 'off' &&
      !sdkDisabled(env)
    ) {
      findings.push({
        code: 'NOOP_METER_PROVIDER',
        severity: 'warn',
        message: 'no meter provider is registered: every metric is a no-op',
        fix: 'call start() with OTEL_METRICS_EXPORTER set, or pass metricReaders',
      });
    }
    const key = createContextKey('tracewire.doctor');
    const seen = context.with(ROOT_CONTEXT.setValue(key, true), () => context.active().getValue(key));
    if (seen !== true) {
      findings.push({
        code: 'NO_CONTEXT_MANAGER',
        severity: 'error',
        message:
          'no context manager is registered: the active span is lost, so spans do not nest and logs carry no trace id',
        fix: 'start() installs the AsyncLocalStorage context manager; or context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())',
      });
    }
    if (propagation.fields().length === 0) {
      findings.push({
        code: 'NO_PROPAGATOR',
        severity: 'warn',
        message:
          'no propagator is registered: traces are not continued across services (OTEL_PROPAGATORS=none?)',
        fix: 'unset OTEL_PROPAGATORS=none, or let start() install the W3C propagator',
      });
    }
  } catch {
    // A broken global must not make the doctor throw.
  }
}

function ctorName(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? (value as object).constructor?.name : undefined;
}

let cachedOwnApiVersion: string | undefined | null = null;
function ownApiVersion(): string | undefined {
  if (cachedOwnApiVersion !== null) return cachedOwnApiVersion;
  cachedOwnApiVersion = undefined;
  try {
    let dir = dirname(createRequire(import.meta.url).resolve(API));
    for (let i = 0; i < 5; i++) {
      try {
        const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
          name?: string;
          version?: string;
        };
        if (manifest.name === API) {
          cachedOwnApiVersion = manifest.version;
          break;
        }
      } catch {
        // not this directory
      }
      dir = dirname(dir);
    }
  } catch {
    // unresolvable: the check is skipped
  }
  return cachedOwnApiVersion;
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(-.+)?$/;

/**
 * The API's own compatibility rule (`@opentelemetry/api` internal/semver): a copy at `own` accepts a
 * registered global at `global` when majors match and `own.minor <= global.minor` (0.x: same minor,
 * `own.patch <= global.patch`); prereleases only match exactly.
 */
export function apiAccepts(global: string): (own: string) => boolean {
  return (own) => {
    if (own === global) return true;
    const o = SEMVER.exec(own);
    const g = SEMVER.exec(global);
    if (o === null || g === null || o[4] !== undefined || g[4] !== undefined) return false;
    if (o[1] !== g[1]) return false;
    if (o[1] === '0') return o[2] === g[2] && Number(o[3]) <= Number(g[3]);
    return Number(o[2]) <= Number(g[2]);
  };
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

function maxVersion(pkgs: { version: string }[]): string {
  return (
    pkgs
      .map((p) => p.version)
      .sort(compareVersions)
      .at(-1) ?? '0.0.0'
  );
}

function group(pkgs: Pkg[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const p of pkgs) {
    const set = out.get(p.name) ?? new Set<string>();
    set.add(p.version);
    out.set(p.name, set);
  }
  return out;
}

async function findRoot(start: string): Promise<string> {
  let dir = start;
  for (;;) {
    if (await isDir(join(dir, 'node_modules'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

async function readManifest(
  dir: string,
): Promise<{ name: string; version: string; deps: string[] } | undefined> {
  try {
    const raw = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    const name = typeof raw.name === 'string' ? raw.name : undefined;
    const version = typeof raw.version === 'string' ? raw.version : '0.0.0';
    if (name === undefined) return undefined;
    const deps = new Set<string>();
    // devDependencies are installed only for the project and its workspaces (not under node_modules).
    const fields = ['dependencies', 'peerDependencies', 'optionalDependencies'];
    if (!dir.split(sep).includes('node_modules')) fields.push('devDependencies');
    for (const field of fields) {
      const value = raw[field];
      if (value !== null && typeof value === 'object') for (const k of Object.keys(value)) deps.add(k);
    }
    return { name, version, deps: [...deps] };
  } catch {
    return undefined;
  }
}

/** Options of {@link formatDoctorReport}. */
export interface FormatDoctorOptions {
  /** Findings only, no package listing (the one warning `start()` prints). @default false */
  brief?: boolean;
}

const MARK: Record<DoctorSeverity, string> = { error: '✖ error', warn: '⚠ warn ', info: 'ℹ info ' };

/**
 * Renders a report as text: each package copy with who pulls it in, then each finding with its fix.
 *
 * @example
 * process.stdout.write(formatDoctorReport(await runDoctor()));
 */
export function formatDoctorReport(report: DoctorReport, options: FormatDoctorOptions = {}): string {
  const lines: string[] = [];
  if (options.brief !== true) {
    lines.push(`tracewire doctor: ${report.root}`, '');
    const sections: [string, (name: string) => boolean][] = [
      [API, (n) => n === API],
      ['OpenTelemetry SDK', (n) => SDK_PACKAGES.has(n)],
      ['tracewire', (n) => n.startsWith('@tracewire/')],
    ];
    for (const [title, match] of sections) {
      const rows = report.packages.filter((p) => match(p.name));
      lines.push(`${title}:`);
      if (rows.length === 0) lines.push('  (none installed)');
      for (const p of rows) {
        const by = p.requiredBy.length > 0 ? `  <- ${p.requiredBy.join(', ')}` : '';
        lines.push(`  ${p.name === API ? '' : `${p.name} `}${p.version}  ${p.path}${by}`);
      }
      lines.push('');
    }
  }
  const order: DoctorSeverity[] = ['error', 'warn', 'info'];
  const findings = [...report.findings].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity));
  for (const f of findings) {
    lines.push(`${MARK[f.severity]} ${f.code}: ${f.message}`);
    if (f.fix !== undefined) lines.push(`    fix: ${f.fix}`);
  }
  if (options.brief !== true) {
    const errors = findings.filter((f) => f.severity === 'error').length;
    const warnings = findings.filter((f) => f.severity === 'warn').length;
    lines.push(
      '',
      errors + warnings === 0 ? 'no problems found' : `${errors} error(s), ${warnings} warning(s)`,
    );
  }
  return lines.join('\n');
}
