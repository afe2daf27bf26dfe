// Bytes allocated per request of one benchmark server variant: what the garbage collector will
// have to deal with, read from V8's young generation (no valgrind, seconds per run, and the same
// figure from run to run within a few bytes). Compare variants; see INSTRUCTIONS.md.
//
//   node src/allocations.mjs <express|koa|nest|fastify|grpc> <variant> [requests]
//
// The server runs with a young generation large enough for the window (ALLOC_SEMI_SPACE MB,
// default 512) after a warm-up (ALLOC_WARMUP requests, default 6000) and a full collection; the
// difference of two readings of the young generation's used bytes, divided by the requests, is the
// allocation per request (a collection inside the window would make it wrong: it is detected and
// reported). TRACEWIRE_GRPC_MODULE works as for instructions.mjs.
import { fork } from 'node:child_process';
import autocannon from 'autocannon';
import { grpcCalls } from './grpc-load.mjs';

const [suite = 'grpc', variant = 'tracewire', amountArg = '3000'] = process.argv.slice(2);
const AMOUNT = Number(amountArg);
const WARMUP = Number(process.env.ALLOC_WARMUP ?? 6000);
const SEMI = Number(process.env.ALLOC_SEMI_SPACE ?? 512);
const scripts = {
  express: './express-server.mjs',
  koa: './koa-server.mjs',
  nest: './nest-server.mjs',
  fastify: './fastify-server.mjs',
  grpc: './grpc-server.mjs',
};
if (scripts[suite] === undefined)
  throw new Error(`unknown suite ${suite} (express, koa, nest, fastify, grpc)`);

// The official instrumentation's variants run in a server of their own (as in run.mjs).
const script =
  variant.startsWith('official') && suite !== 'fastify' ? `./${suite}-official.cjs` : scripts[suite];
const child = fork(new URL(script, import.meta.url).pathname, {
  env: { ...process.env, VARIANT: variant },
  execArgv: [
    '--expose-gc',
    `--max-semi-space-size=${SEMI}`,
    `--min-semi-space-size=${SEMI}`,
    '--require',
    new URL('./alloc-preload.cjs', import.meta.url).pathname,
  ],
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
const ask = (type, answer) =>
  new Promise((resolve) => {
    const onMessage = (m) => {
      if (m.type !== answer) return;
      child.off('message', onMessage);
      resolve(m.young);
    };
    child.on('message', onMessage);
    child.send({ type });
  });
const port = await new Promise((resolve, reject) => {
  child.on('message', (m) => m.type === 'ready' && resolve(m.port));
  child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
});
const url = `http://127.0.0.1:${port}/users/42`;
const fire = (amount) =>
  suite === 'grpc'
    ? grpcCalls(port, amount, 8).then((errors) => ({ non2xx: errors }))
    : new Promise((resolve, reject) =>
        autocannon({ url, connections: 8, amount, timeout: 60 }, (err, res) =>
          err ? reject(err) : resolve(res),
        ),
      );

await fire(WARMUP);
const before = await ask('gc', 'gced');
const res = await fire(AMOUNT);
const after = await ask('young', 'young');
child.kill('SIGKILL');
const perRequest = (after - before) / AMOUNT;
// A collection in the window empties the young generation: the reading then goes down or is far
// too small. Report it rather than a wrong figure.
const collected = after < before || perRequest < 100;
console.log(
  `${suite}/${variant}: ${collected ? 'a collection ran inside the window; raise ALLOC_SEMI_SPACE or lower the requests' : `${Math.round(perRequest)} bytes allocated per request`} (${AMOUNT} requests, ${res.non2xx} ${suite === 'grpc' ? 'errors' : 'non-2xx'})`,
);
process.exit(0);
