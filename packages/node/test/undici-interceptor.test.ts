// otelUndiciInterceptor() with the npm undici 8: a request is seen from the moment it enters a
// Pool, before the Pool (all connections busy) creates it. Real servers on 127.0.0.1:0, the real SDK.

import { type Attributes, context, type MeterProvider, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import {
  type CollectedPoint,
  createTelemetry,
  installContextManager,
  startServer,
  type TestServer,
} from '@tracewire/testing';
import { Agent, type Dispatcher, interceptors, Pool, fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type HttpClientOptions,
  instrumentHttpClient,
  otelUndiciInterceptor,
  type UndiciDispatch,
} from '../src/index.js';

const WAIT = 'tracewire.http.client.connection.wait_time';
const DELAY = 200;
const telemetry = createTelemetry();
let slow: TestServer;
let echo: TestServer;
let stop: (() => void) | undefined;
let flaky = 0;

beforeAll(async () => {
  installContextManager();
  slow = await startServer((req, res) => {
    setTimeout(() => res.end(`slow ${req.url}`), DELAY);
  });
  echo = await startServer((req, res) => {
    if (req.url === '/flaky' && flaky++ % 2 === 0) {
      res.writeHead(503, { 'retry-after': '0' }).end('again');
      return;
    }
    if (req.url === '/hang-up') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    if (req.url?.startsWith('/slow')) {
      setTimeout(() => res.end('late'), DELAY);
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      const status = req.url === '/missing' ? 404 : 200;
      res.writeHead(status, { 'x-echo': req.method ?? '', 'content-type': 'text/plain' });
      res.end(`${req.method} ${req.url} ${body} ${req.headers['x-in'] ?? ''}`);
    });
  });
});
afterAll(async () => {
  stop?.();
  await slow.close();
  await echo.close();
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

async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await sleep(10);
  }
}

/** Samples every 20 ms while `work` runs, from the moment `connections` are active. */
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

const peak = (samples: Sample[]) => samples.reduce((best, s) => (s.pending > best.pending ? s : best));
const millis = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;

/** What a saturated pool shows: waits in rounds of DELAY, spans starting when the requests entered. */
function expectQueueMeasured(spans: ReadableSpan[], enteredAt: number): number[] {
  const waited = spans.map((s) => s.attributes[WAIT] as number).sort((a, b) => a - b);
  expect(waited).toHaveLength(10);
  // Two requests get the two connections; the others wait in rounds of ~DELAY ms.
  for (let round = 0; round < 5; round++) {
    for (const w of waited.slice(round * 2, round * 2 + 2)) {
      expect(w).toBeGreaterThanOrEqual((round * DELAY - 60) / 1000);
    }
  }
  expect(waited[0]).toBeLessThan(0.1);
  expect(waited[8]).toBeGreaterThanOrEqual((4 * DELAY - 50) / 1000);
  expect(waited[9]).toBeLessThan((4 * DELAY + 600) / 1000);
  // Every CLIENT span starts when its request entered the pool (all at once), not when the pool
  // handed it to a connection, and lasts its wait plus the response.
  for (const s of spans) {
    // Well within the first round (without the interceptor they spread over ~4 rounds).
    expect(millis(s.startTime) - enteredAt).toBeGreaterThan(-5);
    expect(millis(s.startTime) - enteredAt).toBeLessThan(DELAY / 2);
    const duration = millis(s.endTime) - millis(s.startTime);
    expect(duration).toBeGreaterThanOrEqual((s.attributes[WAIT] as number) * 1000 + DELAY - 30);
  }
  return waited;
}

