// The span name and the span and metric attributes of a query are built once per connection and
// text and shared by every query with that text (@tracewire/sql/driver): what one query adds (its
// error, its parameters) must never reach the next one. Real server, real SDK.

import { SpanKind } from '@opentelemetry/api';
import { createTelemetry } from '@tracewire/testing';
import mysqlp from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { traceMysql2 } from '../src/index.js';
import { CONNECTION, probe, uniqueTable } from './db.js';

const unreachable = await probe();

describe.skipIf(unreachable !== undefined)('@tracewire/mysql2: shared query shapes', () => {
  const telemetry = createTelemetry();
  const table = uniqueTable('tw_shapes');
  const pools: mysqlp.Pool[] = [];
  const newPool = (captureParameters: boolean): mysqlp.Pool => {
    const pool = traceMysql2(mysqlp.createPool({ ...CONNECTION, connectionLimit: 1 }), {
      tracerProvider: telemetry.tracerProvider,
      meterProvider: telemetry.meterProvider,
      captureParameters,
    });
    pools.push(pool);
    return pool;
  };

  afterAll(async () => {
    const pool = pools[0];
    if (pool !== undefined) await pool.query(`DROP TABLE IF EXISTS ${table}`);
    for (const p of pools) await p.end();
    await telemetry.shutdown();
  });

  it('a failed query leaves no error.type on the next queries with the same text', async () => {
    const pool = newPool(false);
    await pool.query(`CREATE TABLE ${table} (id INT PRIMARY KEY) ENGINE=InnoDB`);
    const insert = `INSERT INTO ${table} (id) VALUES (?)`;
    await pool.execute(insert, [1]);
    await expect(pool.execute(insert, [1])).rejects.toMatchObject({ errno: 1062 });
    await pool.execute(insert, [2]);
    const points = (await telemetry.points('db.client.operation.duration')).filter(
      (p) => p.attributes['db.operation.name'] === 'INSERT',
    );
    const byType = Object.fromEntries(points.map((p) => [String(p.attributes['error.type']), p.value]));
    expect(byType).toEqual({ '1062': 1, undefined: 2 });
    const spans = telemetry.spans().filter((s) => s.kind === SpanKind.CLIENT && s.name.startsWith('INSERT'));
    expect(spans.map((s) => s.attributes['error.type'])).toEqual([undefined, '1062', undefined]);
    expect(spans.map((s) => s.attributes['db.response.status_code'])).toEqual([undefined, '1062', undefined]);
  });

  it("captured parameters are each query's own, never carried to the next", async () => {
    const pool = newPool(true);
    await pool.query('SELECT ? AS x', ['first']);
    await pool.query('SELECT ? AS x', ['second']);
    await pool.query('SELECT ? AS x', []).catch(() => undefined);
    const spans = telemetry
      .spans()
      .filter((s) => s.kind === SpanKind.CLIENT && s.attributes['db.query.text'] === 'SELECT ? AS x');
    expect(spans.map((s) => s.attributes['db.query.parameter.0'])).toEqual(['first', 'second', undefined]);
  });
});
