// Where a pool or connection connects, for `server.address`, `server.port`, `db.namespace` and the
// default pool name. Only host, port, socket path and database are ever read from mysql2's
// resolved ConnectionConfig: user, password and the rest are never looked at, let alone copied.

import { read } from './errors-info.js';

/** Host, port and database of a connection; each may be unknown. */
export interface ConnectionInfo {
  address: string | undefined;
  port: number | undefined;
  namespace: string | undefined;
}

export const DEFAULT_PORT = 3306;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined;
}

function port(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65_536 ? n : undefined;
}

/**
 * Connection info from a mysql2 ConnectionConfig (a connection's `config`, a pool's
 * `config.connectionConfig`): a socket path is the address (and there is no port), else host and
 * port as mysql2 resolved them (it parses a `uri` into these fields itself).
 */
export function connectionFromConfig(config: unknown): ConnectionInfo {
  const socketPath = str(read(config, 'socketPath'));
  const namespace = str(read(config, 'database'));
  if (socketPath !== undefined) return { address: socketPath, port: undefined, namespace };
  return {
    address: str(read(config, 'host')) ?? 'localhost',
    port: port(read(config, 'port')) ?? DEFAULT_PORT,
    namespace,
  };
}

/** The semconv default pool name: `server.address:server.port/db.namespace`. */
export function defaultPoolName(info: ConnectionInfo): string {
  let name =
    info.address !== undefined
      ? info.port !== undefined
        ? `${info.address}:${info.port}`
        : info.address
      : '';
  if (info.namespace !== undefined) name += `/${info.namespace}`;
  return name.length > 0 ? name.slice(0, 256) : 'mysql';
}
