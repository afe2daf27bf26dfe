// CPU profile of one benchmark server variant under a fixed number of requests, summarised per
// package and per function in µs of CPU per request. Not part of `npm run bench`.
//
//   node src/profile.mjs <suite> <variant> [requests]      e.g. node src/profile.mjs koa tracewire 60000
//
// The server runs with `--cpu-prof`; the driver sends `requests` requests with autocannon (after a
// warm-up of a fifth as many, which the profile includes: read the figures as A/B, not absolute).
import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';

const [suite = 'express', variant = 'tracewire', amountArg = '60000'] = process.argv.slice(2);
const AMOUNT = Number(amountArg);
const WARMUP = Math.round(AMOUNT / 5);
const TOP = Number(process.env.PROFILE_TOP ?? 25);

const scripts = {
  express: variant.startsWith('official') ? './express-official.cjs' : './express-server.mjs',
  koa: variant.startsWith('official') ? './koa-official.cjs' : process.env.KOA_SCRIPT ?? './koa-server.mjs',
  nest: variant.startsWith('official') ? './nest-official.cjs' : './nest-server.mjs',
};
if (scripts[suite] === undefined) throw new Error(`unknown suite ${suite} (express, koa, nest)`);

const dir = mkdtempSync(path.join(os.tmpdir(), 'tracewire-prof-'));
const child = fork(new URL(scripts[suite], import.meta.url), [], {
  env: { ...process.env, VARIANT: variant },
  execArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100'],
  stdio: 'inherit',
});
const port = await new Promise((resolve, reject) => {
  child.once('message', (m) => (m.type === 'ready' ? resolve(m.port) : reject(new Error('bad ready'))));
  child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
});
const url = `http://127.0.0.1:${port}/users/42`;
const fire = (amount) =>
  new Promise((resolve, reject) =>
    autocannon({ url, connections: 32, amount }, (err, res) => (err ? reject(err) : resolve(res))),
  );
await fire(WARMUP);
const res = await fire(AMOUNT);
const total = WARMUP + AMOUNT;
await new Promise((resolve) => {
  child.once('exit', resolve);
  child.send('exit');
});

const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}

function owner(url, name) {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const pkg = url.match(/\/(packages|tools|bench|apps)\/([^/]+)\//);
  if (pkg) return `tracewire:${pkg[1]}/${pkg[2]}`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url;
}

const perOwner = new Map();
const perFn = new Map();
for (const [id, us] of self) {
  const { callFrame } = byId.get(id);
  const o = owner(callFrame.url, callFrame.functionName);
  perOwner.set(o, (perOwner.get(o) ?? 0) + us);
  const key = `${callFrame.functionName || '(anonymous)'}  ${o}:${callFrame.lineNumber + 1}`;
  perFn.set(key, (perFn.get(key) ?? 0) + us);
}
const busy = [...self.entries()]
  .filter(([id]) => byId.get(id).callFrame.functionName !== '(idle)')
  .reduce((a, [, us]) => a + us, 0);
const fmt = (us) => (us / total).toFixed(2).padStart(7);
console.log(
  `\n${suite}/${variant}: ${total} requests (${res.non2xx} non-2xx), busy CPU ${(busy / total).toFixed(1)} µs/request\n`,
);
const write = [...perFn].filter(([k]) => k.startsWith('writeUtf8String') || k.startsWith('writev')).reduce((a, [, us]) => a + us, 0);
console.log(`user-land CPU ${((busy - write) / total).toFixed(1)} µs/request (busy minus the native socket write, whose cost follows how often the client must be woken)\n`);
console.log('µs/req  by package');
for (const [o, us] of [...perOwner].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${fmt(us)}  ${o}`);
console.log('\nµs/req  by function (self time)');
for (const [k, us] of [...perFn].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${fmt(us)}  ${k}`);
