// The behavioural suite of @tracewire/pg, registered once per backend (PGlite socket, server).
// Real pg, real SDK, no mocks. Cases: the Tests list and RELIABILITY.md T46, T50-T52.

import { type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { GrpcCode } from '@tracewire/errors';
import { createTelemetry } from '@tracewire/testing';
import pg from 'pg';
import Cursor from 'pg-cursor';
import QueryStream from 'pg-query-stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type PgInstrumentationOptions, pgErrorToTracedError, tracePg } from '../src/index.js';
import { type Backend, closedPort } from './backends.js';

const SECRET = 'alice@example.com';

export function describePgSuite(getBackend: () => Backend | undefined, label: string): void {
  const telemetry = createTelemetry();
  const tracer = telemetry.tracerProvider.getTracer('test');
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  let backend: Backend;
  const closers: (() => Promise<unknown>)[] = [];
  const table = `tw_users_${process.pid}_${Math.floor(Math.random() * 1e6)}`;

  const options = (extra: PgInstrumentationOptions = {}): PgInstrumentationOptions => ({
    tracerProvider: telemetry.tracerProvider,
    meterProvider: telemetry.meterProvider,
    ...extra,
  });
  const newClient = async (extra?: PgInstrumentationOptions): Promise<pg.Client> => {
    const client = tracePg(new pg.Client(backend.connection), options(extra));
    await client.connect();
    closers.push(() => client.end());
    return client;
  };
  const newPool = (config: pg.PoolConfig = {}, extra?: PgInstrumentationOptions): pg.Pool => {
    const pool = tracePg(new pg.Pool({ ...backend.connection, ...config }), options(extra));
    pool.on('error', () => {});
    closers.push(() => (pool.ended ? Promise.resolve() : pool.end()));
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

  describe(`@tracewire/pg against ${label}`, () => {
    beforeAll(async () => {
      backend = getBackend() as Backend;
      process.on('unhandledRejection', onUnhandled);
      const c = new pg.Client(backend.connection);
      await c.connect();
      await c.query(`CREATE TABLE ${table} (id int PRIMARY KEY, email text UNIQUE)`);
      await c.end();
    });

    afterEach(async () => {
      for (const close of closers.splice(0)) await close().catch(() => {});
      telemetry.reset();
    });

    afterAll(async () => {
      const c = new pg.Client(backend.connection);
      await c.connect();
      await c.query(`DROP TABLE IF EXISTS ${table}`);
      await c.end();
      await telemetry.shutdown();
      process.off('unhandledRejection', onUnhandled);
      // T52 / T65: nothing the wrapper did left a rejection unhandled.
      expect(unhandled).toEqual([]);
    });

    it('client promise forms: same return types, one CLIENT span per query, child of the caller', async () => {
      const client = await newClient();
      const [results, parent] = await inSpan('parent', async () => {
        const p = client.query('SELECT 1 AS x');
        expect(p).toBeInstanceOf(Promise);
        const a = await p;
        const b = await client.query('SELECT $1::int AS x', [5]);
        const c = await client.query({ text: 'SELECT $1::text AS v', values: ['secret-value'] });
        const d = await client.query({ text: 'SELECT 1 AS a, 2 AS b', rowMode: 'array' });
        const e = await client.query({ name: 'tw-named', text: 'SELECT $1::int + 1 AS n', values: [1] });
        const f = await client.query({ name: 'tw-named', text: 'SELECT $1::int + 1 AS n', values: [2] });
        return [a.rows, b.rows, c.rows, d.rows, e.rows, f.rows];
      });
      expect(results).toEqual([
        [{ x: 1 }],
        [{ x: 5 }],
        [{ v: 'secret-value' }],
        [[1, 2]],
        [{ n: 2 }],
        [{ n: 3 }],
      ]);
      const spans = childrenOf(parent);
      expect(spans).toHaveLength(6);
      for (const s of spans) {
        expect(s.kind).toBe(SpanKind.CLIENT);
        expect(s.spanContext().traceId).toBe(parent.spanContext().traceId);
        expect(s.attributes['db.system.name']).toBe('postgresql');
        expect(s.attributes['db.namespace']).toBe(backend.connection.database);
        expect(s.attributes['server.address']).toBe(backend.connection.host);
        expect(s.attributes['server.port']).toBe(backend.connection.port);
        expect(s.attributes['db.operation.name']).toBe('SELECT');
        expect(s.name).toBe(`SELECT ${backend.connection.database}`);
        expect(s.attributes['db.response.returned_rows']).toBe(1);
        expect(s.status.code).toBe(SpanStatusCode.UNSET);
        // T46: parameter values are never recorded by default.
        expect(everything(s)).not.toContain('secret-value');
      }
      const texts = spans.map((s) => s.attributes['db.query.text']);
      expect(texts).toEqual([
        'SELECT ? AS x', // not parameterized: sanitized
        'SELECT $1::int AS x', // parameterized: verbatim
        'SELECT $1::text AS v',
        'SELECT ? AS a, ? AS b',
        'SELECT $1::int + 1 AS n',
        'SELECT $1::int + 1 AS n',
      ]);
    });

    it('client callback forms return undefined and run the callback in the caller context', async () => {
      const client = await newClient();
      const seen: { form: string; ret: unknown; rows: unknown; active: string | undefined }[] = [];
      const [, parent] = await inSpan('parent', async () => {
        const call = (
          form: string,
          invoke: (cb: (err: Error | null, res: pg.QueryResult) => void) => unknown,
        ) =>
          new Promise<void>((resolve, reject) => {
            let ret: unknown = 'unset';
            const cb = (err: Error | null, res: pg.QueryResult) => {
              if (err) return reject(err);
              // Deferred: `ret` is assigned after query() returns, which may be before or after.
              setImmediate(() => {
                seen.push({ form, ret, rows: res.rows, active });
                resolve();
              });
              active = trace.getActiveSpan()?.spanContext().spanId;
            };
            let active: string | undefined;
            ret = invoke(cb);
          });
        await call('text, cb', (cb) => client.query('SELECT 1 AS x', cb));
        await call('text, values, cb', (cb) => client.query('SELECT $1::int AS x', [2], cb));
        await call('config, cb', (cb) => client.query({ text: 'SELECT 3 AS x' }, cb));
        await call('config.callback', (cb) =>
          client.query({ text: 'SELECT 4 AS x', callback: cb } as pg.QueryConfig),
        );
        // The same callback function passed to two queries at once.
        let count = 0;
        await new Promise<void>((resolve, reject) => {
          const shared = (err: Error | null) => {
            if (err) return reject(err);
            if (++count === 2) resolve();
          };
          client.query('SELECT 5 AS x', shared);
          client.query('SELECT 6 AS x', shared);
        });
      });
      expect(seen.map((s) => [s.form, s.ret, s.rows])).toEqual([
        ['text, cb', undefined, [{ x: 1 }]],
        ['text, values, cb', undefined, [{ x: 2 }]],
        ['config, cb', undefined, [{ x: 3 }]],
        ['config.callback', undefined, [{ x: 4 }]],
      ]);
      // Logs inside the callback carry the caller's span, not the query's or the socket's.
      for (const s of seen) expect(s.active).toBe(parent.spanContext().spanId);
      expect(childrenOf(parent)).toHaveLength(6);
    });

    it('synchronous throws are the ones of unwrapped pg', async () => {
      const bare = new pg.Client(backend.connection);
      await bare.connect();
      closers.push(() => bare.end());
      const client = await newClient();
      const message = (fn: () => unknown): string => {
        try {
          fn();
        } catch (error) {
          return `${(error as Error).name}: ${(error as Error).message}`;
        }
        return 'no throw';
      };
      for (const fn of [
        (c: pg.Client) => c.query(null as unknown as string),
        (c: pg.Client) => c.query(undefined as unknown as string),
        (c: pg.Client) => c.query('SELECT 1', [], 'nope' as unknown as () => void),
      ]) {
        const expected = message(() => fn(bare));
        expect(expected).toMatch(/^TypeError/);
        expect(message(() => fn(client))).toBe(expected);
      }
      // The client still works, and the failed call's span (if any) ended with an error.
      expect((await client.query('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
      const failed = dbSpans().filter((s) => s.status.code === SpanStatusCode.ERROR);
      expect(failed.map((s) => s.attributes['error.type'])).toEqual(['TypeError']);
    });

    it('Submittables: the span ends when the cursor/stream is done, not when query() returns', async () => {
      const client = await newClient();
      const [, parent] = await inSpan('parent', async () => {
        // pg-cursor: read in two batches, then close.
        const cursor = new Cursor('SELECT generate_series(1, 10) AS n');
        expect(client.query(cursor)).toBe(cursor);
        const first = await cursor.read(4);
        expect(first).toHaveLength(4);
        expect(dbSpans()).toHaveLength(0);
        const rest = await cursor.read(100);
        expect(rest).toHaveLength(6);
        await cursor.close();
        const cursorSpan = only(dbSpans());
        expect(cursorSpan.attributes['db.response.returned_rows']).toBe(10);
        expect(cursorSpan.attributes['db.query.text']).toBe('SELECT generate_series(?, ?) AS n');

        // pg-query-stream consumed to the end.
        const stream = new QueryStream('SELECT generate_series(1, 5) AS n');
        expect(client.query(stream)).toBe(stream);
        const rows: unknown[] = [];
        for await (const row of stream) rows.push(row);
        expect(rows).toHaveLength(5);
        await new Promise((r) => setImmediate(r));
        expect(dbSpans()).toHaveLength(2);

        // A stream destroyed early still ends its span, once.
        const early = new QueryStream('SELECT generate_series(1, 1000) AS n', [], { batchSize: 10 });
        client.query(early);
        await new Promise<void>((resolve) => {
          early.once('data', () => early.destroy());
          early.once('close', () => resolve());
        });
        await telemetry.waitForSpans(3); // the parent has not ended yet: the 3 query spans
      });
      const spans = childrenOf(parent);
      expect(spans).toHaveLength(3);
      // A cursor over a missing table: the span is an error with the SQLSTATE.
      const bad = new Cursor('SELECT * FROM tw_missing_table');
      client.query(bad);
      await expect(bad.read(1)).rejects.toMatchObject({ code: '42P01' });
      const errored = dbSpans().find((s) => s.status.code === SpanStatusCode.ERROR);
      expect(errored?.attributes['db.response.status_code']).toBe('42P01');
      expect(errored?.attributes['db.collection.name']).toBe('tw_missing_table');
      // The client is still usable.
      expect((await client.query('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
    });

    it('pool: wrapped in place (instanceof, no enumerable keys added), promise and callback forms', async () => {
      const plain = new pg.Pool({ ...backend.connection });
      const keysBefore = Object.keys(plain);
      const pool = tracePg(plain, options());
      closers.push(() => pool.end());
      expect(pool).toBe(plain);
      expect(pool).toBeInstanceOf(pg.Pool);
      expect(Object.keys(pool)).toEqual(keysBefore);
      // Twice: the first instrumentation stays, no double spans.
      expect(tracePg(pool, options())).toBe(pool);
      const [, parent] = await inSpan('parent', async () => {
        const p = pool.query('SELECT 1 AS x');
        expect(p).toBeInstanceOf(Promise);
        expect((await p).rows).toEqual([{ x: 1 }]);
        const ret = await new Promise((resolve, reject) => {
          const r = pool.query('SELECT $1::int AS x', [2], (err, res) =>
            err ? reject(err) : resolve([r, res.rows]),
          );
        });
        expect(ret).toEqual([undefined, [{ x: 2 }]]);
        const client = await pool.connect();
        expect(client).toBeInstanceOf(pg.Client);
        await client.query('SELECT 3 AS x');
        client.release();
      });
      const spans = childrenOf(parent);
      expect(spans.map((s) => s.attributes['db.query.text'])).toEqual([
        'SELECT ? AS x',
        'SELECT $1::int AS x',
        'SELECT ? AS x',
      ]);
    });

    it('max: 1 pool, concurrent requests from different traces: every span keeps its own parent', async () => {
      const pool = newPool({ max: 1 });
      const held = await pool.connect(); // everything below queues behind this client
      const results: { parent: Span; active: string | undefined; via: string }[] = [];
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 4; i++) {
        work.push(
          inSpan(`promise-${i}`, async (parent) => {
            await pool.query('SELECT $1::int AS i', [i]);
            results.push({ parent, active: trace.getActiveSpan()?.spanContext().spanId, via: 'promise' });
          }),
          inSpan(
            `callback-${i}`,
            (parent) =>
              new Promise<void>((resolve, reject) => {
                pool.query('SELECT $1::int AS i', [i], (err) => {
                  if (err) return reject(err);
                  results.push({
                    parent,
                    active: trace.getActiveSpan()?.spanContext().spanId,
                    via: 'callback',
                  });
                  resolve();
                });
              }),
          ),
          inSpan(
            `connect-${i}`,
            (parent) =>
              new Promise<void>((resolve, reject) => {
                pool.connect((err, client, release) => {
                  if (err || client === undefined) return reject(err);
                  results.push({
                    parent,
                    active: trace.getActiveSpan()?.spanContext().spanId,
                    via: 'connect',
                  });
                  client.query('SELECT $1::int AS i', [i], (qerr) => {
                    release();
                    if (qerr) return reject(qerr);
                    resolve();
                  });
                });
              }),
          ),
        );
      }
      await new Promise((r) => setImmediate(r));
      expect(pool.waitingCount).toBe(12);
      held.release();
      await Promise.all(work);
      expect(results).toHaveLength(12);
      for (const r of results) {
        expect(r.active).toBe(r.parent.spanContext().spanId);
        const span = only(childrenOf(r.parent));
        expect(span.spanContext().traceId).toBe(r.parent.spanContext().traceId);
        expect(span.attributes['db.query.text']).toBe('SELECT $1::int AS i');
      }
      // 12 query spans, each in its own trace.
      expect(new Set(dbSpans().map((s) => s.spanContext().traceId)).size).toBe(12);
    });

    it('pool exhaustion: connectionTimeoutMillis -> span error, timeout metric, no unhandled rejection', async () => {
      const pool = newPool({ max: 1, connectionTimeoutMillis: 50 });
      const held = await pool.connect();
      const [, parent] = await inSpan('parent', async () => {
        await expect(pool.query('SELECT 1')).rejects.toThrow('timeout exceeded when trying to connect');
        const err = await new Promise((resolve) => pool.query('SELECT 2', (e) => resolve(e)));
        expect(String(err)).toMatch(/timeout exceeded/);
        await expect(pool.connect()).rejects.toThrow(/timeout exceeded/);
      });
      held.release();
      const spans = childrenOf(parent);
      expect(spans).toHaveLength(2);
      for (const s of spans) {
        expect(s.status.code).toBe(SpanStatusCode.ERROR);
        expect(s.attributes['error.type']).toBe('timeout');
        expect(s.events.filter((e) => e.name === 'exception')).toHaveLength(1);
      }
      const timeouts = await telemetry.points('db.client.connection.timeouts');
      expect(timeouts).toEqual([
        expect.objectContaining({ value: 3, attributes: { 'db.client.connection.pool.name': poolName() } }),
      ]);
      expect(pgErrorToTracedError(await pool.query('x').catch((e) => e)).code).toBe(GrpcCode.INTERNAL);
    });

    it('DB down: connection refused -> span error ECONNREFUSED, mapped UNAVAILABLE, nothing leaks', async () => {
      const port = await closedPort();
      const pool = tracePg(
        new pg.Pool({ host: '127.0.0.1', port, user: 'app', password: 'hunter2', database: 'shop' }),
        options(),
      );
      closers.push(() => pool.end());
      const [error, parent] = await inSpan('parent', () => pool.query('SELECT 1').catch((e: unknown) => e));
      expect(error).toMatchObject({ code: 'ECONNREFUSED' });
      const span = only(childrenOf(parent));
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes['error.type']).toBe('ECONNREFUSED');
      expect(span.attributes['server.port']).toBe(port);
      expect(span.attributes['db.namespace']).toBe('shop');
      expect(everything(span)).not.toContain('hunter2');
      const traced = pgErrorToTracedError(error);
      expect(traced.code).toBe(GrpcCode.UNAVAILABLE);
      expect(traced.category).toBe('dependency');
      // A Client on the same port: connect fails, query reports through its own forms.
      const client = tracePg(new pg.Client({ host: '127.0.0.1', port, password: 'hunter2' }), options());
      await expect(client.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await expect(client.query('SELECT 1')).rejects.toThrow();
      const wait = await telemetry.points('db.client.connection.wait_time');
      expect(wait[0]?.value).toBe(1);
    });

    it('unique violation: 23505 on the span, ALREADY_EXISTS mapping, no detail copied', async () => {
      const pool = newPool();
      await pool.query(`INSERT INTO ${table} (id, email) VALUES (1, '${SECRET}')`);
      const [error, parent] = await inSpan('parent', () =>
        pool.query(`INSERT INTO ${table} (id, email) VALUES ($1, $2)`, [2, SECRET]).catch((e: unknown) => e),
      );
      expect(error).toMatchObject({ code: '23505' });
      expect(String((error as { detail?: string }).detail)).toContain(SECRET);
      const span = only(childrenOf(parent));
      expect(span.name).toBe(`INSERT ${table}`);
      expect(span.attributes['db.collection.name']).toBe(table);
      expect(span.attributes['db.response.status_code']).toBe('23505');
      expect(span.attributes['error.type']).toBe('23505');
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'SQLSTATE 23505' });
      // T51: no detail, no message quoting values, no parameters anywhere on the span.
      expect(everything(span)).not.toContain(SECRET);
      expect(everything(span)).not.toContain('already exists');
      const traced = pgErrorToTracedError(error);
      expect(traced.code).toBe(GrpcCode.ALREADY_EXISTS);
      expect(traced.httpStatus).toBe(409);
      expect(traced.expose).toBe(false);
      expect(traced.message).not.toContain(SECRET);
      expect(traced.cause).toBe(error);
      const duration = await telemetry.points('db.client.operation.duration');
      const failed = duration.find((p) => p.attributes['error.type'] === '23505');
      expect(failed?.attributes).toMatchObject({
        'db.system.name': 'postgresql',
        'db.operation.name': 'INSERT',
        'db.collection.name': table,
        'db.response.status_code': '23505',
      });
    });

    it('pool metrics: operation duration, connection count/max/pending, wait/use/create time', async () => {
      const pool = newPool({ max: 3 });
      const clients = await Promise.all([pool.connect(), pool.connect()]);
      await clients[0]?.query('SELECT 1');
      let points = await telemetry.collect();
      const pick = (name: string, state?: string) =>
        points
          .filter(
            (p) =>
              p.name === name &&
              (state === undefined || p.attributes['db.client.connection.state'] === state),
          )
          .map((p) => p.value);
      expect(pick('db.client.connection.count', 'used')).toEqual([2]);
      expect(pick('db.client.connection.count', 'idle')).toEqual([0]);
      expect(pick('db.client.connection.max')).toEqual([3]);
      expect(pick('db.client.connection.pending_requests')).toEqual([0]);
      expect(pick('db.client.connection.create_time')).toEqual([2]);
      expect(pick('db.client.connection.wait_time')).toEqual([2]);
      for (const c of clients) c?.release();
      await pool.query('SELECT 1');
      points = await telemetry.collect();
      expect(pick('db.client.connection.count', 'idle')).toEqual([2]);
      expect(pick('db.client.connection.count', 'used')).toEqual([0]);
      expect(pick('db.client.connection.use_time')).toEqual([3]);
      expect(pick('db.client.connection.wait_time')).toEqual([3]);
      expect(pick('db.client.connection.create_time')).toEqual([2]);
      const durations = points.filter((p) => p.name === 'db.client.operation.duration');
      expect(durations.reduce((n, p) => n + p.value, 0)).toBe(2);
      for (const p of points) {
        if (p.name.startsWith('db.client.connection.')) {
          expect(p.attributes['db.client.connection.pool.name']).toBe(poolName());
        }
        if (p.boundaries !== undefined) expect(p.boundaries[0]).toBe(0.001); // seconds
      }
    });

    it('user hooks that throw do not affect the query; requireParentSpan; captureParameters', async () => {
      const client = await newClient({
        requestHook: () => {
          throw new Error('hook');
        },
        responseHook: () => {
          throw new Error('hook');
        },
        requireParentSpan: true,
        captureParameters: true,
      });
      expect((await client.query('SELECT $1::text AS v', ['p0'])).rows).toEqual([{ v: 'p0' }]);
      expect(dbSpans()).toHaveLength(0); // no parent: no span
      const [, parent] = await inSpan('parent', () =>
        client.query('SELECT $1::text AS v, $2::int AS n', ['p0', 7]),
      );
      const span = only(childrenOf(parent));
      expect(span.attributes['db.query.parameter.0']).toBe('p0');
      expect(span.attributes['db.query.parameter.1']).toBe('7');
      // Metrics still count the untraced query.
      const duration = await telemetry.points('db.client.operation.duration');
      expect(duration.reduce((n, p) => n + p.value, 0)).toBe(2);
    });

    it('sqlCommenter: the server sees the traceparent; named prepared statements still work', async () => {
      const client = await newClient({ sqlCommenter: true });
      const [res, parent] = await inSpan('parent', () => client.query('SELECT current_query() AS q'));
      const span = only(childrenOf(parent));
      const q = (res.rows[0] as { q: string }).q;
      expect(q).toContain(`traceparent='00-${span.spanContext().traceId}-${span.spanContext().spanId}-01'`);
      expect(span.attributes['db.query.text']).toBe('SELECT current_query() AS q');
      for (let i = 0; i < 2; i++) {
        const named = await client.query({ name: 'tw-commented', text: 'SELECT $1::int AS n', values: [i] });
        expect(named.rows).toEqual([{ n: i }]);
      }
      const pooled = newPool({}, { sqlCommenter: true });
      const [pres, pparent] = await inSpan('parent', () => pooled.query('SELECT current_query() AS q'));
      const pspan = only(childrenOf(pparent));
      expect((pres.rows[0] as { q: string }).q).toContain(pspan.spanContext().spanId);
    });

    it('a 5 MB statement runs unchanged and its recorded text stays capped', async () => {
      const client = await newClient();
      const big = 'x'.repeat(5 * 1024 * 1024);
      const [res, parent] = await inSpan('parent', () =>
        client.query(`SELECT length('${big}') AS n, 'tail' AS t`),
      );
      expect(res.rows).toEqual([{ n: big.length, t: 'tail' }]);
      const text = only(childrenOf(parent)).attributes['db.query.text'] as string;
      expect(text).toBe('SELECT length(?');
      const [, parent2] = await inSpan('parent', () =>
        client.query(`SELECT ${Array.from({ length: 1500 }, (_, i) => `${i} AS column_${i}`).join(', ')}`),
      );
      expect((only(childrenOf(parent2)).attributes['db.query.text'] as string).length).toBe(2048);
    });

    it.runIf(getBackend()?.canSleep === true)('statement_timeout: 57014 -> DEADLINE_EXCEEDED', async () => {
      const client = await newClient();
      await client.query('SET statement_timeout = 50');
      const error = await client.query('SELECT pg_sleep(2)').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: '57014' });
      const span = dbSpans().find((s) => s.attributes['error.type'] === '57014');
      expect(span?.attributes['db.response.status_code']).toBe('57014');
      expect(pgErrorToTracedError(error).code).toBe(GrpcCode.DEADLINE_EXCEEDED);
    });
  });

  function poolName(): string {
    return `${backend.connection.host}:${backend.connection.port}/${backend.connection.database}`;
  }
}