describe('otelUndiciInterceptor() on an undici 8 Pool', () => {
  it.each([
    ['the interceptor alone', false],
    ['the Pool also listed in undiciDispatchers (its stats.queued not counted twice)', true],
  ])(
    'Pool (connections: 2), 10 concurrent requests, %s: 8 wait from entry, waits grow with queue position',
    async (_name, listed) => {
      const bare = new Pool(slow.url, { connections: 2 });
      const pool = bare.compose(otelUndiciInterceptor());
      install(listed ? { undiciDispatchers: [{ origin: slow.url, dispatcher: bare }] } : {});
      const enteredAt = Date.now();
      const work = Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          pool.request({ path: `/${i}`, method: 'GET' }).then((r) => r.body.text()),
        ),
      );
      const samples = await sampleWhile(work, slow.port, 2);
      expect(peak(samples)).toEqual({ pending: 8, active: 2, idle: 0 });
      // It falls by two per round of responses (a sample may catch a request between its creation and
      // its write, counted once either way).
      const levels = new Set(samples.map((s) => s.pending));
      for (const level of [8, 6, 4, 2]) expect(levels.has(level)).toBe(true);
      expect(Math.max(...levels)).toBe(8);
      expect(await work).toEqual(Array.from({ length: 10 }, (_, i) => `slow /${i}`));
      expect(await sample(slow.port)).toEqual({ pending: 0, active: 0, idle: 2 });

      const spans = await telemetry.waitForSpans(10);
      const waited = expectQueueMeasured(spans, enteredAt);
      const waits = await telemetry.points('http.client.connection.wait_time');
      const histogram = waits.find((p) => p.attributes['server.port'] === slow.port);
      expect(histogram?.value).toBe(10);
      expect(histogram?.attributes).toEqual({
        'server.address': '127.0.0.1',
        'server.port': slow.port,
        'url.scheme': 'http',
      });
      expect(histogram?.sum).toBeCloseTo(
        waited.reduce((a, b) => a + b, 0),
        2,
      );
      // The request duration also counts from entry: the last ones took about 5 rounds.
      const durations = await telemetry.points('http.client.request.duration');
      const duration = durations.find((p) => p.attributes['server.port'] === slow.port);
      expect(duration?.value).toBe(10);
      expect(duration?.sum).toBeGreaterThan(((2 + 4 + 6 + 8 + 10) * DELAY - 100) / 1000);
      await pool.close();
      await until(async () => (await sample(slow.port)).idle === 0);
      expect(await sample(slow.port)).toEqual({ pending: 0, active: 0, idle: 0 });
    },
  );

  it('without the interceptor the same Pool is measured as before: waits start when the Pool creates the request', async () => {
    const pool = new Pool(slow.url, { connections: 2 });
    install();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        pool.request({ path: `/${i}`, method: 'GET' }).then((r) => r.body.text()),
      ),
    );
    const spans = await telemetry.waitForSpans(10);
    // None of them shows the pool queue (the gap the interceptor closes).
    for (const s of spans) expect(s.attributes[WAIT] as number).toBeLessThan(0.1);
    const starts = spans.map((s) => millis(s.startTime)).sort((a, b) => a - b);
    expect((starts[9] as number) - (starts[0] as number)).toBeGreaterThan(4 * DELAY - 50);
    await pool.close();
  });

  it('an Agent (connections: 2) composed: origin per request, parent span from the caller, fetch through it', async () => {
    const agent = new Agent({ connections: 2 }).compose(otelUndiciInterceptor());
    install();
    const tracer = telemetry.tracerProvider.getTracer('test');
    const parent = tracer.startSpan('caller');
    const enteredAt = Date.now();
    const bodies = await context.with(trace.setSpan(ROOT_CONTEXT, parent), () =>
      Promise.all(
        Array.from({ length: 10 }, async (_, i) =>
          (await undiciFetch(`${slow.url}/f${i}`, { dispatcher: agent })).text(),
        ),
      ),
    );
    parent.end();
    expect(bodies).toEqual(Array.from({ length: 10 }, (_, i) => `slow /f${i}`));
    const spans = (await telemetry.waitForSpans(11)).filter((s) => s.name === 'GET');
    expectQueueMeasured(spans, enteredAt);
    // The Pool creates queued requests from another request's callback: the parent is still the caller.
    for (const s of spans) expect(s.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(await sample(slow.port)).toMatchObject({ pending: 0, active: 0 });
    await agent.close();
  });

  it('two composed pools, identical requests: one created at once takes its own entry, not the one queued elsewhere', async () => {
    const a = new Pool(slow.url, { connections: 1 }).compose(otelUndiciInterceptor());
    const b = new Pool(slow.url, { connections: 1 }).compose(otelUndiciInterceptor());
    const get = (d: Dispatcher) => d.request({ path: '/same', method: 'GET' }).then((r) => r.body.text());
    await Promise.all([get(a), get(b)]); // both connections open and idle
    install();
    const first = get(a);
    const queued = get(a); // waits behind it
    await sleep(DELAY / 2);
    const other = get(b); // b has a free connection: created inside its own dispatch()
    await Promise.all([first, queued, other]);
    const [one, two, last] = (await telemetry.waitForSpans(3)).sort(
      (x, y) => millis(x.startTime) - millis(y.startTime),
    );
    // b's request (entered last) did not wait; one of a's waited for the other's response.
    expect(last?.attributes[WAIT]).toBeLessThan(0.05);
    expect(Math.max(one?.attributes[WAIT] as number, two?.attributes[WAIT] as number)).toBeGreaterThanOrEqual(
      (DELAY - 30) / 1000,
    );
    await a.close();
    await b.close();
  });

  it('requests aborted while queued stop waiting at once; no span, no wait time for them', async () => {
    const pool = new Pool(slow.url, { connections: 1 }).compose(otelUndiciInterceptor());
    install();
    const controller = new AbortController();
    const first = pool.request({ path: '/first', method: 'GET' }).then((r) => r.body.text());
    const queued = Array.from({ length: 3 }, (_, i) =>
      pool.request({ path: `/q${i}`, method: 'GET', signal: controller.signal }).then((r) => r.body.text()),
    );
    await until(async () => (await sample(slow.port)).pending === 3);
    controller.abort();
    const results = await Promise.allSettled(queued);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((await sample(slow.port)).pending).toBe(0);
    expect(await first).toBe('slow /first');
    const spans = await telemetry.waitForSpans(1);
    await sleep(50);
    expect(telemetry.spans()).toHaveLength(1);
    expect(
      sum(await telemetry.points('http.client.connection.wait_time'), { 'server.port': slow.port }),
    ).toBe(1);
    expect(spans[0]?.attributes['url.full']).toBe(`${slow.url}/first`);
    await pool.close();
  });

  it('a refused connection fails the queued requests too: none stays counted as waiting, each span has the error', async () => {
    const closed = await startServer(() => {});
    const url = closed.url;
    const port = closed.port;
    await closed.close();
    const pool = new Pool(url, { connections: 1 }).compose(otelUndiciInterceptor());
    install();
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, (_, i) => pool.request({ path: `/${i}`, method: 'GET' })),
    );
    expect(
      results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok')),
    ).toEqual(Array(4).fill('ECONNREFUSED'));
    expect(await sample(port)).toMatchObject({ pending: 0, active: 0 });
    const spans = await telemetry.waitForSpans(4);
    expect(spans.map((s) => s.attributes['error.type'])).toEqual(Array(4).fill('ECONNREFUSED'));
    await pool.close();
  });

  it('a destroyed Pool fails its queued requests: none stays counted as waiting, no span for them', async () => {
    const pool = new Pool(slow.url, { connections: 1 }).compose(otelUndiciInterceptor());
    install();
    const errors = Array.from(
      { length: 3 },
      (_, i) =>
        new Promise<string>((resolve) => {
          pool.dispatch(
            { origin: slow.url, path: `/d${i}`, method: 'GET' },
            {
              onRequestStart() {},
              onResponseStart() {},
              onResponseData() {},
              onResponseEnd: () => resolve('ended'),
              onResponseError: (_c: unknown, error: Error) =>
                resolve(String((error as { code?: string }).code)),
            },
          );
        }),
    );
    await until(async () => (await sample(slow.port)).pending === 2);
    await pool.destroy();
    expect(await Promise.all(errors)).toEqual(Array(3).fill('UND_ERR_DESTROYED'));
    expect(await sample(slow.port)).toMatchObject({ pending: 0, active: 0 });
    // Only the request that had been created (and written) got a span.
    const spans = await telemetry.waitForSpans(1);
    await sleep(50);
    expect(spans.map((s) => s.attributes['url.full'])).toEqual([`${slow.url}/d0`]);
  });

  it('tracing suppressed at entry: the request is left alone', async () => {
    const pool = new Pool(echo.url, { connections: 1 }).compose(otelUndiciInterceptor());
    install();
    const body = await context.with(suppressTracing(ROOT_CONTEXT), () =>
      pool.request({ path: '/quiet', method: 'GET' }).then((r) => r.body.text()),
    );
    expect(body).toBe('GET /quiet  ');
    await sleep(20);
    expect(telemetry.spans()).toHaveLength(0);
    await pool.close();
  });
});

