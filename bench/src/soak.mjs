// Soak: SOAK_REQUESTS (default 1,000,000) requests through Express + tracewire, bounded by
// SOAK_MAX_SECONDS; reports heap after GC at the start and the end, the active-requests gauge and
// the duration count, and appends them to RESULTS.md when SOAK_WRITE=1.
import { fork } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { formatMarkdown } from './format-md.mjs';

const amount = Number(process.env.SOAK_REQUESTS ?? 1_000_000);
const maxSeconds = Number(process.env.SOAK_MAX_SECONDS ?? 400);
const child = fork(new URL('./soak-server.mjs', import.meta.url), [], { execArgv: ['--expose-gc'] });
const port = await new Promise((r) => child.once('message', (m) => r(m.port)));
const stats = () =>
  new Promise((r) => {
    child.once('message', r);
    child.send('stats');
  });
const url = `http://127.0.0.1:${port}/users/42`;
await new Promise((r) => autocannon({ url, connections: 32, amount: 20_000 }, r));
const start = await stats();
const t0 = performance.now();
const result = await new Promise((resolve, reject) => {
  const inst = autocannon({ url, connections: 32, amount, duration: maxSeconds }, (e, r) =>
    e ? reject(e) : resolve(r),
  );
  void inst;
});
const seconds = (performance.now() - t0) / 1000;
await new Promise((r) => setTimeout(r, 6000)); // let the batch processor drain
const end = await stats();
child.send('exit');
const mib = (b) => (b / 2 ** 20).toFixed(1);
const lines = [
  '',
  '## Soak',
  '',
  `${result.requests.total.toLocaleString('en')} requests (${result.non2xx} non-2xx, ${result.errors} errors) through Express + tracewire in ${seconds.toFixed(0)} s (${(result.requests.total / seconds).toFixed(0)} req/s), every request sampled, batch processor.`,
  '',
  '| | heap after GC (MiB) | RSS (MiB) | active requests | duration measurements | duration series |',
  '|---|---|---|---|---|---|',
  `| start (after 20k warm-up) | ${mib(start.heapUsed)} | ${mib(start.rss)} | ${start.active} | ${start.durations} | ${start.series} |`,
  `| end | ${mib(end.heapUsed)} | ${mib(end.rss)} | ${end.active} | ${end.durations} | ${end.series} |`,
  '',
];
console.log(lines.join('\n'));
if (process.env.SOAK_WRITE === '1')
  appendFileSync(new URL('../RESULTS.md', import.meta.url), lines.join('\n'));
formatMarkdown(new URL('../RESULTS.md', import.meta.url));
