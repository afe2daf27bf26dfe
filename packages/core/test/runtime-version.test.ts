import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { isSupportedNodeVersion, MIN_NODE_VERSION } from '../src/index.js';
import { warnIfUnsupportedRuntime } from '../src/runtime-version.js';

const WARNED = Symbol.for('tracewire.core.runtime-version-warned');

function captureDiag(): string[] {
  const lines: string[] = [];
  const log = (message: string): void => {
    lines.push(message);
  };
  const logger: DiagLogger = { error: log, warn: log, info: log, debug: log, verbose: log };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  return lines;
}

afterEach(() => {
  diag.disable();
  delete (globalThis as Record<symbol, unknown>)[WARNED];
});

describe('Node.js versions outside engines.node', () => {
  it('compares against 22.15', () => {
    expect(MIN_NODE_VERSION).toBe('22.15.0');
    expect(isSupportedNodeVersion('v20.20.2')).toBe(false);
    expect(isSupportedNodeVersion('v22.14.9')).toBe(false);
    expect(isSupportedNodeVersion('v22.15.0')).toBe(true);
    expect(isSupportedNodeVersion('22.23.3')).toBe(true);
    expect(isSupportedNodeVersion('v24.0.0')).toBe(true);
    expect(isSupportedNodeVersion('v100.0.0')).toBe(true);
    // Not a Node version string: nothing is known against it.
    expect(isSupportedNodeVersion('')).toBe(true);
    expect(isSupportedNodeVersion('bun-1.2')).toBe(true);
  });

  it('warns once per process through diag, naming the version needed', () => {
    const lines = captureDiag();
    expect(warnIfUnsupportedRuntime('20.20.2')).toBe(true);
    expect(warnIfUnsupportedRuntime('20.20.2')).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('Node.js 20.20.2 is not supported');
    expect(lines[0]).toContain('>= 22.15.0');
  });

  it('says nothing on a supported runtime (this one)', () => {
    const lines = captureDiag();
    expect(warnIfUnsupportedRuntime()).toBe(false);
    expect(warnIfUnsupportedRuntime('v22.15.0')).toBe(false);
    expect(lines).toEqual([]);
  });

  it('never throws, even when the diag logger does', () => {
    const thrower = (): void => {
      throw new Error('logger down');
    };
    diag.setLogger(
      { error: thrower, warn: thrower, info: thrower, debug: thrower, verbose: thrower },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
    expect(() => warnIfUnsupportedRuntime('v18.0.0')).not.toThrow();
  });
});
