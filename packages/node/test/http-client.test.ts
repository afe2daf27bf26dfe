// Outgoing fetch and http.request through diagnostics_channel, with the real SDK (in-memory spans).

import http from 'node:http';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { createTelemetry, startServer, type TestServer } from '@tracewire/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { instrumentHttpClient, trustPredicate } from '../src/index.js';

const telemetry = createTelemetry();
let server: TestServer;
const seen: http.IncomingHttpHeaders[] = [];
let stop: () => void;

beforeAll(async () => {
  server = await startServer((req, res) => {
    seen.push(req.headers);
    res.statusCode = req.url === '/missing' ? 404 : 200;
    res.end('x');
  });
});
afterAll(async () => {
  await server.close();
  await telemetry.shutdown();
});
afterEach(() => {
  stop?.();
  seen.length = 0;
  telemetry.reset();
});

function install(trustedDestinations: string[] = []): void {
  stop = instrumentHttpClient({
    tracerProvider: telemetry.tracerProvider,
    meterProvider: telemetry.meterProvider,
    trustedDestinations,
  });
}

function httpGet(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

const withBaggage = () =>
  propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ tenant: { value: 'acme' } }));

describe('outgoing HTTP', () => {
  it.each(['fetch', 'http.get'])('%s: CLIENT span, traceparent, duration metric', async (client) => {
    install();
    const parent = telemetry.tracerProvider.getTracer('t').startSpan('parent');
    await context.with(trace.setSpan(ROOT_CONTEXT, parent), async () => {
      if (client === 'fetch') await (await fetch(`${server.url}/a?sig=secret&x=1`)).text();
      else await httpGet(`${server.url}/a?sig=secret&x=1`);
    });
    parent.end();
    const spans = await telemetry.waitForSpans(2);
    const span = spans.find((s) => s.kind === SpanKind.CLIENT);
    expect(span?.name).toBe('GET');
    expect(span?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(span?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'url.full': `${server.url}/a?sig=REDACTED&x=1`,
    });
    expect(seen[0]?.traceparent).toBe(`00-${span?.spanContext().traceId}-${span?.spanContext().spanId}-01`);
    const points = await telemetry.points('http.client.request.duration');
    expect(points).toHaveLength(1);
    expect(points[0]).toMatchObject({
      value: 1,
      attributes: { 'http.response.status_code': 200, 'server.port': server.port },
    });
    expect(points[0]?.attributes['url.full']).toBeUndefined();
    const open = await telemetry.points('http.client.open_connections');
    expect(open[0]?.attributes).toMatchObject({ 'server.address': '127.0.0.1', 'server.port': server.port });
  });

  it('marks 4xx and connection errors as errors, once', async () => {
    install();
    await (await fetch(`${server.url}/missing`)).text();
    await httpGet(`${server.url}/missing`);
    // A port nobody listens on (fetch refuses port 1 outright, before any request exists).
    const closed = await startServer(() => {});
    await closed.close();
    await fetch(closed.url).catch(() => {});
    await httpGet(closed.url).catch(() => {});
    const spans = await telemetry.waitForSpans(4);
    expect(spans).toHaveLength(4);
    for (const s of spans) expect(s.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans.map((s) => s.attributes['error.type']).sort()).toEqual([
      '404',
      '404',
      'ECONNREFUSED',
      'ECONNREFUSED',
    ]);
    const points = await telemetry.points('http.client.request.duration');
    expect(points.reduce((n, p) => n + p.value, 0)).toBe(4);
  });

  it('sends baggage only to trusted destinations (T12)', async () => {
    install(['localhost']);
    await context.with(withBaggage(), async () => {
      await (await fetch(`${server.url}/untrusted`)).text(); // 127.0.0.1 is not on the list
      await httpGet(`${server.url}/untrusted`);
      await (await fetch(`http://localhost:${server.port}/trusted`)).text();
      await httpGet(`http://localhost:${server.port}/trusted`);
    });
    expect(seen.map((h) => [h.host?.split(':')[0], h.baggage, typeof h.traceparent])).toEqual([
      ['127.0.0.1', undefined, 'string'],
      ['127.0.0.1', undefined, 'string'],
      ['localhost', 'tenant=acme', 'string'],
      ['localhost', 'tenant=acme', 'string'],
    ]);
  });

  it('never sends a second traceparent when the app injected one, and leaves suppressed requests alone', async () => {
    install();
    const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await (await fetch(server.url, { headers: { traceparent: own } })).text();
    await httpGet(server.url, { traceparent: own });
    expect(seen.map((h) => h.traceparent)).toEqual([own, own]);
    seen.length = 0;
    telemetry.reset();
    await context.with(suppressTracing(ROOT_CONTEXT), async () => {
      await (await fetch(server.url)).text();
      await httpGet(server.url);
    });
    expect(seen.map((h) => h.traceparent)).toEqual([undefined, undefined]);
    expect(telemetry.spans()).toHaveLength(2 - 2); // only the earlier two spans were reset away
  });

  it('is installed once, and unsubscribes', async () => {
    install();
    const second = instrumentHttpClient({ tracerProvider: telemetry.tracerProvider });
    second();
    await (await fetch(server.url)).text();
    stop();
    await (await fetch(server.url)).text();
    await new Promise((r) => setTimeout(r, 20));
    expect(telemetry.spans()).toHaveLength(1);
    expect(seen[1]?.traceparent).toBeUndefined();
  });

  it('matches trusted destinations by host, wildcard, origin, RegExp and predicate; a throwing predicate trusts nothing', () => {
    const dest = (hostname: string, port = 443, protocol = 'https:') => ({ hostname, port, protocol });
    const p = trustPredicate([
      'api.example',
      '*.internal',
      'http://cache:8080',
      /^https:\/\/[a-z]+\.corp:443$/,
    ]);
    expect(p(dest('API.example'))).toBe(true);
    expect(p(dest('orders.internal'))).toBe(true);
    expect(p(dest('internal'))).toBe(false);
    expect(p(dest('cache', 8080, 'http:'))).toBe(true);
    expect(p(dest('cache', 8081, 'http:'))).toBe(false);
    expect(p(dest('billing.corp'))).toBe(true);
    expect(p(dest('evil.example'))).toBe(false);
    expect(
      trustPredicate(() => {
        throw new Error('boom');
      })(dest('x')),
    ).toBe(false);
    expect(() => trustPredicate(['http://[bad'])).toThrow(TypeError);
  });
});
