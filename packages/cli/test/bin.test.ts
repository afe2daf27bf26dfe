// The built `tracewire` bin, as npx runs it: a real process, its stdout and exit status.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { prepare } from './helpers.js';

const BIN = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function run(...args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout };
}

describe('the tracewire bin', () => {
  it('init --dry-run: the diff, the summary as the last line, exit 0', () => {
    const dir = prepare('grpc', 'bin-dry-run');
    const { status, stdout } = run('init', dir, '--dry-run');
    expect(status).toBe(0);
    expect(stdout).toContain('+    interceptors: [otelGrpcClientInterceptor(), stampCaller],');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('tracewire init: 3 changed, 0 manual, 0 failed');
  });

  it('init on a project it cannot fully place: exit 1; bad usage: exit 2', () => {
    const dir = prepare('unplaceable', 'bin-manual');
    expect(run('init', dir, '--no-install').status).toBe(1);
    expect(run('init', '--what').status).toBe(2);
  });
});
