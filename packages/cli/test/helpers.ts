import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type InitOptions, type InitResult, runInit } from '../src/index.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
// Inside the repository, so the fixtures resolve express, koa, @tracewire/* ... from its node_modules.
export const WORK = fileURLToPath(new URL('./.work/', import.meta.url));

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Express 4 for a fixture: its own node_modules/express is a link to the repository's `express4`
 * (npm alias of express@4), kept out of git through .git/info/exclude.
 */
export function useExpress4(dir: string): void {
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(
    fileURLToPath(new URL('../../../node_modules/express4', import.meta.url)),
    join(dir, 'node_modules', 'express'),
  );
  writeFileSync(join(dir, '.git', 'info', 'exclude'), 'node_modules/\n');
  const pkg = join(dir, 'package.json');
  writeFileSync(pkg, readFileSync(pkg, 'utf8').replace('"express": "^5.1.0"', '"express": "^4.21.0"'));
}

/** A fresh copy of a fixture, committed in its own git repository. */
export function prepare(name: string, as = name, before?: (dir: string) => void): string {
  const dir = join(WORK, as);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  git(dir, 'init', '-q');
  before?.(dir);
  commitAll(dir, 'fixture');
  return dir;
}

export function commitAll(dir: string, message: string): void {
  git(dir, 'add', '-A');
  git(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', message);
}

/** Every file of the project (not .git, not build output), path -> bytes. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git' || e.name === 'dist' || e.name === 'node_modules') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) visit(p);
      else out.set(relative(dir, p), readFileSync(p, 'latin1'));
    }
  };
  visit(dir);
  return out;
}

export function init(dir: string, options: InitOptions = {}): InitResult & { output: string } {
  let output = '';
  const result = runInit({ dir, install: false, ...options, write: (t) => (output += t) });
  return { ...result, output };
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
}

export const SPAN_KIND = { SERVER: 2, CLIENT: 3 } as const;

/** An OTLP/HTTP JSON receiver on 127.0.0.1:0 that keeps every span it gets. */
export async function startReceiver(): Promise<{
  url: string;
  spans: OtlpSpan[];
  close: () => Promise<void>;
}> {
  const spans: OtlpSpan[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        try {
          const data = JSON.parse(body) as {
            resourceSpans?: { scopeSpans?: { spans?: Record<string, any>[] }[] }[];
          };
          for (const rs of data.resourceSpans ?? []) {
            for (const ss of rs.scopeSpans ?? []) {
              for (const s of ss.spans ?? []) {
                const attributes: OtlpSpan['attributes'] = {};
                for (const a of s.attributes ?? []) {
                  const v = a.value ?? {};
                  attributes[a.key] =
                    v.stringValue ??
                    (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
                }
                spans.push({
                  traceId: s.traceId,
                  spanId: s.spanId,
                  parentSpanId: s.parentSpanId,
                  name: s.name,
                  kind: s.kind,
                  attributes,
                });
              }
            }
          }
        } catch {
          // not JSON: ignored, the assertions will say what is missing
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RunningApp {
  port: number;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts the project the way its package.json says (`npm start`'s script, through sh), on the
 * Node that runs the tests, exporting spans as OTLP/JSON to `otlpUrl`.
 */
export async function startApp(
  dir: string,
  otlpUrl: string,
  env: Record<string, string> = {},
): Promise<RunningApp> {
  const script = (
    JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts: { start: string } }
  ).scripts.start;
  const child: ChildProcess = spawn('sh', ['-c', script], {
    cwd: dir,
    detached: true, // its own process group, so stop() ends sh and node together
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? '',
      PORT: '0',
      OTEL_SERVICE_NAME: 'fixture',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      ...env,
    },
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  let exited = false;
  const exit = new Promise<void>((r) =>
    child.on('exit', () => {
      exited = true;
      r();
    }),
  );
  const stop = async (): Promise<void> => {
    if (!exited && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exit;
  };
  try {
    const port = await waitFor(`the app to listen (output so far: ${output})`, () => {
      if (exited) throw new Error(`the app exited: ${output}`);
      const m = /listening on (\d+)/.exec(output);
      return m ? Number(m[1]) : undefined;
    });
    return { port, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A small project written from strings into test/.work/<name>, committed in its own git repository. */
export function project(name: string, files: Record<string, string>): string {
  const dir = join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  git(dir, 'init', '-q');
  commitAll(dir, 'project');
  return dir;
}
