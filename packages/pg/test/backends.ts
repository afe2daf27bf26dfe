// The two PostgreSQL backends the suite runs against: PGlite served over the wire protocol
// (always available, in-process) and the PostgreSQL server on 127.0.0.1:5432 (CI; skipped with a
// message when it is not reachable).

import net from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';

export interface Connection {
  host: string;
  port: number;
  user: string;
  database: string;
}

export interface Backend {
  name: string;
  connection: Connection;
  /** Whether `pg_sleep` is safe (PGlite runs in this process: a sleep would block the test). */
  canSleep: boolean;
  close(): Promise<void>;
}

export async function startPglite(): Promise<Backend> {
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 16 });
  await server.start();
  const [host, port] = server.getServerConn().split(':');
  return {
    name: 'PGlite socket',
    connection: { host: host ?? '127.0.0.1', port: Number(port), user: 'postgres', database: 'postgres' },
    canSleep: false,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}

/** The local PostgreSQL server, if one answers within a second (trust auth). */
export async function probeServer(): Promise<Backend | undefined> {
  for (const user of ['postgres', 'root']) {
    const connection: Connection = { host: '127.0.0.1', port: 5432, user, database: 'test' };
    const client = new pg.Client({ ...connection, connectionTimeoutMillis: 1000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return { name: 'PostgreSQL server', connection, canSleep: true, close: async () => {} };
    } catch {
      await client.end().catch(() => {});
    }
  }
  return undefined;
}

/** A TCP port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
