// Connection metrics of outgoing HTTP: open connections by state, requests waiting for a
// connection, the time each waited (metric and CLIENT span attribute), with an undici Pool and an
// http.Agent that run out of connections, against a slow local server and the real SDK.

import dc from 'node:diagnostics_channel';
import http from 'node:http';
import { type Attributes, context, type Meter, type MeterProvider, ROOT_CONTEXT } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { type CollectedPoint, createTelemetry, startServer, type TestServer } from '@tracewire/testing';
import { Client, Pool } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HttpClientOptions, instrumentHttpClient, start } from '../src/index.js';
import { DestinationTable } from '../src/internal/destinations.js';

const WAIT = 'tracewire.http.client.connection.wait_time';
const telemetry = createTelemetry();
let slow: TestServer;
let fast: TestServer;
let stop: (() => void) | undefined;

beforeAll(async () => {
  slow = await startServer((req, res) => {
    if (req.url === '/hang-up') {
      // Head and part of the body, then the connection dies mid-response.
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    setTimeout(() => res.end('slow'), 200);
  });
  fast = await startServer((_req, res) => res.end('fast'));
});
afterAll(async () => {
  await slow.close();
  await fast.close();
  await telemetry.shutdown();
});
afterEach(() => {
  stop?.();
  stop = undefined;
  telemetry.reset();
});

function install(options: HttpClientOptions = {}): void {
  stop = instrumentHttpClient({
    tracerProvider: telemetry.tracerProvider,
    meterProvider: telemetry.meterProvider,
    ...options,
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sum(points: CollectedPoint[], match: Attributes): number {
  return points
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + p.value, 0);
}

interface Sample {
  pending: number;
  active: number;
  idle: number;
}

async function sample(port: number): Promise<Sample> {
  const points = await telemetry.collect();
  const of = (name: string, extra: Attributes = {}) =>
    sum(
      points.filter((p) => p.name === name),
      { 'server.port': port, ...extra },
    );
  return {
    pending: of('http.client.connection.pending_requests'),
    active: of('http.client.open_connections', { 'http.connection.state': 'active' }),
    idle: of('http.client.open_connections', { 'http.connection.state': 'idle' }),
  };
}

/**
 * Samples the counters every 20 ms until `work` settles, from the moment `connections` are open
 * (before that, the requests whose new connection is still being opened count as waiting too).
 */
async function sampleWhile(work: Promise<unknown>, port: number, connections: number): Promise<Sample[]> {
  let done = false;
  void work.finally(() => {
    done = true;
  });
  await until(async () => (await sample(port)).active === connections);
  const samples: Sample[] = [];
  while (!done) {
    samples.push(await sample(port));
    await sleep(20);
  }
  await work;
  return samples;
}

async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await sleep(10);
  }
}

function httpGet(url: string, agent?: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('error', () => {}); // 'aborted' is reported through 'close'
        res.on('close', () => (res.complete ? resolve(body) : reject(new Error('aborted'))));
      })
      .on('error', reject);
  });
}

const peak = (samples: Sample[]) => samples.reduce((best, s) => (s.pending > best.pending ? s : best));

