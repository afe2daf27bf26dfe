import { parseHost } from '@tracewire/core';
import { cap } from './limits.js';

/** `server.address` / `server.port` of a client. */
export interface ServerEndpoint {
  address: string;
  port: number | undefined;
}

const MAX_TARGET_LENGTH = 256;

/**
 * Derives `server.address` / `server.port` from a gRPC channel target, as semconv docs/rpc/grpc.md
 * describes (gRPC Name Resolution: `dns:[//authority/]host[:port]`, `unix:path`, `unix:///path`,
 * `ipv4:`/`ipv6:` address lists, plain `host[:port]`). Anything else is kept whole as the address
 * with no port. The target is configuration, not input, but it is still capped.
 */
export function parseTarget(target: string | undefined): ServerEndpoint | undefined {
  if (target === undefined || target.length === 0) return undefined;
  const t = cap(target, MAX_TARGET_LENGTH);
  const whole: ServerEndpoint = { address: t, port: undefined };
  const lower = t.toLowerCase();
  if (lower.startsWith('dns:')) {
    let rest = t.slice(4);
    if (rest.startsWith('//')) {
      const slash = rest.indexOf('/', 2);
      if (slash === -1) return whole;
      rest = rest.slice(slash + 1);
    }
    return hostPort(rest) ?? whole;
  }
  if (lower.startsWith('unix:')) {
    let path = t.slice(5);
    if (path.startsWith('//')) path = path.slice(2);
    return path.length > 0 ? { address: path, port: undefined } : whole;
  }
  if (lower.startsWith('ipv4:') || lower.startsWith('ipv6:')) {
    const rest = t.slice(5);
    return rest.includes(',') ? whole : (hostPort(rest) ?? whole);
  }
  if (t.includes('://')) return whole;
  return hostPort(t) ?? whole;
}

function hostPort(value: string): ServerEndpoint | undefined {
  const parsed = parseHost(value);
  return parsed === undefined ? undefined : { address: parsed.address, port: parsed.port };
}

/** Schemes grpc-js (and `@grpc/grpc-js-xds`) resolve; any other prefix is part of a plain host. */
const TARGET_SCHEME = /^(?:dns|unix|unix-abstract|ipv4|ipv6|xds|passthrough|vsock):/i;

/**
 * `grpc.target` (gRFC A66): the canonical target URI, i.e. the target with the scheme grpc-js
 * applies when the user did not write one (`orders:50051` -> `dns:///orders:50051`), capped.
 * `other` when no target was given (an interceptor cannot see the channel).
 */
export function canonicalTarget(target: string | undefined): string {
  if (target === undefined || target.length === 0) return 'other';
  const t = cap(target, MAX_TARGET_LENGTH);
  return TARGET_SCHEME.test(t) ? t : `dns:///${t}`;
}
