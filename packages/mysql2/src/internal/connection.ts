// Where a pool or connection connects, for `server.address`, `server.port`, `db.namespace` and the
// default pool name. Only host, port, socket path and database are ever read from mysql2's
// resolved ConnectionConfig: user, password and the rest are never looked at, let alone copied.

import {
  type ConnectionInfo,
  portNumber as port,
  defaultPoolName as sharedDefaultPoolName,
  boundedString as str,
} from '@tracewire/sql/driver';
import { read } from './errors-info.js';

export type { ConnectionInfo };

export const DEFAULT_PORT = 3306;

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

/** The semconv default pool name: `server.address:server.port/db.namespace` (a socket: its path). */
export function defaultPoolName(info: ConnectionInfo): string {
  return sharedDefaultPoolName(info, undefined, 'mysql');
}
