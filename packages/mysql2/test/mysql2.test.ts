// The behavioural suite of @tracewire/mysql2 against the real MariaDB/MySQL server. Real mysql2
// (callback and promise APIs), real SDK, no mocks. Cases: issue 18's Tests list and
// RELIABILITY.md T46, T50-T52 (the pg cases, applied to mysql2), T38, T65.

import { type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { GrpcCode, toProblemDetails } from '@tracewire/errors';
import { createTelemetry } from '@tracewire/testing';
import mysql from 'mysql2';
import mysqlp from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Mysql2InstrumentationOptions, mysqlErrorToTracedError, traceMysql2 } from '../src/index.js';
import { CONNECTION, closedPort, probe, silentServer, uniqueTable } from './db.js';

const SECRET = 'alice@example.com';
const unreachable = await probe();
const WHERE = `${CONNECTION.user}@${CONNECTION.host}:${CONNECTION.port}/${CONNECTION.database}`;

if (unreachable !== undefined) {
  describe('@tracewire/mysql2 against the MariaDB/MySQL server', () => {
    if (process.env.CI) {
      it(`the server at ${WHERE} is reachable (.ci/run starts it)`, () => {
        throw new Error(`no MariaDB/MySQL server at ${WHERE}: ${unreachable}`);
      });
    } else {
      it.skip(`skipped: no MariaDB/MySQL server at ${WHERE} (${unreachable}); .ci/run starts one`, () => {});
    }
  });
} else {
  suite();
}

