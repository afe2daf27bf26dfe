// Where a pool or connection connects: `server.address`, `server.port`, `db.namespace`, the
// default pool name. Each driver reads its own configuration into a ConnectionInfo (only host,
// port, socket path and database: never the user, password or the rest of a connection string).

/** Host, port and database of a connection; each may be unknown. */
export interface ConnectionInfo {
  address: string | undefined;
  port: number | undefined;
  namespace: string | undefined;
}

/** A non-empty string of at most 256 characters, else undefined. */
export function boundedString(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined;
}

/** A TCP port (a number, or digits in a string), else undefined. */
export function portNumber(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65_536 ? n : undefined;
}

/**
 * `address:port` (with `defaultPort` when the port is unknown; the address alone without either,
 * as for a socket path), or undefined without an address.
 */
export function serverTarget(info: ConnectionInfo, defaultPort: number | undefined): string | undefined {
  if (info.address === undefined) return undefined;
  const port = info.port ?? defaultPort;
  return port !== undefined ? `${info.address}:${port}` : info.address;
}

/** The semconv default pool name, `server.address:server.port/db.namespace`, or `fallback`. */
export function defaultPoolName(
  info: ConnectionInfo,
  defaultPort: number | undefined,
  fallback: string,
): string {
  let name = serverTarget(info, defaultPort) ?? '';
  if (info.namespace !== undefined) name += `/${info.namespace}`;
  return name.length > 0 ? name.slice(0, 256) : fallback;
}
