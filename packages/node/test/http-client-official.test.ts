// Outgoing HTTP beside another client instrumentation: never two CLIENT spans for one request and
// never a span no downstream names as its parent. What instrumentation-http does (run the request
// inside its CLIENT span) and what instrumentation-undici does (add traceparent on
// undici:request:create before tracewire) are reproduced with a real SDK CLIENT span and a real
// header; tests/interop runs the official instrumentations themselves.
import http from 'node:http';
import { context, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import {
  getInstrumentationRuntimeFindings,
  injectContext,
  resetInstrumentationRuntimeFindings,
} from '@tracewire/core';
import { createTelemetry, startServer, type TestServer } from '@tracewire/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { instrumentHttpClient } from '../src/http-client.js';

const telemetry = createTelemetry();
let server: TestServer;
const seen: string[][] = [];
let stop: (() => void) | undefined;

beforeAll(async () => {
  server = await startServer((req, res) => {
    seen.push(req.headersDistinct.traceparent ?? []);
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
  resetInstrumentationRuntimeFindings();
});

function httpGet(url: string, headers: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      })
      .on('error', reject);
  });
}

const install = () => {
  stop = instrumentHttpClient({
    tracerProvider: telemetry.tracerProvider,
    meterProvider: telemetry.meterProvider,
  });
};

describe('outgoing HTTP beside another client instrumentation', () => {
  it('node:http inside another CLIENT span: no second span, no duration, the downstream names that span', async () => {
    install();
    const other = telemetry.tracerProvider.getTracer('@opentelemetry/instrumentation-http');
    const span = other.startSpan('GET', { kind: SpanKind.CLIENT });
    await context.with(trace.setSpan(ROOT_CONTEXT, span), () => httpGet(`${server.url}/a`));
    span.end();
    const spans = await telemetry.waitForSpans(1);
    expect(spans.map((s) => s.instrumentationScope.name)).toEqual(['@opentelemetry/instrumentation-http']);
    expect(seen).toEqual([[`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`]]);
    expect(await telemetry.points('http.client.request.duration')).toEqual([]);
    expect(getInstrumentationRuntimeFindings().sharedClientSpans).toBe(1);
  });

  it.each(['fetch', 'http.get'])(
    '%s already carrying a traceparent (instrumentation-undici ran first): no tracewire span, the header is kept',
    async (client) => {
      install();
      const parent = telemetry.tracerProvider.getTracer('app').startSpan('job');
      const propagated = telemetry.tracerProvider
        .getTracer('@opentelemetry/instrumentation-undici')
        .startSpan(
          'GET',
          {
            kind: SpanKind.CLIENT,
          },
          trace.setSpan(ROOT_CONTEXT, parent),
        );
      const headers: Record<string, string> = {};
      injectContext(headers, { context: trace.setSpan(ROOT_CONTEXT, propagated) });
      await context.with(trace.setSpan(ROOT_CONTEXT, parent), async () => {
        if (client === 'fetch') await (await fetch(`${server.url}/b`, { headers })).text();
        else await httpGet(`${server.url}/b`, headers);
      });
      propagated.end();
      parent.end();
      const spans = await telemetry.waitForSpans(2);
      expect(spans.filter((s) => s.instrumentationScope.name === '@tracewire/node')).toEqual([]);
      expect(seen).toEqual([[headers.traceparent]]);
    },
  );

  it('an app span of another kind stays the parent of tracewire own CLIENT span (the usual case)', async () => {
    install();
    const parent = telemetry.tracerProvider.getTracer('app').startSpan('job');
    await context.with(trace.setSpan(ROOT_CONTEXT, parent), () => httpGet(`${server.url}/c`));
    parent.end();
    const spans = await telemetry.waitForSpans(2);
    const ours = spans.find((s) => s.instrumentationScope.name === '@tracewire/node');
    expect(ours?.kind).toBe(SpanKind.CLIENT);
    expect(ours?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(seen).toEqual([[`00-${ours?.spanContext().traceId}-${ours?.spanContext().spanId}-01`]]);
    expect(getInstrumentationRuntimeFindings().sharedClientSpans).toBe(0);
  });
});