describe('outgoing HTTP connections', () => {
  it('undici Pool (connections: 2), 10 concurrent requests: 8 wait, 2 active, then 2 idle, then 0', async () => {
    const pool = new Pool(slow.url, { connections: 2 });
    install({ undiciDispatchers: [{ origin: slow.url, dispatcher: pool }] });
    const work = Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        pool.request({ path: `/${i}`, method: 'GET' }).then((r) => r.body.text()),
      ),
    );
    const samples = await sampleWhile(work, slow.port, 2);
    const top = peak(samples);
    expect(top).toEqual({ pending: 8, active: 2, idle: 0 });
    expect(await sample(slow.port)).toEqual({ pending: 0, active: 0, idle: 2 });
    const waits = await telemetry.points('http.client.connection.wait_time');
    expect(sum(waits, { 'server.port': slow.port })).toBe(10);
    expect(waits[0]?.attributes).toEqual({
      'server.address': '127.0.0.1',
      'server.port': slow.port,
      'url.scheme': 'http',
    });
    const spans = await telemetry.waitForSpans(10);
    for (const s of spans) expect(typeof s.attributes[WAIT]).toBe('number');
    // The Pool queued 8 of them before creating them (no event publishes that): their wait (span
    // and histogram) starts when the pool hands them to a connection, so it is near 0 (README).
    await pool.close();
    await until(async () => (await sample(slow.port)).idle === 0);
    expect(await sample(slow.port)).toEqual({ pending: 0, active: 0, idle: 0 });
  });

  it('http.Agent (maxSockets: 2), 10 concurrent requests: 8 wait, 2 active, then 2 idle, then 0; spans show the wait', async () => {
    install();
    const agent = new http.Agent({ maxSockets: 2, keepAlive: true });
    const work = Promise.all(Array.from({ length: 10 }, (_, i) => httpGet(`${slow.url}/${i}`, agent)));
    const samples = await sampleWhile(work, slow.port, 2);
    const top = peak(samples);
    expect(top).toEqual({ pending: 8, active: 2, idle: 0 });
    expect(await sample(slow.port)).toEqual({ pending: 0, active: 0, idle: 2 });
    const waits = await telemetry.points('http.client.connection.wait_time');
    expect(sum(waits, { 'server.port': slow.port })).toBe(10);
    const spans = await telemetry.waitForSpans(10);
    const waited = spans.map((s) => s.attributes[WAIT] as number).sort((a, b) => a - b);
    // Two got a socket at once; the others queued behind rounds of ~200 ms responses.
    expect(waited.slice(0, 2).every((w) => w < 0.15)).toBe(true);
    expect(waited.slice(2).every((w) => w >= 0.15)).toBe(true);
    expect(waited[9]).toBeGreaterThanOrEqual(0.7);
    const histogram = waits.find((p) => p.attributes['server.port'] === slow.port);
    expect(histogram?.sum).toBeCloseTo(
      waited.reduce((a, b) => a + b, 0),
      1,
    );
    agent.destroy();
    await until(async () => (await sample(slow.port)).idle === 0);
    expect(await sample(slow.port)).toEqual({ pending: 0, active: 0, idle: 0 });
  });

  it('undici Client (one connection): requests queued on the client show their wait on the span', async () => {
    install();
    const client = new Client(slow.url);
    const work = Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        client.request({ path: `/${i}`, method: 'GET' }).then((r) => r.body.text()),
      ),
    );
    const samples = await sampleWhile(work, slow.port, 1);
    expect(peak(samples).pending).toBe(2);
    const spans = await telemetry.waitForSpans(3);
    const waited = spans.map((s) => s.attributes[WAIT] as number).sort((a, b) => a - b);
    expect(waited[1]).toBeGreaterThanOrEqual(0.15);
    expect(waited[2]).toBeGreaterThanOrEqual(0.35);
    await client.close();
    await until(async () => (await sample(slow.port)).idle === 0);
    expect(await sample(slow.port)).toEqual({ pending: 0, active: 0, idle: 0 });
  });

  it.each(['http.get', 'undici'])(
    '%s: a connection destroyed mid-response is no longer counted',
    async (kind) => {
      install();
      const pool = new Pool(slow.url, { connections: 1 });
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const request = (path: string) =>
        kind === 'undici'
          ? pool.request({ path, method: 'GET' }).then((r) => r.body.text())
          : httpGet(`${slow.url}${path}`, agent);
      const [failed, queued] = await Promise.allSettled([request('/hang-up'), request('/after')]);
      expect(failed?.status).toBe('rejected');
      expect(queued).toMatchObject({ status: 'fulfilled', value: 'slow' });
      const spans = await telemetry.waitForSpans(2);
      expect(spans.filter((s) => s.attributes['error.type'] !== undefined)).toHaveLength(1);
      // The queued request got a new connection; the dead one is gone.
      await until(async () => {
        const s = await sample(slow.port);
        return s.active === 0 && s.idle === 1;
      });
      expect(await sample(slow.port)).toEqual({ pending: 0, active: 0, idle: 1 });
      await pool.close();
      agent.destroy();
      await until(async () => (await sample(slow.port)).idle === 0);
    },
  );

  it('caps distinct destinations: the rest are server.address _OTHER (real requests)', async () => {
    install({ maxDestinations: 2 });
    const servers = await Promise.all(Array.from({ length: 4 }, () => startServer((_q, r) => r.end('x'))));
    try {
      for (const s of servers) {
        await (await fetch(s.url)).text();
        await httpGet(s.url);
      }
      const points = await telemetry.collect();
      for (const name of [
        'http.client.open_connections',
        'http.client.connection.pending_requests',
        'http.client.connection.wait_time',
        'http.client.request.duration',
      ]) {
        const dests = new Set(
          points
            .filter((p) => p.name === name)
            .map((p) => `${p.attributes['server.address']}:${p.attributes['server.port']}`),
        );
        expect([...dests].sort(), name).toEqual(
          [`127.0.0.1:${servers[0]?.port}`, `127.0.0.1:${servers[1]?.port}`, '_OTHER:undefined'].sort(),
        );
      }
      // Spans keep the real destination.
      const ports = new Set(telemetry.spans().map((s) => s.attributes['server.port']));
      expect(ports.size).toBe(4);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('10,000 distinct destinations through the channels keep every metric at 1000 series + _OTHER', async () => {
    install();
    const create = dc.channel('undici:request:create');
    const failed = dc.channel('undici:request:error');
    for (let i = 0; i < 10_000; i++) {
      const request = {
        origin: `http://h${i}.example:${1024 + (i % 50_000)}`,
        method: 'GET',
        path: '/',
        headers: [],
        addHeader: () => {},
      };
      create.publish({ request });
      failed.publish({ request, error: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) });
    }
    const points = await telemetry.collect();
    const series = (name: string) => points.filter((p) => p.name === name);
    expect(series('http.client.request.duration')).toHaveLength(1001);
    expect(series('http.client.connection.pending_requests')).toHaveLength(1001);
    expect(sum(series('http.client.connection.pending_requests'), {})).toBe(0);
    const other = series('http.client.request.duration').find(
      (p) => p.attributes['server.address'] === '_OTHER',
    );
    expect(other).toMatchObject({
      value: 9000,
      attributes: { 'url.scheme': 'http', 'error.type': 'ECONNREFUSED' },
    });
    expect(telemetry.spans()).toHaveLength(10_000);
  });

  it('caps distinct destinations at 1000 by default, whatever comes after (10,000 destinations); invalid caps throw', async () => {
    const table = new DestinationTable();
    for (let i = 0; i < 10_000; i++) {
      const d = table.get('http', `10.0.${i >> 8}.${i & 255}`, 1024 + i);
      d.pending++;
    }
    expect(table.size).toBe(1001);
    const other = table.get('http', 'one-more.example', 1);
    expect(other.attrs).toEqual({ 'server.address': '_OTHER', 'url.scheme': 'http' });
    expect(other.pending).toBe(9000);
    expect(table.get('https', 'x', 1).attrs['url.scheme']).toBe('https');
    expect(table.get('gopher', 'x', 1).attrs['url.scheme']).toBe('_OTHER');
    expect(table.size).toBe(1003);
    expect(table.get('http', '10.0.0.0', 1024)).toBe(table.get('http', '10.0.0.0', 1024));
    expect(() => instrumentHttpClient({ maxDestinations: -1 })).toThrow(TypeError);
    expect(() => instrumentHttpClient({ maxDestinations: 1.5 })).toThrow(TypeError);
    await expect(start({ httpClient: { maxDestinations: -1 } })).rejects.toThrow(TypeError);
    await expect(
      start({ httpClient: { undiciDispatchers: {} as unknown as HttpClientOptions['undiciDispatchers'] } }),
    ).rejects.toThrow(TypeError);
    // Nothing was installed by the failed calls.
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('tracewire.node.httpClient')]).toBeUndefined();
  });

  it('a meter provider that throws, instruments that throw and stats that throw never break a request', async () => {
    const throwing = (): never => {
      throw new Error('metrics are broken');
    };
    const brokenInstrument = { record: throwing, add: throwing };
    const brokenMeter = new Proxy(
      {},
      {
        get: (_t, name) =>
          name === 'addBatchObservableCallback' || name === 'removeBatchObservableCallback'
            ? () => {}
            : () => brokenInstrument,
      },
    ) as Meter;
    const providers: MeterProvider[] = [{ getMeter: throwing }, { getMeter: () => brokenMeter }];
    for (const meterProvider of providers) {
      stop = instrumentHttpClient({ tracerProvider: telemetry.tracerProvider, meterProvider });
      expect(await (await fetch(fast.url)).text()).toBe('fast');
      expect(await httpGet(fast.url)).toBe('fast');
      stop();
      stop = undefined;
    }
    const spans = await telemetry.waitForSpans(4);
    expect(spans.filter((s) => s.attributes['http.response.status_code'] === 200)).toHaveLength(4);
    // A dispatcher whose stats getter throws: the other series are still observed.
    const hostile = {
      get stats(): unknown {
        throw new Error('stats are broken');
      },
    };
    install({ undiciDispatchers: [hostile, { origin: 'http://x', dispatcher: hostile }] });
    expect(await httpGet(fast.url)).toBe('fast');
    const s = await sample(fast.port);
    expect(s.pending).toBe(0);
    expect(s.active + s.idle).toBeGreaterThanOrEqual(0);
    expect(await telemetry.points('http.client.request.duration')).toHaveLength(1);
  });

  it('leaves requests made with tracing suppressed out of the connection metrics', async () => {
    install();
    const agent = new http.Agent({ keepAlive: true });
    await context.with(suppressTracing(ROOT_CONTEXT), () => httpGet(fast.url, agent));
    expect(await sample(fast.port)).toEqual({ pending: 0, active: 0, idle: 0 });
    agent.destroy();
  });
});