interface Outcome {
  status?: number;
  headers?: Record<string, unknown>;
  body?: string;
  error?: { name: string; code?: unknown; message: string };
}

async function outcome(
  run: () => Promise<{ status: number; headers: unknown; body: string }>,
): Promise<Outcome> {
  try {
    const r = await run();
    const headers = { ...(r.headers as Record<string, unknown>) };
    delete headers.date;
    return { status: r.status, headers, body: r.body };
  } catch (error) {
    const e = error as { name: string; code?: unknown; message: string };
    return { error: { name: e.name, code: e.code, message: e.message } };
  }
}

type Case = (d: Dispatcher, origin: string) => Promise<{ status: number; headers: unknown; body: string }>;

const request =
  (options: Partial<Dispatcher.RequestOptions>): Case =>
  async (d) => {
    const r = await d.request({ path: '/', method: 'GET', ...options } as Dispatcher.RequestOptions);
    return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
  };

const CASES: [string, Case][] = [
  ['GET with headers', request({ path: '/a?x=1', headers: { 'x-in': 'yes' } })],
  ['POST with a body', request({ path: '/post', method: 'POST', body: 'payload' })],
  ['query option', request({ path: '/q', query: { a: 'b c' } })],
  ['404', request({ path: '/missing' })],
  ['connection dies mid-response', request({ path: '/hang-up' })],
  ['invalid method (sync error)', request({ method: 'BAD METHOD' })],
  ['invalid path (sync error)', request({ path: 'no-slash' })],
  [
    'aborted in flight',
    async (d) => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('gave up')), 30);
      return request({ path: '/slow', signal: controller.signal })(d, '');
    },
  ],
  ['headersTimeout', request({ path: '/slow', headersTimeout: 30 } as Partial<Dispatcher.RequestOptions>)],
  [
    'fetch',
    async (d, origin) => {
      const r = await undiciFetch(`${origin}/fetched`, { dispatcher: d, headers: { 'x-in': 'f' } });
      return { status: r.status, headers: Object.fromEntries(r.headers), body: await r.text() };
    },
  ],
  [
    'stream()',
    async (d) => {
      let body = '';
      const { Writable } = await import('node:stream');
      const r = await d.stream({ path: '/streamed', method: 'GET' }, ({ statusCode }) => {
        return new Writable({
          write(chunk, _e, cb) {
            body += `${statusCode}:${chunk}`;
            cb();
          },
        });
      });
      return { status: 0, headers: { opaque: r.opaque ?? null }, body };
    },
  ],
];

