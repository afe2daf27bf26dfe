// The orders database: the PostgreSQL server of DATABASE_URL when it is set, otherwise an embedded
// PGlite served over the Postgres wire protocol in this process, so `pg` (and @tracewire/pg) talk
// to it exactly as to a real server.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { tracePg } from '@tracewire/pg';
import pg from 'pg';

export interface Database {
  readonly pool: pg.Pool;
  readonly description: string;
  close(): Promise<void>;
}

export async function openDatabase(databaseUrl: string | undefined): Promise<Database> {
  let embedded: { server: PGLiteSocketServer; db: PGlite } | undefined;
  let config: pg.PoolConfig;
  let description: string;
  if (databaseUrl) {
    config = { connectionString: databaseUrl };
    description = `PostgreSQL at ${new URL(databaseUrl).host}`;
  } else {
    const db = await PGlite.create();
    const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 8 });
    await server.start();
    embedded = { server, db };
    const [host, port] = server.getServerConn().split(':');
    config = { host, port: Number(port), user: 'postgres', database: 'postgres' };
    description = `embedded PGlite on ${server.getServerConn()}`;
  }
  const pool = tracePg(new pg.Pool({ ...config, max: 4, connectionTimeoutMillis: 2000 }), {
    poolName: 'orders-db',
  });
  pool.on('error', () => {}); // idle client errors (server going away at shutdown)
  await pool.query(
    `CREATE TABLE IF NOT EXISTS demo_orders (
       id text PRIMARY KEY,
       sku text NOT NULL,
       quantity integer NOT NULL,
       amount_cents integer NOT NULL,
       status text NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
  return {
    pool,
    description,
    async close() {
      await pool.end();
      if (embedded) {
        await embedded.server.stop();
        await embedded.db.close();
      }
    },
  };
}
