// Runs every benchmark variant, interleaved over several rounds, each server in its own process
// and the load generator (autocannon) in this one; writes RESULTS.md.
import { execFileSync, fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import autocannon from 'autocannon';
import { formatMarkdown } from './format-md.mjs';
import { grpcCalls, grpcH2load, grpcLoad } from './grpc-load.mjs';

const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1.5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ONLY = process.env.BENCH_ONLY?.split(',');
const GRPC_LOAD = process.env.BENCH_GRPC_LOAD ?? 'h2load';
// Optional subset of variants (bare is always kept: ratios need it).
const VARIANTS = process.env.BENCH_VARIANTS?.split(',');
// On a machine with at least two cores, the server gets a core of its own and the load generator
// another, as if they ran on separate hosts; otherwise the two fight for the same cores and the
// scheduler's choices show up in the ratios. BENCH_PIN=0 turns it off.
const PIN = process.env.BENCH_PIN !== '0' && os.cpus().length >= 2 && pin(process.pid, 0);

function pin(pid, cpu) {
  try {
    execFileSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const suites = [
  {
    name: 'express',
    server: (variant) =>
      new URL(
        variant.startsWith('official') ? './express-official.cjs' : './express-server.mjs',
        import.meta.url,
      ),
    path: '/users/42',
    variants: ['bare', 'tracewire', 'tracewire-nosdk', 'tracewire-off', 'floor', 'official', 'official-off'],
  },
  {
    name: 'koa',
    server: (variant) =>
      new URL(variant.startsWith('official') ? './koa-official.cjs' : './koa-server.mjs', import.meta.url),
    path: '/users/42',
    variants: ['bare', 'tracewire', 'tracewire-nosdk', 'tracewire-off', 'floor', 'official', 'official-off'],
  },
  {
    name: 'fastify',
    server: () => new URL('./fastify-server.mjs', import.meta.url),
    path: '/users/42',
    variants: ['bare', 'tracewire', 'tracewire-nosdk', 'tracewire-off', 'floor'],
  },
  {
    name: 'nest',
    server: (variant) =>
      new URL(variant.startsWith('official') ? './nest-official.cjs' : './nest-server.mjs', import.meta.url),
    path: '/users/42',
    variants: ['bare', 'tracewire', 'tracewire-nosdk', 'tracewire-off', 'floor', 'official', 'official-off'],
  },
  {
    name: 'grpc',
    kind: 'grpc',
    server: (variant) =>
      new URL(variant.startsWith('official') ? './grpc-official.cjs' : './grpc-server.mjs', import.meta.url),
    variants: [
      'bare',
      'tracewire',
      'tracewire-nosdk',
      'tracewire-off',
      'floor',
      'floor-naive',
      'floor-full',
      'official',
      'official-off',
    ],
  },
  {
    name: 'pg',
    kind: 'loop',
    server: () => new URL('./pg-loop.mjs', import.meta.url),
    variants: ['bare', 'tracewire', 'tracewire-off'],
  },
  {
    name: 'mysql2',
    kind: 'loop',
    server: () => new URL('./mysql2-loop.mjs', import.meta.url),
    variants: ['bare', 'tracewire', 'tracewire-off'],
  },
]
  .filter((s) => ONLY === undefined || ONLY.includes(s.name))
  .map((s) => ({
    ...s,
    variants: s.variants.filter((v) => v === 'bare' || VARIANTS === undefined || VARIANTS.includes(v)),
  }));

function start(script, variant) {
  return new Promise((resolve, reject) => {
    const child = fork(script, [], {
      env: { ...process.env, VARIANT: variant },
      execArgv: ['--expose-gc'],
      stdio: 'inherit',
    });
    if (PIN) pin(child.pid, 1);
    child.once('message', (m) =>
      m.type === 'ready' ? resolve({ child, port: m.port }) : reject(new Error('bad ready')),
    );
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

/** A self-driving benchmark process (its own bounded loop); returns a result row. */
function runLoop(script, variant) {
  return new Promise((resolve, reject) => {
    const child = fork(script, [], {
      env: { ...process.env, VARIANT: variant, LOOP_DURATION: String(DURATION) },
      stdio: 'inherit',
    });
    child.once('message', (m) => {
      resolve({
        rps: m.opsPerSec,
        p50: NaN,
        p99: NaN,
        cpuPerReq: m.cpuPerOp,
        rss: m.rss / 2 ** 20,
        spansPerReq: m.spansPerOp,
        names: m.names,
        instruments: m.instruments,
        errors: 0,
      });
    });
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${script} exited ${code}`))));
  });
}

function stats(child) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send('stats');
  });
}

function load(url, duration) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration, pipelining: 1 }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Installed versions of what is measured, read from each package.json. */
function versions() {
  const names = [
    'express',
    'koa',
    '@koa/router',
    'fastify',
    '@nestjs/core',
    '@grpc/grpc-js',
    'pg',
    '@opentelemetry/api',
    '@opentelemetry/sdk-trace',
    '@opentelemetry/sdk-metrics',
    '@opentelemetry/instrumentation-http',
    '@opentelemetry/instrumentation-express',
    '@opentelemetry/instrumentation-koa',
    '@opentelemetry/instrumentation-nestjs-core',
    '@opentelemetry/instrumentation-grpc',
    'autocannon',
  ];
  return names
    .map((n) => {
      try {
        const url = new URL(`../../node_modules/${n}/package.json`, import.meta.url);
        return `${n} ${JSON.parse(readFileSync(url, 'utf8')).version}`;
      } catch {
        return `${n} ?`;
      }
    })
    .join(', ');
}

const results = {};
for (const suite of suites) {
  results[suite.name] = Object.fromEntries(suite.variants.map((v) => [v, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of suite.variants) {
      if (suite.kind === 'loop') {
        const row = await runLoop(suite.server(variant), variant);
        results[suite.name][variant].push(row);
        console.log(
          `${suite.name} round ${round + 1} ${variant.padEnd(16)} ${row.rps.toFixed(0).padStart(6)} ops/s  cpu ${row.cpuPerReq.toFixed(1)} µs/op  spans/op ${row.spansPerReq.toFixed(2)}`,
        );
        continue;
      }
      const { child, port } = await start(suite.server(variant), variant);
      const run = async (seconds) => {
        if (suite.kind === 'grpc') {
          // h2load when installed (BENCH_GRPC_LOAD=grpc-js keeps the grpc-js client): see grpc-load.mjs.
          const g =
            (GRPC_LOAD === 'h2load' ? await grpcH2load(port, seconds, CONNECTIONS) : null) ??
            (await grpcLoad(port, seconds, CONNECTIONS));
          return {
            requests: { total: g.total, average: g.average },
            latency: { p50: Number(g.p50.toFixed(2)), p99: Number(g.p99.toFixed(2)) },
            errors: g.errors,
            non2xx: 0,
          };
        }
        return load(`http://127.0.0.1:${port}${suite.path}`, seconds);
      };
      // h2load sees HTTP statuses only: a few calls through grpc-js first must end OK.
      if (suite.kind === 'grpc' && (await grpcCalls(port, 8, 4)) > 0)
        throw new Error(`grpc ${variant}: calls failed before the load`);
      await run(WARMUP);
      const before = await stats(child);
      const r = await run(DURATION);
      const after = await stats(child);
      child.send('exit');
      const requests = r.requests.total;
      const cpuUs = after.cpu.user + after.cpu.system - (before.cpu.user + before.cpu.system);
      const row = {
        rps: r.requests.average,
        p50: r.latency.p50,
        p99: r.latency.p99,
        cpuPerReq: cpuUs / requests,
        rss: after.rss / 2 ** 20,
        spansPerReq: (after.census.spans - before.census.spans) / requests,
        names: after.census.names.map(([n]) => n),
        instruments: after.census.instruments,
        errors: r.errors + r.non2xx,
      };
      results[suite.name][variant].push(row);
      console.log(
        `${suite.name} round ${round + 1} ${variant.padEnd(16)} ${row.rps.toFixed(0).padStart(6)} req/s  p50 ${row.p50} ms  p99 ${row.p99} ms  cpu ${row.cpuPerReq.toFixed(1)} µs/req  spans/req ${row.spansPerReq.toFixed(2)}`,
      );
    }
  }
}

// Ratio to bare in the same round, then the median over rounds.
let md = `# Benchmark results\n\nGenerated by \`npm run bench\` on ${new Date().toISOString()}.\n\n`;
md += `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}.\n`;
md += `Versions: ${versions()}.\n`;
md += 'How to read it, the profile findings and before/after: bench/README.md.\n';
md += `Load: autocannon, ${CONNECTIONS} connections, ${WARMUP} s warm-up + ${DURATION} s per run, ${ROUNDS} rounds, variants interleaved; server in its own process. gRPC: ${GRPC_LOAD === 'h2load' ? `h2load (one HTTP/2 connection, ${CONNECTIONS} streams in flight) where installed, else ` : ''}a grpc-js client with ${CONNECTIONS} calls in flight.\n\n`;
for (const suite of suites) {
  md += `## ${suite.name}\n\n| variant | median req/s | ratio to bare | p50 ms | p99 ms | server CPU µs/req | added CPU µs/req | RSS MiB | spans/req |\n|---|---|---|---|---|---|---|---|---|\n`;
  const bare = results[suite.name].bare;
  for (const variant of suite.variants) {
    const rows = results[suite.name][variant];
    const ratios = rows.map((r, i) => r.rps / bare[i].rps);
    const added = rows.map((r, i) => r.cpuPerReq - bare[i].cpuPerReq);
    md += `| ${variant} | ${median(rows.map((r) => r.rps)).toFixed(0)} | ${median(ratios).toFixed(2)} | ${median(rows.map((r) => r.p50))} | ${median(rows.map((r) => r.p99))} | ${median(rows.map((r) => r.cpuPerReq)).toFixed(1)} | ${median(added).toFixed(1)} | ${median(rows.map((r) => r.rss)).toFixed(0)} | ${median(rows.map((r) => r.spansPerReq)).toFixed(2)} |\n`;
  }
  md += '\nCensus (span names, instruments):\n\n';
  for (const variant of suite.variants) {
    const last = results[suite.name][variant].at(-1);
    md += `- ${variant}: spans ${JSON.stringify(last.names)}, instruments ${JSON.stringify(last.instruments)}\n`;
  }
  md += '\n';
}
const out = new URL('../RESULTS.md', import.meta.url);
writeFileSync(out, md);
formatMarkdown(out);
console.log(md);