function suite(): void {
  const telemetry = createTelemetry();
  const tracer = telemetry.tracerProvider.getTracer('test');
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  const closers: (() => Promise<unknown> | unknown)[] = [];
  const table = uniqueTable('tw_users');

  const options = (extra: Mysql2InstrumentationOptions = {}): Mysql2InstrumentationOptions => ({
    tracerProvider: telemetry.tracerProvider,
    meterProvider: telemetry.meterProvider,
    ...extra,
  });
  /** Ends a connection (a dead one included) without leaving its handshake half-done. */
  const endConnection = (c: mysql.Connection): Promise<void> =>
    new Promise<void>((resolve) => {
      try {
        c.end(() => resolve());
      } catch {
        resolve();
      }
    });
  const bareConnection = (): mysql.Connection => {
    const c = mysql.createConnection(CONNECTION);
    c.on('error', () => {});
    closers.push(() => endConnection(c));
    return c;
  };
  const connect = async (extra?: Mysql2InstrumentationOptions, config: mysql.ConnectionOptions = {}) => {
    const conn = mysql.createConnection({ ...CONNECTION, ...config });
    conn.on('error', () => {});
    closers.push(() => endConnection(conn));
    await conn.promise().connect();
    return traceMysql2(conn, options(extra));
  };
  const newPool = (config: mysql.PoolOptions = {}, extra?: Mysql2InstrumentationOptions): mysql.Pool => {
    const pool = traceMysql2(mysql.createPool({ ...CONNECTION, ...config }), options(extra));
    closers.push(() => new Promise<void>((resolve) => pool.end(() => resolve())));
    return pool;
  };
  /** Runs `fn` inside a new root span; returns its result and the span. */
  const inSpan = async <T>(name: string, fn: (span: Span) => Promise<T> | T): Promise<[T, Span]> =>
    tracer.startActiveSpan(name, { root: true }, async (span) => {
      try {
        const result: [T, Span] = [await fn(span), span];
        return result;
      } finally {
        span.end();
      }
    });
  const dbSpans = (): ReadableSpan[] => telemetry.spans().filter((s) => s.kind === SpanKind.CLIENT);
  const childrenOf = (parent: Span): ReadableSpan[] =>
    dbSpans().filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
  const only = (spans: ReadableSpan[]): ReadableSpan => {
    expect(spans).toHaveLength(1);
    return spans[0] as ReadableSpan;
  };
  const everything = (s: ReadableSpan): string =>
    JSON.stringify({ name: s.name, attributes: s.attributes, events: s.events, status: s.status });
  const poolName = `${CONNECTION.host}:${CONNECTION.port}/${CONNECTION.database}`;
  const activeSpanId = (): string | undefined => trace.getActiveSpan()?.spanContext().spanId;
  const cb = <T>(run: (done: (err: unknown, value?: T) => void) => unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      run((err, value) => (err ? reject(err) : resolve(value as T)));
    });

  describe(`@tracewire/mysql2 against the server at ${WHERE}`, () => {
    beforeAll(async () => {
      process.on('unhandledRejection', onUnhandled);
      const c = await mysqlp.createConnection(CONNECTION);
      await c.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, email VARCHAR(190) UNIQUE) ENGINE=InnoDB`);
      await c.end();
    });

    afterEach(async () => {
      for (const close of closers.splice(0)) await Promise.resolve(close()).catch(() => {});
      telemetry.reset();
    });

    afterAll(async () => {
      const c = await mysqlp.createConnection(CONNECTION);
      await c.query(`DROP TABLE IF EXISTS ${table}`);
      await c.end();
      await telemetry.shutdown();
      process.off('unhandledRejection', onUnhandled);
      // T52 / T65: nothing the wrapper did left a rejection unhandled.
      expect(unhandled).toEqual([]);
    });

    it('callback connection: query and execute forms, same return values, caller context in callbacks', async () => {
      const conn = await connect();
      const bare = bareConnection();
      const seen: { form: string; rows: unknown; active: string | undefined }[] = [];
      const [, parent] = await inSpan('parent', async () => {
        const forms: [string, (c: mysql.Connection, done: (e: unknown, r?: unknown) => void) => unknown][] = [
          ['query(sql, cb)', (c, done) => c.query('SELECT 1 AS x', done)],
          ['query(sql, values, cb)', (c, done) => c.query('SELECT ? AS x', [2], done)],
          ['query(options, cb)', (c, done) => c.query({ sql: 'SELECT ? AS x', values: [3] }, done)],
          ['query(options, values, cb)', (c, done) => c.query({ sql: 'SELECT ? AS x' }, [4], done)],
          ['execute(sql, cb)', (c, done) => c.execute('SELECT 5 AS x', done)],
          ['execute(sql, values, cb)', (c, done) => c.execute('SELECT ? AS x', [6], done)],
          ['execute(options, cb)', (c, done) => c.execute({ sql: 'SELECT ? AS x', values: [7] }, done)],
        ];
        for (const [form, run] of forms) {
          const [bareRet, bareRows] = await new Promise<[unknown, unknown]>((resolve, reject) => {
            const ret = run(bare, (e, r) => (e ? reject(e) : resolve([ret, r])));
          });
          const [ret, rows, active] = await new Promise<[unknown, unknown, string | undefined]>(
            (resolve, reject) => {
              const r = run(conn, (e, res) => (e ? reject(e) : resolve([r, res, activeSpanId()])));
            },
          );
          // The command object mysql2 returns (Query/Execute, with .stream()), not a copy.
          expect((ret as object).constructor).toBe((bareRet as object).constructor);
          expect(rows).toEqual(bareRows);
          seen.push({ form, rows, active });
        }
      });
      expect(seen.map((s) => s.rows)).toEqual([1, 2, 3, 4, 5, 6, 7].map((x) => [{ x }]));
      // Callbacks run in the caller's context, not the socket's or the query's.
      for (const s of seen) expect(s.active, s.form).toBe(parent.spanContext().spanId);
      const spans = childrenOf(parent);
      expect(spans).toHaveLength(7);
      for (const s of spans) {
        expect(s.kind).toBe(SpanKind.CLIENT);
        expect(s.attributes).toMatchObject({
          'db.system.name': 'mysql',
          'db.namespace': CONNECTION.database,
          'server.address': CONNECTION.host,
          'server.port': CONNECTION.port,
          'db.operation.name': 'SELECT',
          'db.query.summary': 'SELECT',
          'db.response.returned_rows': 1,
        });
        expect(s.name).toBe('SELECT');
        expect(s.status.code).toBe(SpanStatusCode.UNSET);
      }
      expect(spans.map((s) => s.attributes['db.query.text'])).toEqual([
        'SELECT ? AS x', // no values: sanitized
        'SELECT ? AS x', // values: the text as written, with its placeholders
        'SELECT ? AS x',
        'SELECT ? AS x',
        'SELECT ? AS x',
        'SELECT ? AS x',
        'SELECT ? AS x',
      ]);
    });

    it('promise connection: query, execute, transactions (begin/commit/rollback) as spans', async () => {
      const raw = await mysqlp.createConnection(CONNECTION);
      closers.push(() => raw.end());
      const conn = traceMysql2(raw, options());
      expect(conn).toBe(raw);
      const [, parent] = await inSpan('parent', async () => {
        await conn.beginTransaction();
        await conn.execute(`INSERT INTO ${table} (id, email) VALUES (?, ?)`, [100, 'tx@example.com']);
        await conn.rollback();
        const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM ${table} WHERE id = 100`);
        expect(rows).toEqual([{ n: 0 }]);
        await conn.beginTransaction();
        await conn.query(`INSERT INTO ${table} (id, email) VALUES (101, 'commit@example.com')`);
        await conn.commit();
        await conn.query(`DELETE FROM ${table} WHERE id = 101`);
      });
      const spans = childrenOf(parent).sort((a, b) => (a.startTime[1] < b.startTime[1] ? -1 : 1));
      expect(new Set(childrenOf(parent).map((s) => s.name))).toEqual(
        new Set(['START', `INSERT ${table}`, 'ROLLBACK', `SELECT ${table}`, 'COMMIT', `DELETE ${table}`]),
      );
      expect(spans).toHaveLength(8);
      const insert = childrenOf(parent).find(
        (s) => s.attributes['db.query.text'] === `INSERT INTO ${table} (id, email) VALUES (?, ?)`,
      );
      expect(insert?.attributes['db.collection.name']).toBe(table);
      expect(everything(insert as ReadableSpan)).not.toContain('tx@example.com');
      const literal = childrenOf(parent).find(
        (s) => String(s.attributes['db.query.text']).includes('VALUES (?, ?)') && s !== insert,
      );
      // The literal insert was sanitized: its e-mail is nowhere.
      expect(everything(literal as ReadableSpan)).not.toContain('commit@example.com');
    });

    it('bare vs traced pool: the same results, fields and error objects (promise and callback APIs)', async () => {
      const bare = mysqlp.createPool({ ...CONNECTION, connectionLimit: 2 });
      closers.push(() => bare.end());
      const traced = traceMysql2(mysqlp.createPool({ ...CONNECTION, connectionLimit: 2 }), options());
      closers.push(() => traced.end());
      await bare.query(`INSERT INTO ${table} (id, email) VALUES (1, '${SECRET}')`);
      const operations: [string, (p: mysqlp.Pool) => Promise<unknown>][] = [
        ['select', (p) => p.query('SELECT 1 AS a, ? AS b, NOW() IS NOT NULL AS c', ['x'])],
        ['execute', (p) => p.execute('SELECT CAST(? AS SIGNED) AS n, ? AS s', [42, 'str'])],
        ['rowsAsArray', (p) => p.query({ sql: 'SELECT 1 AS a, 2 AS b', rowsAsArray: true })],
        ['nestTables', (p) => p.query({ sql: `SELECT * FROM ${table} WHERE id = 1`, nestTables: true })],
        ['insert header', (p) => p.query(`INSERT IGNORE INTO ${table} (id, email) VALUES (1, 'dup')`)],
        ['duplicate', (p) => p.execute(`INSERT INTO ${table} (id, email) VALUES (?, ?)`, [2, SECRET])],
        ['syntax', (p) => p.query("SELECT 'unterminated")],
        ['missing table', (p) => p.query('SELECT * FROM tw_no_such_table')],
        ['bad execute', (p) => p.execute('SELECT ? AS x', [undefined] as unknown as string[])],
      ];
      const outcome = async (p: mysqlp.Pool, run: (p: mysqlp.Pool) => Promise<unknown>) => {
        try {
          const [rows, fields] = (await run(p)) as [unknown, mysql.FieldPacket[] | undefined];
          return {
            rows: JSON.parse(JSON.stringify(rows)),
            fields: fields?.map((f) => [f.name, f.type, f.table]),
          };
        } catch (e) {
          const err = e as Record<string, unknown>;
          return {
            error: [
              err.constructor,
              err.code,
              err.errno,
              err.sqlState,
              err.sqlMessage,
              err.message,
              err.fatal,
            ],
          };
        }
      };
      for (const [name, run] of operations) {
        const expected = await outcome(bare, run);
        expect(await outcome(traced, run), name).toEqual(expected);
      }
      // The same through the callback API of the same pool (traced through `pool.pool`).
      const core = traced.pool;
      const [rows, fields] = await new Promise<[unknown, mysql.FieldPacket[]]>((resolve, reject) =>
        core.query('SELECT 1 AS a', (e, r, f) => (e ? reject(e) : resolve([r, f]))),
      );
      expect(rows).toEqual([{ a: 1 }]);
      expect(fields.map((f) => f.name)).toEqual(['a']);
      const dup = await new Promise<unknown>((resolve) =>
        core.execute(`INSERT INTO ${table} (id, email) VALUES (?, ?)`, [3, SECRET], (e) => resolve(e)),
      );
      expect(dup).toMatchObject({ code: 'ER_DUP_ENTRY', errno: 1062, sqlState: '23000' });
      await bare.query(`DELETE FROM ${table}`);
    });

    it('streaming: query().stream() and event mode end their span when the rows are done', async () => {
      const conn = await connect();
      const [, parent] = await inSpan('parent', async () => {
        const rows: unknown[] = [];
        const stream = conn.query('SELECT seq AS n FROM seq_1_to_10').stream();
        for await (const row of stream) rows.push(row);
        expect(rows).toHaveLength(10);
        // Event mode: result per row, then end.
        const events: string[] = [];
        await new Promise<void>((resolve, reject) => {
          conn
            .query('SELECT seq AS n FROM seq_1_to_3')
            .on('result', () => events.push('result'))
            .on('error', reject)
            .on('end', () => resolve());
        });
        expect(events).toEqual(['result', 'result', 'result']);
        // A stream destroyed early still ends its span, once, and the connection stays usable.
        const early = conn.query('SELECT seq AS n FROM seq_1_to_100000').stream({ highWaterMark: 4 });
        await new Promise<void>((resolve) => {
          early.once('data', () => early.destroy());
          early.once('close', () => resolve());
        });
        await telemetry.waitForSpans(3);
      });
      const spans = childrenOf(parent);
      expect(spans.map((s) => s.attributes['db.response.returned_rows'])).toEqual([
        10,
        3,
        expect.any(Number),
      ]);
      expect(spans.map((s) => s.name)).toEqual([
        'SELECT seq_1_to_10',
        'SELECT seq_1_to_3',
        'SELECT seq_1_to_100000',
      ]);
      const [[ok]] = (await conn.promise().query('SELECT 1 AS ok')) as unknown as [[{ ok: number }]];
      expect(ok).toEqual({ ok: 1 });
      // Event-mode error: the span ends with it, the app's 'error' listener gets the same object.
      const error = await new Promise((resolve) =>
        conn.query('SELECT * FROM tw_missing').on('error', resolve),
      );
      expect(error).toMatchObject({ errno: 1146 });
      const failed = dbSpans().find((s) => s.status.code === SpanStatusCode.ERROR);
      expect(failed?.attributes).toMatchObject({ 'error.type': '1146', 'db.response.status_code': '1146' });
    });

    it('event mode and streams on a pooled connection opened by another trace: handlers see the caller', async () => {
      const pool = newPool({ connectionLimit: 1 });
      // Trace A opens the pool's only connection: its socket callbacks run in A's context.
      await inSpan('A', () => pool.promise().query('SELECT 1'));
      const seen: (string | undefined)[] = [];
      const [, parent] = await inSpan('B', async () => {
        await new Promise<void>((resolve, reject) => {
          pool
            .query('SELECT seq FROM seq_1_to_3')
            .on('result', () => seen.push(activeSpanId()))
            .on('error', reject)
            .on('end', () => resolve());
        });
        const conn = await new Promise<mysql.PoolConnection>((resolve, reject) =>
          pool.getConnection((e, c) => (e ? reject(e) : resolve(c))),
        );
        const stream = conn.query('SELECT seq FROM seq_1_to_3').stream();
        stream.on('data', () => seen.push(activeSpanId()));
        await new Promise((resolve) => stream.on('end', resolve));
        conn.release();
      });
      expect(seen).toEqual(Array(6).fill(parent.spanContext().spanId));
      expect(childrenOf(parent)).toHaveLength(2);
    });

    it('pool: wrapped in place (same object, instanceof, no enumerable keys), twice keeps the first', async () => {
      const plain = mysql.createPool({ ...CONNECTION });
      const keys = Object.keys(plain);
      const pool = traceMysql2(plain, options());
      closers.push(() => new Promise<void>((resolve) => pool.end(() => resolve())));
      expect(pool).toBe(plain);
      expect(Object.keys(pool)).toEqual(keys);
      expect(Object.getPrototypeOf(pool)).toBe(Object.getPrototypeOf(mysql.createPool({ ...CONNECTION })));
      expect(traceMysql2(pool, options())).toBe(pool);
      expect(traceMysql2(pool.promise(), options())).toBeDefined(); // same core: not instrumented twice
      const [, parent] = await inSpan('parent', async () => {
        await cb((done) => pool.query('SELECT 1 AS x', done));
        await pool.promise().query('SELECT 2 AS x');
        await pool.promise().execute('SELECT ? AS x', [3]);
        const conn = await pool.promise().getConnection();
        await conn.query('SELECT 4 AS x');
        conn.release();
      });
      expect(childrenOf(parent)).toHaveLength(4);
      expect(() => traceMysql2({ query() {} } as object)).toThrow(TypeError);
      expect(() => traceMysql2(pool, { queryTxt: 'off' } as Mysql2InstrumentationOptions)).toThrow(
        /unknown option "queryTxt"/,
      );
    });

    it('connectionLimit 1: 12 concurrent traces queued for the connection keep their own parents', async () => {
      const pool = newPool({ connectionLimit: 1 });
      const promisePool = pool.promise();
      const held = await promisePool.getConnection(); // everything below queues behind it
      const results: { parent: Span; active: string | undefined; via: string }[] = [];
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 3; i++) {
        work.push(
          inSpan(`promise-${i}`, async (parent) => {
            await promisePool.query('SELECT ? AS i', [i]);
            results.push({ parent, active: activeSpanId(), via: 'promise query' });
          }),
          inSpan(`execute-${i}`, async (parent) => {
            await promisePool.execute('SELECT ? AS i', [i]);
            results.push({ parent, active: activeSpanId(), via: 'promise execute' });
          }),
          inSpan(`callback-${i}`, (parent) =>
            cb((done) =>
              pool.query('SELECT ? AS i', [i], (err) => {
                results.push({ parent, active: activeSpanId(), via: 'callback query' });
                done(err);
              }),
            ),
          ),
          inSpan(`connection-${i}`, (parent) =>
            cb((done) =>
              pool.getConnection((err, conn) => {
                if (err) return done(err);
                results.push({ parent, active: activeSpanId(), via: 'getConnection' });
                conn.query('SELECT ? AS i', [i], (qerr) => {
                  conn.release();
                  done(qerr);
                });
              }),
            ),
          ),
        );
      }
      await new Promise((r) => setImmediate(r));
      const queued = await telemetry.points('db.client.connection.pending_requests');
      expect(queued.map((p) => p.value)).toEqual([12]);
      held.release();
      await Promise.all(work);
      expect(results).toHaveLength(12);
      for (const r of results) {
        expect(r.active, r.via).toBe(r.parent.spanContext().spanId);
        const span = only(childrenOf(r.parent));
        expect(span.spanContext().traceId).toBe(r.parent.spanContext().traceId);
        expect(span.attributes['db.query.text']).toBe('SELECT ? AS i');
      }
      // 12 query spans, each in its own trace; the pool's internal calls opened none of their own.
      expect(dbSpans()).toHaveLength(12);
      expect(new Set(dbSpans().map((s) => s.spanContext().traceId)).size).toBe(12);
    });

    it('pool metrics through a saturation and back to idle', async () => {
      const pool = newPool({ connectionLimit: 2, maxIdle: 2 });
      const p = pool.promise();
      let points = await telemetry.collect();
      const pick = (name: string, state?: string) =>
        points
          .filter(
            (x) =>
              x.name === name &&
              (state === undefined || x.attributes['db.client.connection.state'] === state),
          )
          .map((x) => x.value);
      expect(pick('db.client.connection.count', 'used')).toEqual([0]);
      expect(pick('db.client.connection.count', 'idle')).toEqual([0]);
      expect(pick('db.client.connection.max')).toEqual([2]);
      expect(pick('db.client.connection.idle.max')).toEqual([2]);
      expect(pick('db.client.connection.idle.min')).toEqual([0]);
      // Saturate: two connections held, five queries waiting.
      const held = await Promise.all([p.getConnection(), p.getConnection()]);
      const waiting = Array.from({ length: 5 }, (_, i) => p.query('SELECT ? AS i', [i]));
      await new Promise((r) => setImmediate(r));
      points = await telemetry.collect();
      expect(pick('db.client.connection.count', 'used')).toEqual([2]);
      expect(pick('db.client.connection.count', 'idle')).toEqual([0]);
      expect(pick('db.client.connection.pending_requests')).toEqual([5]);
      expect(pick('db.client.connection.create_time')).toEqual([2]);
      expect(pick('db.client.connection.wait_time')).toEqual([2]); // the five are still waiting
      await new Promise((r) => setTimeout(r, 30));
      for (const c of held) c.release();
      await Promise.all(waiting);
      points = await telemetry.collect();
      expect(pick('db.client.connection.count', 'used')).toEqual([0]);
      expect(pick('db.client.connection.count', 'idle')).toEqual([2]);
      expect(pick('db.client.connection.pending_requests')).toEqual([0]);
      expect(pick('db.client.connection.wait_time')).toEqual([7]);
      expect(pick('db.client.connection.use_time')).toEqual([7]);
      expect(pick('db.client.connection.create_time')).toEqual([2]);
      expect(pick('db.client.connection.timeouts')).toEqual([]);
      // The queued queries' durations include their wait (>= the 30 ms the connections were held).
      const durations = points.filter((x) => x.name === 'db.client.operation.duration');
      expect(durations.reduce((n, x) => n + x.value, 0)).toBe(5);
      expect(Math.min(...durations.map((x) => (x.sum ?? 0) / x.value))).toBeGreaterThan(0.025);
      for (const x of points) {
        if (x.name.startsWith('db.client.connection.')) {
          expect(x.attributes['db.client.connection.pool.name']).toBe(poolName);
        }
        if (x.boundaries !== undefined) expect(x.boundaries[0]).toBe(0.001); // seconds
      }
      expect(durations[0]?.attributes).toEqual({
        'db.system.name': 'mysql',
        'db.namespace': CONNECTION.database,
        'server.address': CONNECTION.host,
        'server.port': CONNECTION.port,
        'db.operation.name': 'SELECT',
      });
    });

    it('a connection killed mid-query: span ERROR, mapped UNAVAILABLE, callback and event mode', async () => {
      const admin = await mysqlp.createConnection(CONNECTION);
      closers.push(() => admin.end());
      const kill = async (conn: mysql.Connection) => {
        // Wait until the server runs the sleep, then kill that connection.
        for (let i = 0; i < 100; i++) {
          const [rows] = await admin.query('SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = ?', [
            conn.threadId,
          ]);
          if ((rows as { STATE: string }[])[0]?.STATE === 'User sleep') break;
          await new Promise((r) => setTimeout(r, 10));
        }
        await admin.query(`KILL ${Number(conn.threadId)}`);
      };
      const a = await connect();
      const [error, parent] = await inSpan('parent', async () => {
        const pending = new Promise((resolve) => a.query('SELECT SLEEP(10)', (e) => resolve(e)));
        await kill(a);
        return pending;
      });
      expect(error).toBeInstanceOf(Error);
      const span = only(childrenOf(parent));
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.events.filter((e) => e.name === 'exception')).toHaveLength(1);
      expect(mysqlErrorToTracedError(error).code).toBe(GrpcCode.UNAVAILABLE);
      expect(mysqlErrorToTracedError(error).category).toBe('dependency');

      // Event mode: no callback, the app listens on the connection.
      const b = await connect();
      const [, parent2] = await inSpan('parent', async () => {
        const connectionError = new Promise((resolve) => b.once('error', resolve));
        const commandError = new Promise((resolve) => {
          const q = b.query('SELECT SLEEP(10)');
          q.on('error', resolve);
        });
        await kill(b);
        await Promise.race([connectionError, commandError]);
        await telemetry.waitForSpans(2);
      });
      const span2 = only(childrenOf(parent2));
      expect(span2.status.code).toBe(SpanStatusCode.ERROR);
      expect(span2.events.filter((e) => e.name === 'exception')).toHaveLength(1);
    });

    it('statement timeouts: max_statement_time (1969) and the client timeout -> DEADLINE_EXCEEDED', async () => {
      const conn = await connect();
      const p = conn.promise();
      const serverTimeout = await p
        .query('SET STATEMENT max_statement_time=0.05 FOR SELECT SLEEP(2)')
        .catch((e: unknown) => e);
      expect(serverTimeout).toMatchObject({ errno: 1969 });
      const clientTimeout = await p.query({ sql: 'SELECT SLEEP(0.3)', timeout: 50 }).catch((e: unknown) => e);
      expect(clientTimeout).toMatchObject({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' });
      const spans = dbSpans();
      expect(spans.map((s) => s.attributes['error.type'])).toEqual(['1969', 'PROTOCOL_SEQUENCE_TIMEOUT']);
      expect(spans[0]?.attributes['db.response.status_code']).toBe('1969');
      expect(spans[1]?.attributes['db.response.status_code']).toBeUndefined();
      expect(spans[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'MySQL error 1969' });
      for (const e of [serverTimeout, clientTimeout]) {
        const traced = mysqlErrorToTracedError(e);
        expect(traced.code).toBe(GrpcCode.DEADLINE_EXCEEDED);
        expect(traced.httpStatus).toBe(504);
        expect(traced.category).toBe('timeout');
      }
    });

    it('ER_DUP_ENTRY and a real deadlock: conflict / retryable, nothing quoted leaks', async () => {
      const pool = newPool({ connectionLimit: 3 });
      const p = pool.promise();
      await p.query(`INSERT INTO ${table} (id, email) VALUES (1, '${SECRET}'), (2, 'b@example.com')`);
      const [dup, parent] = await inSpan('parent', () =>
        p.execute(`INSERT INTO ${table} (id, email) VALUES (?, ?)`, [3, SECRET]).catch((e: unknown) => e),
      );
      expect(String((dup as Error).message)).toContain(SECRET);
      const span = only(childrenOf(parent));
      expect(span.name).toBe(`INSERT ${table}`);
      expect(span.attributes).toMatchObject({ 'db.response.status_code': '1062', 'error.type': '1062' });
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'MySQL error 1062 (ER_DUP_ENTRY)' });
      expect(everything(span)).not.toContain(SECRET);
      expect(everything(span)).not.toContain('Duplicate');
      const conflict = mysqlErrorToTracedError(dup);
      expect([conflict.code, conflict.httpStatus, conflict.category, conflict.expose]).toEqual([
        GrpcCode.ALREADY_EXISTS,
        409,
        'conflict',
        false,
      ]);
      expect(conflict.cause).toBe(dup);

      // Deadlock: two transactions lock the two rows in opposite orders.
      const [c1, c2] = await Promise.all([p.getConnection(), p.getConnection()]);
      await c1.query('SET innodb_lock_wait_timeout = 5');
      await c2.query('SET innodb_lock_wait_timeout = 5');
      await c1.beginTransaction();
      await c2.beginTransaction();
      await c1.query(`SELECT * FROM ${table} WHERE id = 1 FOR UPDATE`);
      await c2.query(`SELECT * FROM ${table} WHERE id = 2 FOR UPDATE`);
      const first = c1.query(`SELECT * FROM ${table} WHERE id = 2 FOR UPDATE`).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 100));
      const second = c2.query(`SELECT * FROM ${table} WHERE id = 1 FOR UPDATE`).catch((e: unknown) => e);
      const outcomes = await Promise.all([first, second]);
      const deadlock = outcomes.find((o) => (o as { errno?: number })?.errno === 1213);
      expect(deadlock, 'one of the two transactions is the deadlock victim').toBeDefined();
      await c1.rollback();
      await c2.rollback();
      c1.release();
      c2.release();
      const retry = mysqlErrorToTracedError(deadlock);
      expect([retry.code, retry.httpStatus, retry.category]).toEqual([GrpcCode.ABORTED, 409, 'conflict']);
      expect(dbSpans().some((s) => s.attributes['error.type'] === '1213')).toBe(true);

      // 5xx bodies leak nothing: a missing table's message names it; the body does not.
      const missing = await p.query('SELECT secret_col FROM tw_secret_table').catch((e: unknown) => e);
      const internal = mysqlErrorToTracedError(missing);
      expect(internal.httpStatus).toBe(500);
      const body = JSON.stringify(toProblemDetails(internal));
      for (const leak of ['tw_secret_table', 'secret_col', 'ER_NO_SUCH_TABLE', '1146', 'SELECT']) {
        expect(body).not.toContain(leak);
      }
      await p.query(`DELETE FROM ${table}`);
    });

    it('DB down: connection refused -> span ERROR ECONNREFUSED, UNAVAILABLE, no password anywhere', async () => {
      const port = await closedPort();
      const pool = traceMysql2(
        mysql.createPool({ host: '127.0.0.1', port, user: 'app', password: 'hunter2', database: 'shop' }),
        options(),
      );
      closers.push(() => new Promise<void>((resolve) => pool.end(() => resolve())));
      const [error, parent] = await inSpan('parent', () =>
        pool
          .promise()
          .query('SELECT 1')
          .catch((e: unknown) => e),
      );
      expect(error).toMatchObject({ code: 'ECONNREFUSED' });
      const span = only(childrenOf(parent));
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes).toMatchObject({
        'error.type': 'ECONNREFUSED',
        'server.port': port,
        'db.namespace': 'shop',
      });
      expect(everything(span)).not.toContain('hunter2');
      expect(mysqlErrorToTracedError(error).code).toBe(GrpcCode.UNAVAILABLE);
      const wait = await telemetry.points('db.client.connection.wait_time');
      expect(wait.map((p) => p.value)).toEqual([1]);
    });

    it('auth failure and a full queue: span ERROR with a bounded error.type, no password, mapped', async () => {
      const denied = traceMysql2(
        mysql.createPool({ ...CONNECTION, user: 'tw_nobody', password: 'hunter2' }),
        options(),
      );
      closers.push(() => new Promise<void>((resolve) => denied.end(() => resolve())));
      const [authError, parent] = await inSpan('parent', () =>
        denied
          .promise()
          .query('SELECT 1')
          .catch((e: unknown) => e),
      );
      expect(authError).toMatchObject({ errno: 1045, code: 'ER_ACCESS_DENIED_ERROR' });
      const span = only(childrenOf(parent));
      expect(span.attributes).toMatchObject({ 'error.type': '1045', 'db.response.status_code': '1045' });
      expect(everything(span)).not.toContain('hunter2');
      expect(everything(span)).not.toContain('tw_nobody');
      expect(mysqlErrorToTracedError(authError).httpStatus).toBe(500);

      // connectionLimit 1, queueLimit 1: one holds, one waits, the next is refused at once.
      const pool = newPool({ connectionLimit: 1, queueLimit: 1 });
      const held = await pool.promise().getConnection();
      const waiting = pool.promise().query('SELECT 1 AS x');
      const [refused, parent2] = await inSpan('parent', () =>
        pool
          .promise()
          .query('SELECT 2 AS x')
          .catch((e: unknown) => e),
      );
      expect(refused).toMatchObject({ message: 'Queue limit reached.' });
      expect(only(childrenOf(parent2)).attributes['error.type']).toBe('Error');
      expect(mysqlErrorToTracedError(refused).code).toBe(GrpcCode.UNAVAILABLE);
      held.release();
      expect((await waiting)[0]).toEqual([{ x: 1 }]);
    });

    it('a black-holed server: connectTimeout counts a pool timeout, the span ends ERROR ETIMEDOUT', async () => {
      const silent = await silentServer();
      closers.push(() => silent.close());
      const pool = traceMysql2(
        mysql.createPool({ host: '127.0.0.1', port: silent.port, user: 'x', connectTimeout: 100 }),
        options(),
      );
      closers.push(() => new Promise<void>((resolve) => pool.end(() => resolve())));
      const [error, parent] = await inSpan('parent', () =>
        pool
          .promise()
          .execute('SELECT ?', [1])
          .catch((e: unknown) => e),
      );
      expect(error).toMatchObject({ code: 'ETIMEDOUT' });
      expect(only(childrenOf(parent)).attributes['error.type']).toBe('ETIMEDOUT');
      const timeouts = await telemetry.points('db.client.connection.timeouts');
      expect(timeouts).toEqual([
        expect.objectContaining({
          value: 1,
          attributes: { 'db.client.connection.pool.name': `127.0.0.1:${silent.port}` },
        }),
      ]);
    });

    it('synchronous throws are those of unwrapped mysql2, and the connection still works', async () => {
      const conn = await connect();
      const bare = bareConnection();
      await bare.promise().query('SELECT 1');
      const message = (f: () => unknown): string => {
        try {
          f();
        } catch (error) {
          return `${(error as Error).name}: ${(error as Error).message}`;
        }
        return 'no throw';
      };
      for (const f of [
        (c: mysql.Connection) => c.query(null as unknown as string),
        (c: mysql.Connection) => c.execute('SELECT ?', [undefined] as unknown as string[], () => {}),
        (c: mysql.Connection) => c.execute('SELECT ?', { a: 1 } as unknown as string[], () => {}),
      ]) {
        const expected = message(() => f(bare));
        expect(expected).toMatch(/^TypeError/);
        expect(message(() => f(conn))).toBe(expected);
      }
      expect(
        await conn
          .promise()
          .query('SELECT 1 AS x')
          .then(([r]) => r),
      ).toEqual([{ x: 1 }]);
      expect(
        dbSpans()
          .filter((s) => s.status.code === SpanStatusCode.ERROR)
          .map((s) => s.attributes['error.type']),
      ).toEqual(['TypeError', 'TypeError']);
    });

    it('user hooks that throw do not affect the query; requireParentSpan; captureParameters', async () => {
      const conn = await connect({
        requestHook: () => {
          throw new Error('hook');
        },
        responseHook: () => {
          throw new Error('hook');
        },
        requireParentSpan: true,
        captureParameters: true,
      });
      const p = conn.promise();
      expect((await p.query('SELECT ? AS v', ['p0']))[0]).toEqual([{ v: 'p0' }]);
      expect(dbSpans()).toHaveLength(0); // no parent: no span
      const [, parent] = await inSpan('parent', () => p.execute('SELECT ? AS v, ? AS n', ['p0', 7]));
      const span = only(childrenOf(parent));
      expect(span.attributes['db.query.parameter.0']).toBe('p0');
      expect(span.attributes['db.query.parameter.1']).toBe('7');
      const duration = await telemetry.points('db.client.operation.duration');
      expect(duration.reduce((n, x) => n + x.value, 0)).toBe(2);
    });

    it('sqlCommenter: the server sees the traceparent on query(); execute() text is never changed', async () => {
      const conn = await connect({ sqlCommenter: true });
      const p = conn.promise();
      const info = 'SELECT INFO AS q FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()';
      const [[rows], parent] = (await inSpan('parent', () => p.query(info))) as unknown as [
        [{ q: string }[]],
        Span,
      ];
      const span = only(childrenOf(parent));
      const { traceId, spanId } = span.spanContext();
      expect(rows[0]?.q).toBe(`/*traceparent='00-${traceId}-${spanId}-01'*/ ${info}`);
      expect(span.attributes['db.query.text']).toBe(info);
      const [executed] = (await p.execute(info)) as unknown as [{ q: string }[]];
      expect(executed[0]?.q).toBe(info);
      const pool = newPool({}, { sqlCommenter: true });
      const [[prows], pparent] = (await inSpan('parent', () => pool.promise().query(info))) as unknown as [
        [{ q: string }[]],
        Span,
      ];
      expect(prows[0]?.q).toContain(only(childrenOf(pparent)).spanContext().spanId);
    });

    it('hostile SQL on the real server: 1 MB statements, multi-statements, comment tricks, unterminated literals', async () => {
      const conn = await connect({}, { multipleStatements: true });
      const p = conn.promise();
      const big = 'x'.repeat(1024 * 1024);
      const [parents] = await inSpan('parent', async (parent) => {
        const [[bigRow]] = (await p.query(`SELECT LENGTH('${big}') AS n, 'tail-secret' AS t`)) as unknown as [
          { n: number; t: string }[],
        ];
        expect(bigRow).toEqual({ n: big.length, t: 'tail-secret' });
        const [multi] = await p.query(
          `SELECT 'multi-secret-1' AS a; SELECT "multi-secret-2" AS b # 'c-secret'\n; SELECT 0xDEADBEEF AS c`,
        );
        expect(multi).toHaveLength(3);
        await p.query(
          "SELECT /* it's a comment */ 'comment-secret' -- ' trick\n AS a /*! , 'exec-secret' AS b */",
        );
        await p.query("SELECT 'esc\\'aped-secret' AS a, 'after-secret' AS b");
        await p.query("SELECT _utf8mb4'intro-secret' AS b, x'41' AS c, b'1' AS d, N'nat-secret' AS e");
        await p.query("SELECT 'unterminated-secret").catch(() => {});
        return parent;
      });
      const spans = childrenOf(parents);
      expect(spans).toHaveLength(6);
      for (const s of spans) expect(everything(s)).not.toMatch(/secret|xxxx|DEADBEEF/);
      const texts = spans.map((s) => s.attributes['db.query.text']);
      expect(texts).toEqual([
        // The 1 MB literal is cut by the 64 KiB scan limit: masked, with everything after it.
        'SELECT LENGTH(?',
        'SELECT ? AS a; SELECT ? AS b ; SELECT ? AS c',
        // /*! executable comments */ are dropped like any comment (they may hold anything).
        'SELECT ? AS a',
        // 'esc\'aped': its end depends on NO_BACKSLASH_ESCAPES, so it is masked with the rest.
        'SELECT ?',
        'SELECT _utf8mb4? AS b, ? AS c, ? AS d, ? AS e',
        'SELECT ?',
      ]);
      expect(spans[1]?.attributes['db.response.returned_rows']).toBe(3);
      expect(spans[5]?.status.code).toBe(SpanStatusCode.ERROR);
    });

    it('pool cluster: queries through of() keep their parent; each node pool reports its metrics', async () => {
      const cluster = mysql.createPoolCluster();
      cluster.add('A', { ...CONNECTION, connectionLimit: 1 });
      traceMysql2(cluster, options({ poolName: 'shop' }));
      cluster.add('B', { ...CONNECTION, connectionLimit: 1 });
      closers.push(() => new Promise<void>((resolve) => cluster.end(() => resolve())));
      const [active, parent] = await inSpan('parent', () =>
        cb<string | undefined>((done) =>
          cluster.of('*').query('SELECT 1 AS x', (err) => done(err, activeSpanId())),
        ),
      );
      expect(active).toBe(parent.spanContext().spanId);
      const [, parent2] = await inSpan('parent', () =>
        cb((done) =>
          cluster.getConnection('B', (err, conn) => {
            if (err) return done(err);
            conn.execute('SELECT ? AS x', [2], (e) => {
              conn.release();
              done(e);
            });
          }),
        ),
      );
      expect(only(childrenOf(parent)).attributes['db.query.text']).toBe('SELECT ? AS x');
      expect(only(childrenOf(parent2)).attributes['db.query.text']).toBe('SELECT ? AS x');
      const names = new Set(
        (await telemetry.points('db.client.connection.max')).map(
          (x) => x.attributes['db.client.connection.pool.name'],
        ),
      );
      expect(names).toEqual(new Set(['shop/A', 'shop/B']));
    });
  });
}
