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
