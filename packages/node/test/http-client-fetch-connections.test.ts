// Connection metrics of global fetch, through the undici bundled in Node (a different module
// instance from the npm `undici`, publishing the same channels). This file must not import
// `undici`: importing it installs the npm undici's Agent as the global dispatcher.

import { type CollectedPoint, createTelemetry, startServer, type TestServer } from '@tracewire/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instrumentHttpClient } from '../src/index.js';

const LEGACY = Symbol.for('undici.globalDispatcher.1');
const CURRENT = Symbol.for('undici.globalDispatcher.2');
const holder = globalThis as Record<symbol, unknown>;
const telemetry = createTelemetry();
let slow: TestServer;
let stop: (() => void) | undefined;

beforeAll(async () => {
  slow = await startServer((_req, res) => {
    setTimeout(() => res.end('slow'), 200);
  });
});
afterAll(async () => {
  stop?.();
  await slow.close();
  await telemetry.shutdown();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

interface Closable {
  close(): Promise<void>;
}

// Node 22 bundles undici 6, whose dispatchers have no `stats` (the pool queue cannot be read):
// this test needs the undici 7 of Node 24 (see the README's "Node 22's fetch").
const BUNDLED_UNDICI_MAJOR = Number(
  (process.versions as Record<string, string | undefined>).undici?.split('.')[0],
);

describe('global fetch (Node-bundled undici)', () => {
  it.skipIf(!(BUNDLED_UNDICI_MAJOR >= 7))(
    'an Agent with connections: 2 as the global dispatcher: 8 wait, 2 active, then 2 idle, then 0',
    async () => {
      await (await fetch(`${slow.url}/warm-up`)).text(); // before instrumenting: creates Node's global Agent
      // Node's bundled undici stores its one Agent under both symbols (and reads `.1`); the npm undici
      // 8 would store a wrapper under `.1`. It is not loaded in this file: fetch runs on Node's copy.
      const original = holder[LEGACY] as object;
      // Node 24's bundled undici 7 keeps it under both symbols; Node 22's undici 6 only under `.1`.
      if (holder[CURRENT] !== undefined) expect(holder[CURRENT]).toBe(original);
      expect(original).toBeTypeOf('object');
      const BundledAgent = original.constructor as new (options: { connections: number }) => Closable;
      const agent = new BundledAgent({ connections: 2 });
      stop = instrumentHttpClient({
        tracerProvider: telemetry.tracerProvider,
        meterProvider: telemetry.meterProvider,
      });
      holder[LEGACY] = agent; // what setGlobalDispatcher() does; the global dispatcher is read automatically
      try {
        let done = false;
        const work = Promise.all(
          Array.from({ length: 10 }, async (_, i) => (await fetch(`${slow.url}/${i}`)).text()),
        ).finally(() => {
          done = true;
        });
        // Sampled once both connections are open (until then the two requests opening them wait too).
        const deadline = Date.now() + 5000;
        while ((await sample()).active < 2 && Date.now() < deadline) await sleep(5);
        const samples = [];
        while (!done) {
          samples.push(await sample());
          await sleep(20);
        }
        await work;
        const top = samples.reduce((best, s) => (s.pending > best.pending ? s : best));
        expect(top).toEqual({ pending: 8, active: 2, idle: 0 });
        expect(await sample()).toEqual({ pending: 0, active: 0, idle: 2 });
        const waits = await telemetry.points('http.client.connection.wait_time');
        expect(sum(waits, 'http.client.connection.wait_time', { 'server.port': slow.port })).toBe(10);
        const spans = await telemetry.waitForSpans(10);
        expect(
          spans.every((s) => typeof s.attributes['tracewire.http.client.connection.wait_time'] === 'number'),
        ).toBe(true);
      } finally {
        holder[LEGACY] = original;
      }
      await agent.close();
      const deadline = Date.now() + 5000;
      while ((await sample()).idle > 0 && Date.now() < deadline) await sleep(10);
      expect(await sample()).toEqual({ pending: 0, active: 0, idle: 0 });
    },
  );
});
