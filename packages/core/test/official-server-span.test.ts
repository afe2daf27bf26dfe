// Beside @opentelemetry/instrumentation-http: when its SERVER span and RPC metadata are in the active
// context (set here exactly as that instrumentation sets them, with @opentelemetry/core's
// setRPCMetadata around the 'request' listener and a 'close' listener that reads the route back and
// ends its span), core's lifecycle makes no second span or duration. The child-process tests in
// tests/interop run the real instrumentation.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, metrics, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { getRPCMetadata, RPCType, setRPCMetadata } from '@opentelemetry/core';
import { createTelemetry, rawRequest, startServer, type TestServer } from '@tracewire/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  getInstrumentationRuntimeFindings,
  getServerRequest,
  type HttpInstrumentationOptions,
  HttpServerInstrumentation,
  resetInstrumentationRuntimeFindings,
} from '../src/index.js';

const telemetry = createTelemetry();
let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  telemetry.reset();
  resetInstrumentationRuntimeFindings();
  trace.disable();
  metrics.disable();
});
afterAll(() => telemetry.shutdown());

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A node:http server with an "official" SERVER span + RPC metadata around the listener, and core's
 * lifecycle inside it, as an adapter runs it. `official` records what the official side recorded.
 */
async function serve(
  options: HttpInstrumentationOptions,
  route: string | undefined,
  handler: Handler,
): Promise<{ url: string; official: { routes: (string | undefined)[]; durations: number } }> {
  const official = { routes: [] as (string | undefined)[], durations: 0 };
  const instrumentation = new HttpServerInstrumentation(options, {
    name: '@tracewire/test',
    version: '1.0.0',
  });
  const tracer = telemetry.tracerProvider.getTracer('@opentelemetry/instrumentation-http');
  server = await startServer((req, res) => {
    const span = tracer.startSpan(req.method ?? 'GET', { kind: SpanKind.SERVER });
    const ctx = setRPCMetadata(trace.setSpan(context.active(), span), { type: RPCType.HTTP, span });
    context.with(ctx, () => {
      res.on('close', () => {
        const meta = getRPCMetadata(context.active());
        official.routes.push(meta?.route);
        if (meta?.route !== undefined) {
          span.setAttribute('http.route', meta.route);
          span.updateName(`${req.method} ${meta.route}`);
        }
        span.end();
        official.durations++;
      });
      const request = instrumentation.start(req, res);
      if (request === undefined) return handler(req, res);
      request.setRoute(route);
      context.with(request.context, handler, undefined, req, res);
    });
  });
  return { url: server.url, official };
}

const sdk = (): HttpInstrumentationOptions => ({
  tracerProvider: telemetry.tracerProvider,
  meterProvider: telemetry.meterProvider,
});

describe("beside instrumentation-http's SERVER span", () => {
  it('reuses it: one SERVER span named with the route, no tracewire duration, traceresponse names it', async () => {
    let active: string | undefined;
    const { url, official } = await serve(sdk(), '/users/:id', (_req, res) => {
      active = trace.getActiveSpan()?.spanContext().spanId;
      res.end('ok');
    });
    const res = await rawRequest(`${url}/users/7`, {
      headers: [['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']],
    });
    expect(res.status).toBe(200);
    const spans = await telemetry.waitForSpans(1);
    expect(spans).toHaveLength(1);
    const [span] = spans;
    expect(span?.instrumentationScope.name).toBe('@opentelemetry/instrumentation-http');
    expect(span?.name).toBe('GET /users/:id');
    expect(span?.attributes['http.route']).toBe('/users/:id');
    expect(official.routes).toEqual(['/users/:id']);
    expect(active).toBe(span?.spanContext().spanId);
    expect(res.headers.traceresponse).toBe(
      `00-${span?.spanContext().traceId}-${span?.spanContext().spanId}-01`,
    );
    // No tracewire duration series; the active-requests gauge (which the official one lacks) is back at 0.
    expect(await telemetry.points('http.server.request.duration')).toEqual([]);
    const active_ = await telemetry.points('http.server.active_requests');
    expect(active_.map((p) => p.value)).toEqual([0]);
    expect(getInstrumentationRuntimeFindings().sharedServerSpans).toBe(1);
    expect(getInstrumentationRuntimeFindings().nestedServerSpans).toBe(0);
  });

  it('puts its own route over a framework instrumentation route, and removes it for an unmatched request', async () => {
    const { url, official } = await serve(sdk(), undefined, (req, res) => {
      // What instrumentation-express does for each layer it passes.
      const meta = getRPCMetadata(context.active());
      if (meta?.type === RPCType.HTTP) meta.route = '/';
      const handle = getServerRequest(req);
      if (req.url === '/api/users/1') handle?.setRoute('/api/users/:id');
      res.statusCode = req.url === '/api/users/1' ? 200 : 404;
      res.end();
    });
    await rawRequest(`${url}/api/users/1`);
    await rawRequest(`${url}/nope`);
    await telemetry.waitForSpans(2);
    expect(official.routes).toEqual(['/api/users/:id', undefined]);
  });

  it('keeps the error model on the official span: exceptions, error.type of an aborted response, hooks', async () => {
    const hooks: string[] = [];
    const { url } = await serve(
      {
        ...sdk(),
        requestHook: (span) => {
          hooks.push('request');
          span.setAttribute('app.tenant', 'acme');
        },
        responseHook: () => hooks.push('response'),
      },
      '/boom',
      (req, res) => {
        getServerRequest(req)?.recordException(new Error('db down'));
        res.statusCode = 500;
        res.end();
      },
    );
    await rawRequest(`${url}/boom`);
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.events.map((e) => e.name)).toEqual(['exception']);
    expect(span?.attributes['app.tenant']).toBe('acme');
    expect(hooks).toEqual(['request', 'response']);
    expect(span?.status.code).not.toBe(SpanStatusCode.OK);
  });

  it("officialServerSpan: 'own' makes tracewire's span as before (a child of the official one) and notes it", async () => {
    const { url } = await serve({ ...sdk(), officialServerSpan: 'own' }, '/users/:id', (_req, res) =>
      res.end(),
    );
    await rawRequest(`${url}/users/1`);
    const spans = await telemetry.waitForSpans(2);
    const servers = spans.filter((s) => s.kind === SpanKind.SERVER);
    expect(servers).toHaveLength(2);
    const ours = servers.find((s) => s.instrumentationScope.name === '@tracewire/test');
    const theirs = servers.find((s) => s.instrumentationScope.name !== '@tracewire/test');
    expect(ours?.parentSpanContext?.spanId).toBe(theirs?.spanContext().spanId);
    expect(await telemetry.points('http.server.request.duration')).toHaveLength(1);
    expect(getInstrumentationRuntimeFindings().nestedServerSpans).toBe(1);
    expect(getInstrumentationRuntimeFindings().examples).toEqual([
      { kind: 'server', instrumentation: '@tracewire/test', target: '/users/1' },
    ]);
  });

  it('rejects an invalid officialServerSpan', () => {
    expect(
      () =>
        new HttpServerInstrumentation({ officialServerSpan: 'both' as never }, { name: 'x', version: '1' }),
    ).toThrow(/officialServerSpan must be 'reuse' or 'own', got "both"/);
  });
});
