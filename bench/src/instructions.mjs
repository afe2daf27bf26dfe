// Instructions per request of one benchmark server variant, counted by valgrind's callgrind: the
// count is the same from run to run whatever else the machine is doing, which req/s on a shared
// 2-core machine are not. Not part of `npm run bench`; needs valgrind.
//
//   node src/instructions.mjs <express|koa|nest|fastify|grpc> <variant> [requests]
//   INSTR_FUNCTIONS=1 node src/instructions.mjs koa tracewire-nosdk      # also: where they go
//
// The grpc suite drives `grpc-server.mjs` with a grpc-js client (unary GetUser calls, 8 in flight
// unless INSTR_GRPC_CONCURRENCY says otherwise) from this process. TRACEWIRE_GRPC_MODULE=<path to
// a build's index.js> runs the server on another build of @tracewire/grpc (before/after
// comparisons); GRPC_CONVENTIONS=grpc|both sets the interceptor's `metricConventions`.
//
// The server runs under callgrind with instrumentation off; after a warm-up (INSTR_WARMUP requests,
// default 6000, so that V8 has optimized the request path) counting is switched on for `requests`
// requests (default 3000) and off again. Only user-space instructions are counted: the kernel's
// socket work is not, nor is anything the load generator does. Compare variants, not absolute
// values. Spans kept by the batch processor make the sampled variants vary by a few percent (GC);
// the no-SDK and AlwaysOff variants repeat within about 3 %.
//
// With INSTR_FUNCTIONS=1, V8 writes a perf map of its compiled code and the count is broken down
// per JavaScript function and per V8/Node builtin (self cost). --perf-basic-prof makes V8 itself
// do more work, so the totals of such a run are higher: read the breakdown, not the total.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { grpcCalls } from './grpc-load.mjs';

const [suite = 'koa', variant = 'tracewire', amountArg = '3000'] = process.argv.slice(2);
const AMOUNT = Number(amountArg);
const WARMUP = Number(process.env.INSTR_WARMUP ?? 6000);
const FUNCTIONS = process.env.INSTR_FUNCTIONS === '1';
const TOP = Number(process.env.INSTR_TOP ?? 40);
// gRPC calls in flight (8, as the HTTP suites' connections). The gRPC totals move by up to 15 %
// between identical runs (garbage collection lands in the window or not; one call at a time is
// worse: idle-time GC); compare builds with INSTR_FUNCTIONS=1 (self cost per function) as well.
const GRPC_CONCURRENCY = Number(process.env.INSTR_GRPC_CONCURRENCY ?? 8);

const scripts = {
  express: './express-server.mjs',
  koa: './koa-server.mjs',
  nest: './nest-server.mjs',
  fastify: './fastify-server.mjs',
  grpc: './grpc-server.mjs',
};
if (scripts[suite] === undefined)
  throw new Error(`unknown suite ${suite} (express, koa, nest, fastify, grpc)`);

