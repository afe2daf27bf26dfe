// Instructions per query of the SQL loops (pg-loop.mjs, mysql2-loop.mjs), counted by valgrind's
// callgrind: unlike queries per second on a shared 2-core machine (where the database server runs
// too), the count repeats from run to run. Not part of `npm run bench`; needs valgrind and the
// database servers of the loops (PostgreSQL on 127.0.0.1:5432, MariaDB/MySQL on 127.0.0.1:3306).
//
//   node src/instructions-sql.mjs [drivers] [variants] [queries]
//   node src/instructions-sql.mjs pg,mysql2 bare,tracewire-nosdk,tracewire-off,tracewire 3000
//   INSTR_FUNCTIONS=1 node src/instructions-sql.mjs mysql2 tracewire-off   # also: where they go
//
// Variants: `bare` (the driver's pool alone), `tracewire-nosdk` (traced, no SDK registered: the
// API's no-op tracer and meter), `tracewire-off` (the SDK with an AlwaysOff sampler: no span is
// recorded, metrics are), `tracewire` (sampled: every span recorded and batched). Each variant's
// loop process runs under callgrind with instrumentation off; it answers `run` messages by running
// that many queries, 8 in flight, through one pool of 8 connections (LOOP_MODE=instr). After a
// warm-up (INSTR_WARMUP queries, default 6000: V8 has optimized the query path by then) and a full
// collection with a young generation large enough for the window (INSTR_SEMI_SPACE MB, default
// 256; no collection lands in it, so the count repeats), counting is on for `queries` queries.
// Only the client process's user-space instructions are counted: not the database server, not
// the kernel's socket work. Rounds (INSTR_ROUNDS, default 1) run every driver/variant pair once,
// interleaved; the table shows the lowest count of each pair.
//
// TRACEWIRE_PG_MODULE / TRACEWIRE_MYSQL2_MODULE (paths to another build's index.js) run the loops
// on another build, for before/after comparisons.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [driversArg = 'pg,mysql2', variantsArg = 'bare,tracewire-nosdk,tracewire-off,tracewire', amountArg] =
  process.argv.slice(2);
const AMOUNT = Number(amountArg ?? 3000);
const WARMUP = Number(process.env.INSTR_WARMUP ?? 6000);
const ROUNDS = Number(process.env.INSTR_ROUNDS ?? 1);
const FUNCTIONS = process.env.INSTR_FUNCTIONS === '1';
const TOP = Number(process.env.INSTR_TOP ?? 40);
const SEMI = Number(process.env.INSTR_SEMI_SPACE ?? 256);
const scripts = { pg: './pg-loop.mjs', mysql2: './mysql2-loop.mjs' };
const drivers = driversArg.split(',');
const variants = variantsArg.split(',');
for (const d of drivers) if (scripts[d] === undefined) throw new Error(`unknown driver ${d} (pg, mysql2)`);

