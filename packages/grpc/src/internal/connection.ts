import type { ServerInterceptingCallInterface } from '@grpc/grpc-js';

/** The connection accessors of a server intercepting call; the first two appeared after 1.10. */
interface ServerCallAccessors {
  getHost?: () => string;
  getConnectionInfo?: () => { remoteAddress?: string; remotePort?: number } | undefined;
  getPeer?: () => string;
}

/**
 * The `:authority` the client used, where grpc-js exposes it (`getHost`, grpc-js >= 1.11). grpc-js
 * 1.10 removes pseudo-headers from the request metadata and keeps no copy: `undefined` there.
 */
export function hostOf(call: ServerInterceptingCallInterface): string | undefined {
  const c = call as ServerCallAccessors;
  return typeof c.getHost === 'function' ? c.getHost() : undefined;
}

/**
 * The client's socket address and port: `getConnectionInfo()` where grpc-js has it (>= 1.11),
 * else parsed from `getPeer()` (grpc-js 1.10: `address:port` with an unbracketed IPv6 address, or
 * `unknown`).
 */
export function peerOf(
  call: ServerInterceptingCallInterface,
): { remoteAddress?: string; remotePort?: number } | undefined {
  const c = call as ServerCallAccessors;
  if (typeof c.getConnectionInfo === 'function') return c.getConnectionInfo();
  return typeof c.getPeer === 'function' ? parsePeer(c.getPeer()) : undefined;
}

/** `address:port` (the address may be an unbracketed IPv6 address) or a bare address. */
export function parsePeer(peer: unknown): { remoteAddress: string; remotePort?: number } | undefined {
  if (typeof peer !== 'string' || peer.length === 0 || peer.length > 300 || peer === 'unknown') {
    return undefined;
  }
  const colon = peer.lastIndexOf(':');
  if (colon > 0 && peer.charCodeAt(colon - 1) !== 0x3a /* : */) {
    const tail = peer.slice(colon + 1);
    if (/^\d{1,5}$/.test(tail)) {
      const port = Number(tail);
      if (port <= 65535) return { remoteAddress: peer.slice(0, colon), remotePort: port };
    }
  }
  // No port: a bare address (a unix socket path, or an IPv6 address given without one).
  return { remoteAddress: peer };
}
