// The MariaDB/MySQL server the suite runs against (127.0.0.1:3306, root, empty password, database
// `test`; `.ci/run` starts it). In CI (process.env.CI) an unreachable server fails the run; on a
// workstation the suite is skipped with the reason printed.

import net from 'node:net';
import mysql from 'mysql2';

export const CONNECTION = {
  host: process.env.TW_MYSQL_HOST ?? '127.0.0.1',
  port: Number(process.env.TW_MYSQL_PORT ?? 3306),
  user: process.env.TW_MYSQL_USER ?? 'root',
  password: process.env.TW_MYSQL_PASSWORD ?? '',
  database: process.env.TW_MYSQL_DATABASE ?? 'test',
} as const;

/** Undefined when the server answers `SELECT 1`, else why not. */
export async function probe(): Promise<string | undefined> {
  const conn = mysql.createConnection({ ...CONNECTION, connectTimeout: 2000 });
  conn.on('error', () => {});
  try {
    await conn.promise().query('SELECT 1');
    return undefined;
  } catch (error) {
    return `${(error as Error).message} (${(error as { code?: string }).code ?? 'no code'})`;
  } finally {
    conn.destroy();
  }
}

/** A TCP port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A server that accepts connections and never says a word (a black-holed database). */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export const uniqueTable = (prefix: string): string =>
  `${prefix}_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
