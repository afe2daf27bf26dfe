import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  context,
  createTraceState,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { injectContext } from '@tracewire/core';
import { otelExpress } from '@tracewire/express';
import { createTelemetry, startServer, type TestServer } from '@tracewire/testing';
import express from 'express';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

// Interop with the official OpenTelemetry Node instrumentation (instrumentation-http on the 3.x
// SDK). The official side runs in a child process, so its module patching never touches the test
// runner; tracewire runs here, as an application would use it.

const telemetry = createTelemetry();
const fixtures = new URL('./fixtures/', import.meta.url).pathname;
let server: TestServer | undefined;
const children: ChildProcess[] = [];

afterEach(async () => {
  await server?.close();
  server = undefined;
  telemetry.reset();
  for (const c of children.splice(0)) c.kill();
});
afterAll(() => telemetry.shutdown());

interface OfficialSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
}

function lines(child: ChildProcess): AsyncIterableIterator<string> {
  if (child.stdout === null) throw new Error('no stdout');
  return createInterface({ input: child.stdout })[Symbol.asyncIterator]();
}

function runNode(script: string, args: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [fixtures + script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}

describe('interop with the official OpenTelemetry instrumentation', () => {
  it('official http client -> tracewire Express server: one trace, right parent, baggage and tracestate', async () => {
    let baggage: Record<string, string> = {};
    const app = express();
    app.use(
      otelExpress({ tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider }),
    );
    app.get('/orders/:id', (_req, res) => {
      const b = propagation.getBaggage(context.active());
      baggage = Object.fromEntries((b?.getAllEntries() ?? []).map(([k, v]) => [k, v.value]));
      res.send('tracewire ok');
    });
    server = await startServer(app);

    const child = runNode('official-client.cjs', [`${server.url}/orders/7`]);
    const { value } = await lines(child).next();
    const out = JSON.parse(value as string) as {
      body: string;
      traceresponse?: string;
      spans: OfficialSpan[];
    };
    expect(out.body).toBe('tracewire ok');

    const clientSpan = out.spans.find((s) => s.kind === SpanKind.CLIENT);
    expect(clientSpan).toBeDefined();
    const [serverSpan] = await telemetry.waitForSpans(1);
    expect(serverSpan?.spanContext().traceId).toBe('c0ffee00c0ffee00c0ffee00c0ffee00');
    expect(serverSpan?.spanContext().traceId).toBe(clientSpan?.traceId);
    expect(serverSpan?.parentSpanContext?.spanId).toBe(clientSpan?.spanId);
    expect(serverSpan?.spanContext().traceState?.serialize()).toBe('vendor=abc,other=1');
    expect(baggage).toEqual({ tenant: 'acme corp' });
    // The official client sees tracewire's traceresponse naming the server span.
    expect(out.traceresponse).toBe(
      `00-${serverSpan?.spanContext().traceId}-${serverSpan?.spanContext().spanId}-01`,
    );
  });

  it('tracewire handler -> official http server: one trace, right parent, baggage and tracestate', async () => {
    const official = runNode('official-server.cjs');
    const officialLines = lines(official);
    const ready = (await officialLines.next()).value as string;
    const officialUrl = `http://127.0.0.1:${ready.split(' ')[1]}/inventory`;

    const app = express();
    app.use(
      otelExpress({ tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider }),
    );
    app.get('/orders/:id', async (_req, res) => {
      const ctx = propagation.setBaggage(
        context.active(),
        propagation.createBaggage({ 'order.channel': { value: 'web/mobile;v=2' } }),
      );
      const headers: Record<string, string> = {};
      injectContext(headers, { context: ctx });
      const r = await fetch(officialUrl, { headers });
      res.send(await r.text());
    });
    server = await startServer(app);

    const upstream = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: 'facade00facade00facade00facade00',
      spanId: '1234567812345678',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
      traceState: createTraceState('vendor=xyz'),
    });
    const headers: Record<string, string> = {};
    injectContext(headers, { context: upstream });
    const res = await fetch(`${server.url}/orders/7`, { headers });
    expect(await res.text()).toBe('official ok');

    const seen = JSON.parse((await officialLines.next()).value as string) as {
      baggage: Record<string, string>;
      spans: OfficialSpan[];
    };
    const [tracewireSpan] = await telemetry.waitForSpans(1);
    const officialServer = seen.spans.find((s) => s.kind === SpanKind.SERVER);
    expect(officialServer?.traceId).toBe('facade00facade00facade00facade00');
    expect(officialServer?.parentSpanId).toBe(tracewireSpan?.spanContext().spanId);
    expect(officialServer?.traceState).toBe('vendor=xyz');
    expect(seen.baggage).toEqual({ 'order.channel': 'web/mobile;v=2' });
  });
});