describe('otelUndiciInterceptor() is transparent', () => {
  it.each(CASES)('%s: same outcome bare and composed, instrumented or not', async (_name, run) => {
    const results: Outcome[] = [];
    for (const installed of [false, true]) {
      if (installed) install();
      for (const composed of [false, true]) {
        const bare = new Pool(echo.url, { connections: 1 });
        const d = composed ? bare.compose(otelUndiciInterceptor()) : bare;
        results.push(await outcome(() => run(d, echo.url)));
        await bare.close().catch(() => {});
      }
    }
    const [first, ...rest] = results;
    for (const r of rest) expect(r).toEqual(first);
  });

  it('queued behind a busy connection: same outcomes (and aborts) bare and composed', async () => {
    const run = async (d: Dispatcher): Promise<Outcome[]> => {
      const controller = new AbortController();
      const busy = request({ path: '/slow' })(d, '');
      const aborted = request({ path: '/x', signal: controller.signal })(d, '');
      const posted = request({ path: '/p', method: 'POST', body: 'b' })(d, '');
      const missing = request({ path: '/missing' })(d, '');
      setTimeout(() => controller.abort(), 20);
      return Promise.all([busy, aborted, posted, missing].map((p) => outcome(() => p)));
    };
    install();
    const bare = new Pool(echo.url, { connections: 1 });
    const composed = new Pool(echo.url, { connections: 1 });
    const a = await run(bare);
    const b = await run(composed.compose(otelUndiciInterceptor()));
    expect(b).toEqual(a);
    expect(a[1]?.error?.name).toBe('AbortError');
    await bare.close();
    await composed.close();
    expect(await sample(echo.port)).toMatchObject({ pending: 0 });
  });

  it('retries (the retry interceptor around it and inside it): same result, every attempt a span', async () => {
    install();
    const retry = interceptors.retry({ maxRetries: 2, minTimeout: 1, statusCodes: [503] });
    const outcomes: Outcome[] = [];
    for (const chain of [[retry], [otelUndiciInterceptor(), retry], [retry, otelUndiciInterceptor()]]) {
      flaky = 0;
      const bare = new Pool(echo.url, { connections: 1 });
      outcomes.push(await outcome(() => request({ path: '/flaky' })(bare.compose(chain), '')));
      await bare.close();
    }
    expect(outcomes[0]).toMatchObject({ status: 200 });
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(outcomes[2]).toEqual(outcomes[0]);
    const spans = await telemetry.waitForSpans(6);
    expect(spans.map((s) => s.attributes['http.response.status_code'])).toEqual([
      503, 200, 503, 200, 503, 200,
    ]);
    expect(await sample(echo.port)).toMatchObject({ pending: 0 });
  });

  it('a handler that throws: the same error reaches the caller, the entry is not left waiting', async () => {
    install();
    const results: unknown[] = [];
    for (const composed of [false, true]) {
      const bare = new Pool(echo.url, { connections: 1 });
      const d = composed ? bare.compose(otelUndiciInterceptor()) : bare;
      results.push(
        await new Promise((resolve) => {
          d.dispatch(
            { origin: echo.url, path: '/h', method: 'GET' },
            {
              onRequestStart() {},
              onResponseStart() {
                throw new Error('handler bug');
              },
              onResponseData() {},
              onResponseEnd() {
                resolve('ended');
              },
              onResponseError(_c: unknown, error: Error) {
                resolve(error.message);
              },
            },
          );
        }),
      );
      await bare.close().catch(() => {});
    }
    expect(results).toEqual(['handler bug', 'handler bug']);
    expect(await sample(echo.port)).toMatchObject({ pending: 0 });
  });

  it('a no-op without the client instrumentation: the dispatcher gets the same options and handler', () => {
    const seen: unknown[] = [];
    const inner: UndiciDispatch = (options, handler) => {
      seen.push(options, handler);
      return true;
    };
    const dispatch = otelUndiciInterceptor()(inner);
    expect(dispatch.length).toBe(2);
    const options = { origin: echo.url, path: '/', method: 'GET' };
    const handler = { onRequestStart() {}, onResponseError() {} };
    expect(dispatch(options, handler)).toBe(true);
    expect(seen[0]).toBe(options);
    expect(seen[1]).toBe(handler);
    // Installed: the same options; the handler is wrapped with exactly the methods it has.
    install();
    const legacy = { onConnect() {}, onHeaders() {}, onData() {}, onComplete() {}, onError() {} };
    dispatch(options, legacy);
    expect(seen[2]).toBe(options);
    const wrapped = seen[3] as Record<string, unknown>;
    expect(wrapped).not.toBe(legacy);
    for (const name of ['onConnect', 'onHeaders', 'onData', 'onComplete', 'onError'])
      expect(typeof wrapped[name]).toBe('function');
    for (const name of ['onRequestStart', 'onResponseStart', 'onResponseError', 'onUpgrade'])
      expect(wrapped[name]).toBeUndefined();
    (wrapped.onError as (e: Error) => void)(new Error('x')); // gives its entry up
  });

  it('a dispatch that throws rethrows the same error and the entry is given up', async () => {
    install();
    const boom = new Error('dispatcher broke');
    const dispatch = otelUndiciInterceptor()(() => {
      throw boom;
    });
    expect(() =>
      dispatch({ origin: echo.url, path: '/', method: 'GET' }, { onRequestStart() {}, onResponseError() {} }),
    ).toThrow(boom);
    expect(await sample(echo.port)).toMatchObject({ pending: 0 });
  });

  it('hostile load: at most 10,000 requests tracked at once, all given up when they fail', async () => {
    install();
    const handlers: { onResponseError(c: unknown, e: Error): void }[] = [];
    // A dispatcher that keeps every request (a pool that never drains) on port 9.
    const dispatch = otelUndiciInterceptor()((_options, handler) => {
      handlers.push(handler);
      return false;
    });
    const origin = 'http://127.0.0.1:9';
    for (let i = 0; i < 10_050; i++)
      dispatch({ origin, path: `/${i}`, method: 'GET' }, { onRequestStart() {}, onResponseError() {} });
    expect(await sample(9)).toMatchObject({ pending: 10_000 });
    for (const h of handlers) h.onResponseError(null, new Error('gone'));
    expect(await sample(9)).toMatchObject({ pending: 0 });
  });

  it('a meter provider that throws never breaks a request through the interceptor', async () => {
    const throwing = (): never => {
      throw new Error('metrics are broken');
    };
    stop = instrumentHttpClient({
      tracerProvider: telemetry.tracerProvider,
      meterProvider: { getMeter: throwing } as MeterProvider,
    });
    const pool = new Pool(echo.url, { connections: 1 }).compose(otelUndiciInterceptor());
    const bodies = await Promise.all(
      [1, 2, 3].map((i) => pool.request({ path: `/${i}`, method: 'GET' }).then((r) => r.body.text())),
    );
    expect(bodies).toEqual(['GET /1  ', 'GET /2  ', 'GET /3  ']);
    expect(await telemetry.waitForSpans(3)).toHaveLength(3);
    await pool.close();
  });
});
