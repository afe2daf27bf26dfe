import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, installProcessHandlers } from '../src/index.js';
import { type LogLine, memoryDestination } from './helpers.js';

// Each fault runs in its own Node process (the one running vitest: Node 24), straight from the
// TypeScript sources: type stripping is on by default in Node 24, `--conditions=source` picks the
// workspace packages' `source` export, and ts-resolve.mjs maps the `.js` suffixes of relative
// imports to the `.ts` files. No build step is needed.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/process-fault.mjs', import.meta.url));
const resolver = fileURLToPath(new URL('./fixtures/ts-resolve.mjs', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: LogLine[];
  exported: { name: string; traceId: string; status: number; events: string[] }[];
  marker(name: string): string | undefined;
}

function run(scenario: string, nodeFlags: string[] = []): Promise<Run> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const args = [...nodeFlags, '--conditions=source', '--import', resolver, fixture, scenario];
  const child = spawn(process.execPath, args, {
    cwd: packageDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = stdout
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as LogLine);
      const exported = stderr
        .split('\n')
        .filter((l) => l.startsWith('EXPORTED '))
        .map((l) => JSON.parse(l.slice('EXPORTED '.length)));
      const marker = (name: string) =>
        stderr
          .split('\n')
          .find((l) => l.startsWith(`${name} `) || l === name)
          ?.slice(name.length + 1);
      resolve({ code, stdout, stderr, lines, exported, marker });
    });
  });
}

describe('installProcessHandlers (child processes)', () => {
  it('uncaught exception in a span: fatal line with its trace id, span recorded and flushed, exit 1', async () => {
    const result = await run('uncaught-in-span');
    expect(result.code).toBe(1);
    const traceId = result.marker('TRACE');
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(result.stderr).toContain('LOGGER_FLUSHED');
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatchObject({
      level: 60,
      name: 'fixture',
      msg: 'uncaught exception',
      event: 'uncaughtException',
      trace_id: traceId,
      trace_flags: '01',
      err: { type: 'Error', message: 'boom in a timer' },
    });
    expect(result.lines[0]?.err.stack).toContain('process-fault.mjs');
    // Exported only because the handler flushed the global tracer provider (batch delay: 1 h).
    expect(result.exported).toEqual([{ name: 'work', traceId, status: 2, events: ['exception'] }]);
  });

  it('uncaught exception outside any span: no trace fields', async () => {
    const result = await run('uncaught-outside-span');
    expect(result.code).toBe(1);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatchObject({ level: 60, err: { message: 'boom outside' } });
    expect(result.lines[0]).not.toHaveProperty('trace_id');
  });

  it('unhandled rejection of a TracedError: the trace it was created in, the configured exit code', async () => {
    const result = await run('rejection-traced');
    expect(result.code).toBe(3);
    const traceId = result.marker('TRACE');
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatchObject({
      level: 60,
      msg: 'unhandled promise rejection',
      event: 'unhandledRejection',
      trace_id: traceId,
      err: { type: 'TracedError', message: 'order store down', codeName: 'UNAVAILABLE', traceId },
    });
    // The sampled flag of that trace is not known any more: not written rather than guessed.
    expect(result.lines[0]).not.toHaveProperty('trace_flags');
    expect(result.lines[0]?.span_id).toBe(result.lines[0]?.err.spanId);
    expect(result.exported.map((s) => s.name)).toEqual(['create']);
  });

  it('exitOnUnhandledRejection: false logs the rejection at error and keeps running', async () => {
    const result = await run('rejection-continue');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('STILL_RUNNING');
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatchObject({
      level: 50,
      event: 'unhandledRejection',
      err: { message: 'ignored rejection' },
    });
  });

  it('reports a rejection once under --unhandled-rejections=strict, with the rejection policy', async () => {
    const result = await run('rejection-continue', ['--unhandled-rejections=strict']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('STILL_RUNNING');
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatchObject({ level: 50, event: 'unhandledRejection' });
  });

  it('exits within the flush timeout when a provider never finishes flushing', async () => {
    const result = await run('hung-flush');
    expect(result.code).toBe(1);
    expect(result.lines[0]).toMatchObject({ level: 60, err: { message: 'boom with a hung provider' } });
  });

  it('is idempotent: a second install adds no listener and the fault is logged once', async () => {
    const result = await run('installed-twice');
    expect(result.code).toBe(1);
    expect(result.marker('LISTENERS')).toBe('1 1');
    expect(result.marker('AFTER_SECOND')).toBe('1');
    expect(result.lines).toHaveLength(1);
  });

  it('never masks the original error: printed to stderr when the logger cannot write it', async () => {
    const result = await run('broken-logger');
    expect(result.code).toBe(1);
    expect(result.lines).toHaveLength(0);
    expect(result.stderr).toContain('Error: the original failure');
    expect(result.stderr).toContain('process-fault.mjs');
  });
});

describe('installProcessHandlers (in process)', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => {
    uninstall?.();
    uninstall = undefined;
  });

  it('adds one listener per event, returns an uninstall function, and validates its options', () => {
    const log = createLogger({ destination: memoryDestination() });
    const before = [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')];
    uninstall = installProcessHandlers({ logger: log });
    const noop = installProcessHandlers({ logger: log });
    expect([process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')]).toEqual(
      [(before[0] ?? 0) + 1, (before[1] ?? 0) + 1],
    );
    noop();
    expect(process.listenerCount('uncaughtException')).toBe((before[0] ?? 0) + 1);
    uninstall();
    uninstall = undefined;
    expect([process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')]).toEqual(
      before,
    );
    expect(Object.getOwnPropertySymbols(process).map(String)).not.toContain(
      'Symbol(tracewire.logger.processHandlers)',
    );

    expect(() => installProcessHandlers({} as never)).toThrow(TypeError);
    expect(() => installProcessHandlers({ logger: log, exitCode: 0 })).toThrow(/exitCode/);
    expect(() => installProcessHandlers({ logger: log, flushTimeoutMs: -1 })).toThrow(/flushTimeoutMs/);
    expect(() => installProcessHandlers({ logger: log, providers: [{}] as never })).toThrow(/providers/);
  });
});
