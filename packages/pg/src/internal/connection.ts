// Where a pool or client connects, for `server.address`, `server.port`, `db.namespace` and the
// default pool name. Only host, port and database are ever read: user, password and the rest of
// a connection string are never looked at, let alone copied.

import {
  type ConnectionInfo,
  portNumber as port,
  defaultPoolName as sharedDefaultPoolName,
  boundedString as str,
} from '@tracewire/sql/driver';

export type { ConnectionInfo };

export const DEFAULT_PORT = 5432;

function env(name: string): string | undefined {
  try {
    return str(process.env[name]);
  } catch {
    return undefined;
  }
}

/**
 * Reads a `postgres://` / `postgresql://` URL's host, port and database. Other forms (key=value
 * strings, `socket:` URLs) yield nothing. Never throws; never reads the userinfo.
 */
function fromUrl(connectionString: string): Partial<ConnectionInfo> {
  if (!/^postgres(?:ql)?:\/\//i.test(connectionString)) return {};
  try {
    const url = new URL(connectionString);
    const out: Partial<ConnectionInfo> = {};
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host.length > 0) out.address = safeDecode(host);
    const p = port(url.port);
    if (p !== undefined) out.port = p;
    const db = url.pathname.length > 1 ? safeDecode(url.pathname.slice(1)) : undefined;
    if (db !== undefined && db.length > 0) out.namespace = db;
    // `?host=/var/run/postgresql` (a socket directory) overrides the URL host.
    const qHost = str(url.searchParams.get('host'));
    if (qHost !== undefined) out.address = qHost;
    return out;
  } catch {
    return {};
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Connection info from pool or client options, the way pg resolves them: the connection string wins
 * over explicit fields, then the PG* environment variables, then localhost:5432.
 */
export function connectionFromOptions(options: unknown): ConnectionInfo {
  const o = (typeof options === 'object' && options !== null ? options : {}) as Record<string, unknown>;
  let fromString: Partial<ConnectionInfo> = {};
  try {
    const cs = o.connectionString;
    if (typeof cs === 'string') fromString = fromUrl(cs);
  } catch {
    fromString = {};
  }
  return {
    address: fromString.address ?? str(safeRead(o, 'host')) ?? env('PGHOST') ?? 'localhost',
    port: fromString.port ?? port(safeRead(o, 'port')) ?? port(env('PGPORT')) ?? DEFAULT_PORT,
    namespace: fromString.namespace ?? str(safeRead(o, 'database')) ?? env('PGDATABASE'),
  };
}

/** Connection info of a pg Client, which resolved its parameters in its constructor. */
export function connectionFromClient(client: object): ConnectionInfo {
  const c = client as Record<string, unknown>;
  return {
    address: str(safeRead(c, 'host')),
    port: port(safeRead(c, 'port')),
    namespace: str(safeRead(c, 'database')),
  };
}

function safeRead(o: Record<string, unknown>, key: string): unknown {
  try {
    return o[key];
  } catch {
    return undefined;
  }
}

/** The semconv default pool name: `server.address:server.port/db.namespace`. */
export function defaultPoolName(info: ConnectionInfo): string {
  return sharedDefaultPoolName(info, DEFAULT_PORT, 'postgresql');
}
