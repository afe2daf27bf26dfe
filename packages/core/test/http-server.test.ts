import type { IncomingMessage, ServerResponse } from 'node:http';
import http from 'node:http';
import { context, metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import { createTelemetry, rawRequest, startServer, type TestServer } from '@tracewire/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  getServerRequest,
  type HttpInstrumentationOptions,
  HttpServerInstrumentation,
} from '../src/index.js';

const telemetry = createTelemetry();
let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  telemetry.reset();
  trace.disable();
  metrics.disable();
});

afterAll(async () => {
  await telemetry.shutdown();
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A bare node:http server with the core lifecycle, as an adapter would wire it. */
async function serve(
  options: HttpInstrumentationOptions | undefined,
  handler: Handler,
  route?: string,
): Promise<string> {
  const instrumentation = new HttpServerInstrumentation(options, { name: 'test-adapter', version: '1.0.0' });
  server = await startServer((req, res) => {
    const request = instrumentation.start(req, res);
    if (request === undefined) return handler(req, res);
    request.setRoute(route);
    context.with(request.context, handler, undefined, req, res);
  });
  return server.url;
}

const withSdk = (): HttpInstrumentationOptions => ({
  tracerProvider: telemetry.tracerProvider,
  meterProvider: telemetry.meterProvider,
});

describe('HttpServerInstrumentation', () => {
  it('works with no SDK registered: no spans, no traceresponse, the request is served', async () => {
    let active: boolean | undefined;
    let traceId: string | undefined;
    const url = await serve(undefined, (_req, res) => {
      active = trace.getActiveSpan()?.isRecording();
      traceId = trace.getActiveSpan()?.spanContext().traceId;
      res.end('ok');
    });
    const res = await rawRequest(url, {
      headers: [['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']],
    });
    expect(res.status).toBe(200);
    expect(res.headers.traceresponse).toBeUndefined();
    expect(active).toBe(false);
    // Without an SDK the caller's trace still flows through (to outbound calls and logs).
    expect(traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('uses an SDK registered globally after the middleware was created', async () => {
    const url = await serve(undefined, (_req, res) => res.end('ok'), '/late');
    await rawRequest(url);
    expect(telemetry.spans()).toHaveLength(0);
    trace.setGlobalTracerProvider(telemetry.tracerProvider);
    metrics.setGlobalMeterProvider(telemetry.meterProvider);
    const res = await rawRequest(url);
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.name).toBe('GET /late');
    // The span attributes skipped while no SDK was registered are back, given at start.
    expect(span?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/',
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'network.peer.address': '127.0.0.1',
    });
    expect(res.headers.traceresponse).toBe(
      `00-${span?.spanContext().traceId}-${span?.spanContext().spanId}-01`,
    );
    const points = await telemetry.points('http.server.request.duration');
    expect(points.reduce((n, p) => n + p.value, 0)).toBe(1);
  });

  it('records the status actually sent, and 5xx as ERROR with error.type', async () => {
    const url = await serve(withSdk(), (req, res) => {
      res.statusCode = req.url === '/fail' ? 503 : 201;
      res.end();
    });
    await rawRequest(`${url}/fail`);
    await rawRequest(`${url}/ok`);
    const spans = await telemetry.waitForSpans(2);
    expect(spans[0]?.attributes['http.response.status_code']).toBe(503);
    expect(spans[0]?.attributes['error.type']).toBe('503');
    expect(spans[0]?.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans[1]?.attributes['http.response.status_code']).toBe(201);
    expect(spans[1]?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('records the status on the wire when code changes statusCode after the head was sent', async () => {
    const url = await serve(withSdk(), (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      // What Fastify's error handler does to a reply whose head already went out.
      res.statusCode = 500;
      res.end();
    });
    const res = await rawRequest(url);
    expect(res.status).toBe(200);
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.attributes['http.response.status_code']).toBe(200);
    expect(span?.attributes['error.type']).toBeUndefined();
    const points = await telemetry.points('http.server.request.duration');
    expect(points.map((p) => p.attributes['http.response.status_code'])).toEqual([200]);
  });

  it('records an exception once per error object and exposes the request to user code', async () => {
    const url = await serve(withSdk(), (req, res) => {
      const sr = getServerRequest(req);
      // A `code` must not become exception.type (the SDK would use it).
      const err = Object.assign(new Error('x'), { code: 5 });
      sr?.recordException(err);
      sr?.recordException(err);
      sr?.recordException('not an error');
      res.end(String(sr?.span === trace.getActiveSpan()));
    });
    const res = await rawRequest(url);
    expect(res.body).toBe('true');
    const [span] = await telemetry.waitForSpans(1);
    const events = span?.events.filter((e) => e.name === 'exception') ?? [];
    expect(events).toHaveLength(2);
    expect(events[0]?.attributes?.['exception.type']).toBe('Error');
    expect(events[1]?.attributes?.['exception.type']).toBe('non-error thrown');
  });

  it('balances the active-requests gauge over many requests, aborted or not', async () => {
    const count = async (): Promise<number> =>
      (await telemetry.points('http.server.request.duration')).reduce((n, p) => n + p.value, 0);
    const before = await count();
    const received: (() => void)[] = [];
    const url = await serve(withSdk(), (req, res) => {
      if (req.url === '/abort') {
        received.shift()?.();
        setTimeout(() => res.end('late'), 30);
        return;
      }
      res.end('ok');
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const aborted: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      aborted.push(
        new Promise((resolve) => {
          const r = http.get(`${url}/abort`, { agent: false });
          r.on('error', () => undefined);
          r.on('close', () => resolve());
          // Abort once the server has the request, so every aborted request has a span.
          received.push(() => r.destroy());
        }),
      );
    }
    const ok = Array.from(
      { length: 500 },
      () =>
        new Promise<void>((resolve, reject) => {
          http
            .get(url, { agent }, (res) => {
              res.resume();
              res.on('end', resolve);
            })
            .on('error', reject);
        }),
    );
    await Promise.all([...aborted, ...ok]);
    await new Promise((r) => setTimeout(r, 80));
    agent.destroy();
    const spans = telemetry.spans();
    expect(spans).toHaveLength(520);
    expect(spans.filter((s) => s.attributes['error.type'] === 'aborted')).toHaveLength(20);
    const active = await telemetry.points('http.server.active_requests');
    expect(active.reduce((n, p) => n + p.value, 0)).toBe(0);
    expect((await count()) - before).toBe(520);
  });

  it('serves the request and ends the span when the meter provider throws', async () => {
    const boom = (): never => {
      throw new Error('broken SDK');
    };
    // Fault injection: a meter provider whose instruments throw on every call.
    const brokenMeterProvider = {
      getMeter: () => ({
        createHistogram: () => ({ record: boom }),
        createUpDownCounter: () => ({ add: boom }),
      }),
    } as unknown as HttpInstrumentationOptions['meterProvider'];
    const url = await serve(
      { tracerProvider: telemetry.tracerProvider, meterProvider: brokenMeterProvider },
      (_req, res) => res.end('ok'),
      '/broken',
    );
    const res = await rawRequest(url);
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok');
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.ended).toBe(true);
  });

  it('exposes the resolved route to close listeners added after the middleware', async () => {
    const instrumentation = new HttpServerInstrumentation(withSdk(), {
      name: 'test-adapter',
      version: '1.0.0',
      resolveRoute: () => '/resolved/:id',
    });
    let seen: string | undefined;
    server = await startServer((req, res) => {
      const request = instrumentation.start(req, res);
      expect(request?.route).toBeUndefined();
      res.on('close', () => {
        seen = getServerRequest(req)?.route;
      });
      res.end('ok');
    });
    await rawRequest(server.url);
    await telemetry.waitForSpans(1);
    expect(seen).toBe('/resolved/:id');
  });

  it('captures response headers given straight to writeHead(status, headers)', async () => {
    const url = await serve(
      { ...withSdk(), captureResponseHeaders: ['X-Cache', 'set-cookie', 'x-absent'] },
      (_req, res) => {
        res.writeHead(200, { 'X-Cache': 'HIT', 'Set-Cookie': ['a=1', 'b=2'], 'x-other': 'nope' });
        res.end('ok');
      },
    );
    await rawRequest(url);
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.attributes['http.response.header.x-cache']).toEqual(['HIT']);
    expect(span?.attributes['http.response.header.set-cookie']).toEqual(['a=1', 'b=2']);
    expect(span?.attributes['http.response.header.x-absent']).toBeUndefined();
    expect(span?.attributes['http.response.header.x-other']).toBeUndefined();
  });

  it("puts traceresponse into the framework's headers when start() is given them, not on the response", async () => {
    const instrumentation = new HttpServerInstrumentation(withSdk(), {
      name: 'test-adapter',
      version: '1.0.0',
    });
    let onResponse: string[] | undefined;
    server = await startServer((req, res) => {
      // What a framework that sends its own headers with writeHead(status, headers) keeps (Fastify).
      const headers: Record<string, string> = {};
      instrumentation.start(req, res, {
        header(name: string, value: string) {
          headers[name] = value;
        },
      });
      onResponse = res.getHeaderNames();
      res.writeHead(200, { ...headers, 'content-type': 'text/plain' });
      res.end('ok');
    });
    const res = await rawRequest(server.url);
    const [span] = await telemetry.waitForSpans(1);
    expect(onResponse).toEqual([]);
    expect(res.headers.traceresponse).toBe(
      `00-${span?.spanContext().traceId}-${span?.spanContext().spanId}-01`,
    );
  });
});
