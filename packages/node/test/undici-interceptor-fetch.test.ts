// otelUndiciInterceptor() composed onto an Agent of the undici bundled in Node (7.x on Node 24), as
// the global dispatcher of `fetch`. This file must not import `undici`: importing it installs the
// npm undici's Agent as the global dispatcher.

import { type CollectedPoint, createTelemetry, startServer, type TestServer } from '@tracewire/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { instrumentHttpClient, otelUndiciInterceptor, type UndiciInterceptor } from '../src/index.js';

const LEGACY = Symbol.for('undici.globalDispatcher.1');
const WAIT = 'tracewire.http.client.connection.wait_time';
const DELAY = 200;
const holder = globalThis as Record<symbol, unknown>;
const telemetry = createTelemetry();
let slow: TestServer;
let stop: (() => void) | undefined;

interface BundledAgent {
  close(): Promise<void>;
  compose(...interceptors: UndiciInterceptor[]): BundledAgent;
}
let Agent: new (options: { connections: number }) => BundledAgent;
let original: unknown;

beforeAll(async () => {
  slow = await startServer((req, res) => {
    if (req.url === '/missing') {
      res.writeHead(404, { 'x-kind': 'missing' }).end('nope');
      return;
    }
    setTimeout(() => res.writeHead(200, { 'x-kind': 'slow' }).end(`slow ${req.url}`), DELAY);
  });
  await (await fetch(`${slow.url}/missing`)).text(); // creates Node's global Agent
  original = holder[LEGACY];
  Agent = (original as object).constructor as typeof Agent;
});
afterEach(() => {
  holder[LEGACY] = original;
  stop?.();
  stop = undefined;
  telemetry.reset();
});
afterAll(async () => {
  await slow.close();
  await telemetry.shutdown();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const millis = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;

function sum(points: CollectedPoint[], name: string, match: Record<string, unknown>): number {
  return points
    .filter((p) => p.name === name && Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + p.value, 0);
}

async function sample(): Promise<{ pending: number; active: number; idle: number }> {
  const points = await telemetry.collect();
  const port = { 'server.port': slow.port };
  return {
    pending: sum(points, 'http.client.connection.pending_requests', port),
    active: sum(points, 'http.client.open_connections', { ...port, 'http.connection.state': 'active' }),
    idle: sum(points, 'http.client.open_connections', { ...port, 'http.connection.state': 'idle' }),
  };
}

// Node 22 bundles undici 6 (no `stats`, no tested compose): see the README's "Node 22's fetch".
const BUNDLED_UNDICI_MAJOR = Number(
  (process.versions as Record<string, string | undefined>).undici?.split('.')[0],
);

describe.skipIf(!(BUNDLED_UNDICI_MAJOR >= 7))(
  'otelUndiciInterceptor() on global fetch (Node-bundled undici)',
  () => {
    it('an Agent (connections: 2) composed as the global dispatcher: 8 wait from entry, waits grow, spans start at entry', async () => {
      const agent = new Agent({ connections: 2 });
      stop = instrumentHttpClient({
        tracerProvider: telemetry.tracerProvider,
        meterProvider: telemetry.meterProvider,
      });
      holder[LEGACY] = agent.compose(otelUndiciInterceptor()); // what setGlobalDispatcher() does
      const enteredAt = Date.now();
      let done = false;
      const work = Promise.all(
        Array.from({ length: 10 }, async (_, i) => (await fetch(`${slow.url}/${i}`)).text()),
      ).finally(() => {
        done = true;
      });
      const deadline = Date.now() + 5000;
      while ((await sample()).active < 2 && Date.now() < deadline) await sleep(5);
      const samples = [];
      while (!done) {
        samples.push(await sample());
        await sleep(20);
      }
      expect(await work).toEqual(Array.from({ length: 10 }, (_, i) => `slow /${i}`));
      expect(samples.reduce((best, s) => (s.pending > best.pending ? s : best))).toEqual({
        pending: 8,
        active: 2,
        idle: 0,
      });
      expect(await sample()).toEqual({ pending: 0, active: 0, idle: 2 });
      const waits = await telemetry.points('http.client.connection.wait_time');
      expect(sum(waits, 'http.client.connection.wait_time', { 'server.port': slow.port })).toBe(10);
      const spans = await telemetry.waitForSpans(10);
      const waited = spans.map((s) => s.attributes[WAIT] as number).sort((a, b) => a - b);
      for (let round = 0; round < 5; round++) {
        for (const w of waited.slice(round * 2, round * 2 + 2))
          expect(w).toBeGreaterThanOrEqual((round * DELAY - 60) / 1000);
      }
      expect(waited[0]).toBeLessThan(0.1);
      expect(waited[9]).toBeGreaterThanOrEqual((4 * DELAY - 50) / 1000);
      for (const s of spans) {
        // Well within the first round (without the interceptor they spread over ~4 rounds).
        expect(millis(s.startTime) - enteredAt).toBeGreaterThan(-5);
        expect(millis(s.startTime) - enteredAt).toBeLessThan(DELAY / 2);
        expect(millis(s.endTime) - millis(s.startTime)).toBeGreaterThanOrEqual(
          (s.attributes[WAIT] as number) * 1000 + DELAY - 30,
        );
      }
      await agent.close();
    });

    it('fetch results are the same through the bare and the composed Agent (status, headers, body, abort)', async () => {
      stop = instrumentHttpClient({
        tracerProvider: telemetry.tracerProvider,
        meterProvider: telemetry.meterProvider,
      });
      const gone = await startServer(() => {});
      await gone.close();
      const run = async () => {
        const ok = await fetch(`${slow.url}/a?x=1`, { headers: { 'x-in': '1' } });
        const missing = await fetch(`${slow.url}/missing`);
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 30);
        const aborted = await fetch(`${slow.url}/slow`, { signal: controller.signal }).then(
          () => 'not aborted',
          (e: Error) => e.name,
        );
        const refused = await fetch(gone.url).then(
          () => 'not refused',
          (e: Error & { cause?: { code?: string } }) => `${e.name} ${e.cause?.code}`,
        );
        return [
          [ok.status, ok.headers.get('x-kind'), await ok.text()],
          [missing.status, missing.headers.get('x-kind'), await missing.text()],
          aborted,
          refused,
        ];
      };
      const results = [];
      for (const composed of [false, true]) {
        const agent = new Agent({ connections: 1 });
        holder[LEGACY] = composed ? agent.compose(otelUndiciInterceptor()) : agent;
        results.push(await run());
        await agent.close();
      }
      expect(results[0]).toEqual([
        [200, 'slow', 'slow /a?x=1'],
        [404, 'missing', 'nope'],
        'AbortError',
        'TypeError ECONNREFUSED',
      ]);
      expect(results[1]).toEqual(results[0]);
      expect((await sample()).pending).toBe(0);
    });
  },
);