const dir = mkdtempSync(path.join(os.tmpdir(), 'tracewire-instr-'));
// A young generation large enough for the whole window (INSTR_SEMI_SPACE MB, default 256) and a
// full collection just before it: no collection lands in the window, so its count repeats. Garbage
// collection is real cost the count then leaves out; allocation itself is still counted.
// INSTR_SEMI_SPACE=0: V8's default young generation and no collection before the window, so the
// count includes garbage collection (and varies by a few percent: take several runs).
const SEMI = Number(process.env.INSTR_SEMI_SPACE ?? 256);
const semiFlags = SEMI > 0 ? [`--max-semi-space-size=${SEMI}`, `--min-semi-space-size=${SEMI}`] : [];
// V8 still compiles on background threads: on a busy machine more of the window runs unoptimized
// code and the count rises by several percent (seen with the other core loaded). Compare variants
// run at the same load, interleaved.
const nodeFlags = [
  '--single-threaded-gc',
  '--expose-gc',
  ...semiFlags,
  '--require',
  new URL('./instr-preload.cjs', import.meta.url).pathname,
  ...(FUNCTIONS ? ['--perf-basic-prof'] : []),
  // INSTR_NODE_FLAGS: more V8/Node flags, e.g. `--single-threaded` (no background compiler: the
  // count no longer depends on how much CPU the machine leaves the compiler threads; use a longer
  // INSTR_WARMUP so that the window runs optimized code).
  ...(process.env.INSTR_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
];
const child = spawn(
  'valgrind',
  [
    '--tool=callgrind',
    '--instr-atstart=no',
    `--callgrind-out-file=${dir}/callgrind.%p`,
    process.execPath,
    ...nodeFlags,
    new URL(scripts[suite], import.meta.url).pathname,
  ],
  { env: { ...process.env, VARIANT: variant }, stdio: ['inherit', 'ignore', 'ignore', 'ipc'] },
);
const port = await new Promise((resolve, reject) => {
  child.on('message', (m) => m.type === 'ready' && resolve(m.port));
  child.once('exit', (code) => reject(new Error(`server exited ${code} (is valgrind installed?)`)));
});
const url = `http://127.0.0.1:${port}/users/42`;
const fire = (amount) =>
  suite === 'grpc'
    ? grpcCalls(port, amount, GRPC_CONCURRENCY).then((errors) => ({ non2xx: errors }))
    : new Promise((resolve, reject) =>
        autocannon({ url, connections: 8, amount, timeout: 60 }, (err, res) =>
          err ? reject(err) : resolve(res),
        ),
      );
const control = (...args) =>
  execFileSync('callgrind_control', [...args, String(child.pid)], { stdio: 'ignore' });

await fire(WARMUP);
await new Promise((resolve) => {
  if (SEMI === 0) {
    resolve();
    return;
  }
  const onMessage = (m) => {
    if (m.type !== 'gced') return;
    child.off('message', onMessage);
    resolve();
  };
  child.on('message', onMessage);
  child.send({ type: 'gc' });
});
control('-i', 'on');
const res = await fire(AMOUNT);
control('-i', 'off');
control('-d');
// The dump is written by the server process when it next runs: wait for the file.
const dumped = () => readdirSync(dir).find((f) => /\.\d+$/.test(f) && f.split('.').length === 3);
for (let i = 0; i < 100 && dumped() === undefined; i++) await new Promise((r) => setTimeout(r, 100));
await new Promise((r) => setTimeout(r, 1000));
child.removeAllListeners('exit');
child.kill('SIGKILL');

const file = path.join(dir, dumped() ?? '');
const total = Number(readFileSync(file, 'utf8').match(/^totals: (\d+)/m)?.[1] ?? NaN);
console.log(
  `${suite}/${variant}: ${(total / AMOUNT / 1000).toFixed(1)}k instructions per request (${AMOUNT} requests, ${res.non2xx} ${suite === 'grpc' ? 'errors' : 'non-2xx'})`,
);

if (FUNCTIONS) {
  const map = `/tmp/perf-${child.pid}.map`;
  const ranges = existsSync(map)
    ? readFileSync(map, 'utf8')
        .split('\n')
        .map((l) => l.split(' '))
        .filter((p) => p.length >= 3)
        .map(([start, size, ...name]) => [
          Number.parseInt(start, 16),
          Number.parseInt(size, 16),
          name.join(' '),
        ])
        .sort((a, b) => a[0] - b[0])
    : [];
  const lookup = (addr) => {
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (ranges[mid][0] <= addr) lo = mid + 1;
      else hi = mid - 1;
    }
    const r = ranges[hi];
    return r !== undefined && addr < r[0] + r[1] ? `JS ${r[2]}` : 'JIT code (unnamed)';
  };
  const annotated = execFileSync('callgrind_annotate', ['--threshold=100', '--inclusive=no', file], {
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
  });
  const perName = new Map();
  for (const line of annotated.split('\n')) {
    const m = line.match(/^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)$/);
    if (m === null || !m[2].includes(':')) continue;
    const cost = Number(m[1].replaceAll(',', ''));
    const where = m[2];
    const addr = where.match(/^\?\?\?:0x([0-9a-f]+)/);
    const name = addr
      ? lookup(Number.parseInt(addr[1], 16))
      : where.replace(/^[^:]*:/, '').replace(/\s*\[.*\]$/, '');
    perName.set(name, (perName.get(name) ?? 0) + cost);
  }
  console.log('\ninstructions/request  self cost');
  for (const [name, cost] of [...perName].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(`${(cost / AMOUNT).toFixed(0).padStart(10)}  ${name.slice(0, 150)}`);
  }
}
