// A bounded grpc-js client loop: `concurrency` callers each issuing unary GetUser calls back to
// back until `seconds` have passed. Returns the count and latency percentiles (ms).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export async function grpcLoad(port, seconds, concurrency = 32) {
  const { proto, grpc } = require('./grpc-service.cjs');
  const client = new proto.Users(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const latencies = [];
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  const call = () =>
    new Promise((resolve) => {
      const t = performance.now();
      client.GetUser({ id: '42' }, (err) => {
        if (err) errors++;
        latencies.push(performance.now() - t);
        resolve();
      });
    });
  const worker = async () => {
    while (performance.now() < until) await call();
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  client.close();
  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return { total: latencies.length, average: latencies.length / elapsed, p50: pct(50), p99: pct(99), errors };
}

/**
 * Exactly `amount` unary GetUser calls from `concurrency` callers on one client (for the
 * instruction counts, which divide by a known number of calls). Returns the number of errors.
 */
export async function grpcCalls(port, amount, concurrency = 8) {
  const { proto, grpc } = require('./grpc-service.cjs');
  const client = new proto.Users(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  let left = amount;
  let errors = 0;
  const worker = async () => {
    while (left > 0) {
      left--;
      await new Promise((resolve) =>
        client.GetUser({ id: '42' }, (err) => {
          if (err) errors++;
          resolve();
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  client.close();
  return errors;
}

/**
 * The same unary GetUser calls from h2load (nghttp2's HTTP/2 load generator, C): one connection with
 * `concurrency` streams in flight, for `seconds`. A grpc-js client costs more CPU per call than the
 * server it drives, so on two cores it cannot saturate the server and the server's CPU per call then
 * depends on how calls happen to arrive; h2load can. The request is the serialized GetUserRequest
 * `{ id: '42' }` in a gRPC frame. h2load sees HTTP statuses only (a gRPC status travels in the
 * trailers): the driver checks one call with grpc-js first. Returns null when h2load is missing.
 */
export async function grpcH2load(port, seconds, concurrency = 32) {
  const { spawn, spawnSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  if (spawnSync('h2load', ['--version']).status !== 0) return null;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tracewire-h2load-'));
  const body = path.join(dir, 'getuser.bin');
  // gRPC frame: uncompressed flag, 4-byte length, then field 1 (string) = "42".
  writeFileSync(body, Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x02, 0x34, 0x32]));
  const args = [
    '-c',
    '1',
    '-m',
    String(concurrency),
    '-D',
    String(Math.max(1, Math.round(seconds))), // h2load takes whole seconds
    '-d',
    body,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    `http://127.0.0.1:${port}/bench.Users/GetUser`,
  ];
  const out = await new Promise((resolve, reject) => {
    const child = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`h2load exited ${code}`))));
  });
  const done = Number(out.match(/requests: \d+ total, \d+ started, (\d+) done/)?.[1] ?? NaN);
  const failed = Number(out.match(/(\d+) failed/)?.[1] ?? NaN);
  const rate = Number(out.match(/finished in [\d.]+\w+, ([\d.]+) req\/s/)?.[1] ?? NaN);
  const mean = out.match(/time for request:\s+\S+\s+\S+\s+(\S+)/)?.[1] ?? '';
  const ms = mean.endsWith('us') ? Number.parseFloat(mean) / 1000 : Number.parseFloat(mean);
  return { total: done, average: rate, p50: ms, p99: NaN, errors: failed };
}
