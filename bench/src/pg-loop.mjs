// pg benchmark process: a bounded query loop (8 concurrent workers, `SELECT $1::int`) against the
// PostgreSQL server on 127.0.0.1:5432, bare pool vs tracePg. Reports operations, CPU and RSS to
// the driver over IPC.
import { census, setupSdk } from './sdk.mjs';

const variant = process.env.VARIANT ?? 'bare';
const duration = Number(process.env.LOOP_DURATION ?? 5) * 1000;
if (variant === 'tracewire') setupSdk('on');
if (variant === 'tracewire-off') setupSdk('off');

const { default: pg } = await import('pg');
const { tracePg } = await import(process.env.TRACEWIRE_PG_MODULE ?? '@tracewire/pg');
const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const raw = new pg.Pool({ connectionString: url, max: 8 });
const pool = variant.startsWith('tracewire') ? tracePg(raw) : raw;

async function worker(until) {
  let n = 0;
  while (performance.now() < until) {
    await pool.query('SELECT $1::int AS x', [n]);
    n++;
  }
  return n;
}

// LOOP_MODE=instr (instructions-sql.mjs, under callgrind): a fixed number of queries per `run`
// message from the driver, 8 in flight, instead of the timed run.
if (process.env.LOOP_MODE === 'instr') {
  process.on('message', async (m) => {
    if (m?.type !== 'run') return;
    let left = m.amount;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let n = 0; left > 0; n++) {
          left--;
          await pool.query('SELECT $1::int AS x', [n]);
        }
      }),
    );
    process.send?.({ type: 'ran' });
  });
  process.send?.({ type: 'ready' });
} else {
  // warm-up, then the measured run
  await Promise.all(Array.from({ length: 8 }, () => worker(performance.now() + 1000)));
  const cpu0 = process.cpuUsage();
  const spans0 = census.spans;
  const t0 = performance.now();
  const counts = await Promise.all(Array.from({ length: 8 }, () => worker(t0 + duration)));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const ops = counts.reduce((a, b) => a + b, 0);
  await raw.end();
  process.send?.({
    type: 'result',
    ops,
    opsPerSec: ops / elapsed,
    cpuPerOp: (cpu.user + cpu.system) / ops,
    rss: process.memoryUsage().rss,
    spansPerOp: (census.spans - spans0) / ops,
    names: [...census.names].map(([n]) => n),
    instruments: [...census.instruments],
  });
  process.exit(0);
}
