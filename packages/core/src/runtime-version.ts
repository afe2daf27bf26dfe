import { diag } from '@opentelemetry/api';

/** The lowest Node.js version tracewire supports (what OpenTelemetry JS 3.x needs; `engines.node`). */
export const MIN_NODE_VERSION = '22.15.0';

// Once per process, across every copy of @tracewire/core (global state only under Symbol.for).
const WARNED = Symbol.for('tracewire.core.runtime-version-warned');

/**
 * Whether `version` (`v20.11.1` or `20.11.1`) is at least {@link MIN_NODE_VERSION}. A version that
 * cannot be parsed (another runtime's string) is treated as supported: nothing is known against it.
 */
export function isSupportedNodeVersion(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (m === null) return true;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const [minMajor, minMinor] = MIN_NODE_VERSION.split('.').map(Number) as [number, number];
  return major > minMajor || (major === minMajor && minor >= minMinor);
}

/**
 * On a Node.js older than `engines.node` allows, logs one `diag` warning per process naming the
 * version needed (installs only warn about `engines`, and everything then runs silently). Called
 * when an instrumentation is created, never per request; never throws.
 * @internal
 */
export function warnIfUnsupportedRuntime(version: string = process.versions?.node ?? ''): boolean {
  try {
    if (isSupportedNodeVersion(version)) return false;
    const g = globalThis as Record<symbol, unknown>;
    if (g[WARNED] === true) return true;
    g[WARNED] = true;
    diag.warn(
      `@tracewire: Node.js ${version} is not supported; tracewire needs Node.js >= ${MIN_NODE_VERSION} (what OpenTelemetry JS 3.x needs). Telemetry may be incomplete: upgrade Node.js.`,
    );
    return true;
  } catch {
    return false;
  }
}
