// With no SDK registered (the API's no-op tracer and meter), a traced pool makes no span of its
// own unless someone sees it: the hooks still get one (non-recording), and queries, their results
// and errors are mysql2's. Real server; nothing registered globally in this file.

import { type Span, trace } from '@opentelemetry/api';
import mysqlp from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { traceMysql2 } from '../src/index.js';
import { CONNECTION, probe } from './db.js';

const unreachable = await probe();

describe.skipIf(unreachable !== undefined)('@tracewire/mysql2 with no SDK registered', () => {
  const pools: mysqlp.Pool[] = [];
  afterAll(async () => {
    for (const p of pools) await p.end();
  });

  it('queries run and fail as mysql2 has them; hooks get a non-recording span', async () => {
    const hooked: [string, Span][] = [];
    const plain = traceMysql2(mysqlp.createPool({ ...CONNECTION, connectionLimit: 1 }));
    const hooks = traceMysql2(mysqlp.createPool({ ...CONNECTION, connectionLimit: 1 }), {
      requestHook: (span) => hooked.push(['request', span]),
      responseHook: (span) => hooked.push(['response', span]),
    });
    pools.push(plain, hooks);
    expect(trace.getTracerProvider().getTracer('x').startSpan('probe').isRecording()).toBe(false);
    for (const pool of [plain, hooks]) {
      const [rows] = await pool.query('SELECT ? AS x', [7]);
      expect(rows).toEqual([{ x: 7 }]);
      const [executed] = await pool.execute('SELECT ? AS y', [8]);
      expect(executed).toEqual([{ y: 8 }]);
      await expect(pool.query('SELECT * FROM tw_no_such_table_at_all')).rejects.toMatchObject({
        errno: 1146,
      });
    }
    expect(hooked.map(([kind]) => kind)).toEqual([
      'request',
      'response',
      'request',
      'response',
      'request',
      'response',
    ]);
    for (const [, span] of hooked) expect(span.isRecording()).toBe(false);
  });
});