/** One loop process under callgrind: instructions per query, and a per-function breakdown. */
async function count(driver, variant) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tracewire-instr-sql-'));
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      `--callgrind-out-file=${dir}/callgrind.%p`,
      process.execPath,
      '--single-threaded-gc',
      '--expose-gc',
      ...(SEMI > 0 ? [`--max-semi-space-size=${SEMI}`, `--min-semi-space-size=${SEMI}`] : []),
      '--require',
      new URL('./instr-preload.cjs', import.meta.url).pathname,
      ...(FUNCTIONS ? ['--perf-basic-prof'] : []),
      new URL(scripts[driver], import.meta.url).pathname,
    ],
    {
      env: { ...process.env, VARIANT: variant, LOOP_MODE: 'instr' },
      stdio: ['inherit', 'ignore', process.env.INSTR_STDERR === '1' ? 'inherit' : 'ignore', 'ipc'],
    },
  );
  const next = (type) =>
    new Promise((resolve, reject) => {
      const onMessage = (m) => {
        if (m?.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m);
      };
      const onExit = (code) => reject(new Error(`${driver}/${variant} exited ${code} (valgrind? database?)`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const control = (...args) =>
    execFileSync('callgrind_control', [...args, String(child.pid)], { stdio: 'ignore' });
  await next('ready');
  child.send({ type: 'run', amount: WARMUP });
  await next('ran');
  if (SEMI > 0) {
    child.send({ type: 'gc' });
    await next('gced');
  }
  control('-i', 'on');
  child.send({ type: 'run', amount: AMOUNT });
  await next('ran');
  control('-i', 'off');
  control('-d');
  // The dump is written by the loop process when it next runs: wait for the file.
  const dumped = () => readdirSync(dir).find((f) => /^callgrind\.\d+\.\d+$/.test(f));
  for (let i = 0; i < 100 && dumped() === undefined; i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1000));
  child.removeAllListeners('exit');
  child.kill('SIGKILL');
  const file = path.join(dir, dumped() ?? '');
  const total = Number(readFileSync(file, 'utf8').match(/^totals: (\d+)/m)?.[1] ?? Number.NaN);
  const breakdown = FUNCTIONS ? perFunction(file, child.pid) : undefined;
  rmSync(dir, { recursive: true, force: true });
  return { perQuery: total / AMOUNT, breakdown };
}

/** Self cost per JavaScript function (V8's perf map) or native symbol, per query, highest first. */
function perFunction(file, pid) {
  const map = `/tmp/perf-${pid}.map`;
  const code = existsSync(map)
    ? readFileSync(map, 'utf8')
        .split('\n')
        .map((line) => /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line))
        .filter((m) => m !== null)
        .map((m) => ({
          start: Number.parseInt(m[1], 16),
          end: Number.parseInt(m[1], 16) + Number.parseInt(m[2], 16),
          name: m[3],
        }))
        .sort((a, b) => a.start - b.start)
    : [];
  const nameAt = (addr) => {
    let lo = 0;
    let hi = code.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (code[mid].start <= addr) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && addr < code[hi].end ? `JS ${code[hi].name}` : 'JIT code (unnamed)';
  };
  const text = execFileSync('callgrind_annotate', ['--threshold=100', '--inclusive=no', file], {
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
  });
  const costs = new Map();
  for (const line of text.split('\n')) {
    const m = /^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*:.*)$/.exec(line);
    if (m === null) continue;
    const jit = /^\?\?\?:0x([0-9a-f]+)/.exec(m[2]);
    const name =
      jit !== null
        ? nameAt(Number.parseInt(jit[1], 16))
        : m[2].replace(/^[^:]*:/, '').replace(/\s*\[.*\]$/, '');
    costs.set(name, (costs.get(name) ?? 0) + Number(m[1].replaceAll(',', '')));
  }
  return [...costs].sort((a, b) => b[1] - a[1]).slice(0, TOP);
}

const best = new Map();
for (let round = 0; round < ROUNDS; round++) {
  for (const driver of drivers) {
    for (const variant of variants) {
      // A loop process under valgrind is sometimes lost (killed by a signal): one more try.
      const r = await count(driver, variant).catch((error) => {
        console.log(`${driver}/${variant}: ${error.message}; once more`);
        return count(driver, variant);
      });
      const key = `${driver}/${variant}`;
      console.log(`${key}: ${(r.perQuery / 1000).toFixed(1)}k instructions per query (${AMOUNT} queries)`);
      if (r.breakdown !== undefined) {
        console.log('  instructions/query  self cost');
        for (const [name, cost] of r.breakdown)
          console.log(`  ${(cost / AMOUNT).toFixed(0).padStart(10)}  ${name.slice(0, 150)}`);
      }
      if (!(best.get(key) <= r.perQuery)) best.set(key, r.perQuery);
    }
  }
}

console.log('\n| driver | variant | k instructions/query | added over bare |');
console.log('| ------ | ------- | -------------------- | --------------- |');
for (const driver of drivers) {
  const bare = best.get(`${driver}/bare`);
  for (const variant of variants) {
    const v = best.get(`${driver}/${variant}`);
    const added =
      bare === undefined || variant === 'bare'
        ? '—'
        : `${v >= bare ? '+' : '−'}${(Math.abs(v - bare) / 1000).toFixed(1)}k (${(((v - bare) / bare) * 100).toFixed(1)} %)`;
    console.log(`| ${driver} | ${variant} | ${(v / 1000).toFixed(1)} | ${added} |`);
  }
}
