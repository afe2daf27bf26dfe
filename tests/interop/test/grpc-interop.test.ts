import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
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
import { otelGrpcClientInterceptor, otelGrpcServerInterceptor } from '@tracewire/grpc';
import { createTelemetry } from '@tracewire/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

// gRPC interop with the official instrumentation-grpc (which patches grpc-js) running in a child
// process; tracewire's interceptors run here, as an application would use them.

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
const fixtures = new URL('./fixtures/', import.meta.url).pathname;
const definition = protoLoader.loadSync(`${fixtures}users.proto`, { keepCase: true });
const proto = (grpc.loadPackageDefinition(definition) as any).interop;

const telemetry = createTelemetry();
const children: ChildProcess[] = [];
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill();
  for (const f of cleanups.splice(0)) f();
  telemetry.reset();
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

function runNode(args: string[]): { child: ChildProcess; lines: AsyncIterableIterator<string> } {
  const child = spawn(process.execPath, [`${fixtures}official-grpc.cjs`, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  if (child.stdout === null) throw new Error('no stdout');
  return { child, lines: createInterface({ input: child.stdout })[Symbol.asyncIterator]() };
}

describe('gRPC interop with the official OpenTelemetry instrumentation', () => {
  it('official grpc client -> tracewire server interceptor: one trace, right parent, baggage and tracestate', async () => {
    const server = new grpc.Server({
      interceptors: [
        otelGrpcServerInterceptor({
          tracerProvider: telemetry.tracerProvider,
          meterProvider: telemetry.meterProvider,
        }),
      ],
    });
    server.addService(proto.Users.service, {
      GetUser(call: { request: { id: string } }, callback: (e: null, v: unknown) => void) {
        const baggage = propagation.getBaggage(context.active())?.getEntry('tenant')?.value ?? '';
        callback(null, { id: call.request.id, baggage });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    cleanups.push(() => server.forceShutdown());

    const { lines } = runNode(['client', String(port)]);
    const out = JSON.parse((await lines.next()).value as string) as {
      error?: string;
      user: { id: string; baggage: string };
      spans: OfficialSpan[];
    };
    expect(out.error).toBeUndefined();
    expect(out.user).toEqual({ id: '7', baggage: 'acme' });
    const clientSpan = out.spans.find((s) => s.kind === SpanKind.CLIENT);
    const [serverSpan] = await telemetry.waitForSpans(1);
    expect(serverSpan?.name).toBe('interop.Users/GetUser');
    expect(serverSpan?.spanContext().traceId).toBe('beef0000beef0000beef0000beef0000');
    expect(serverSpan?.parentSpanContext?.spanId).toBe(clientSpan?.spanId);
    expect(serverSpan?.spanContext().traceState?.serialize()).toBe('vendor=grpc');
  });

  it('tracewire client interceptor -> official grpc server: one trace, right parent, baggage and tracestate', async () => {
    const { lines } = runNode(['server']);
    const ready = (await lines.next()).value as string;
    const port = ready.split(' ')[1];
    const client = new proto.Users(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      interceptors: [
        otelGrpcClientInterceptor({
          tracerProvider: telemetry.tracerProvider,
          meterProvider: telemetry.meterProvider,
          propagateBaggage: true,
        }),
      ],
    });
    cleanups.push(() => client.close());

    const upstream = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: 'feed0000feed0000feed0000feed0000',
      spanId: '1234567812345678',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
      traceState: createTraceState('vendor=tw'),
    });
    const ctx = propagation.setBaggage(upstream, propagation.createBaggage({ tenant: { value: 'globex' } }));
    const user = await new Promise<{ id: string; baggage: string }>((resolve, reject) =>
      context.with(ctx, () =>
        client.GetUser({ id: '9' }, (e: Error | null, v: { id: string; baggage: string }) =>
          e ? reject(e) : resolve(v),
        ),
      ),
    );
    expect(user).toEqual({ id: '9', baggage: 'globex' });

    const seen = JSON.parse((await lines.next()).value as string) as { spans: OfficialSpan[] };
    const [clientSpan] = await telemetry.waitForSpans(1);
    expect(clientSpan?.kind).toBe(SpanKind.CLIENT);
    const officialServer = seen.spans.find((s) => s.kind === SpanKind.SERVER);
    expect(officialServer?.traceId).toBe('feed0000feed0000feed0000feed0000');
    expect(officialServer?.parentSpanId).toBe(clientSpan?.spanContext().spanId);
    expect(officialServer?.traceState).toBe('vendor=tw');
  });
});

interface SideBySide {
  fatal?: string;
  ok: { error?: string; user?: { id: string } };
  failed: { code?: number; details?: string; trailer?: string };
  handlerSpans: string[];
  spans: OfficialSpan[];
  series: Record<string, number>;
}

async function sideBySide(mode: 'none' | 'reuse' | 'own'): Promise<SideBySide> {
  const child = spawn(process.execPath, [`${fixtures}grpc-side-by-side.cjs`, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  if (child.stdout === null) throw new Error('no stdout');
  const line = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
  const out = JSON.parse(line.value as string) as SideBySide;
  expect(out.fatal).toBeUndefined();
  return out;
}

describe('gRPC beside instrumentation-grpc in one process (tracewire interceptors on both sides)', () => {
  for (const mode of ['none', 'reuse'] as const) {
    it(`${mode === 'none' ? 'by default' : "officialServerSpan/officialClientSpan: 'reuse'"}: one CLIENT and one SERVER span per call, chained in the caller's trace; metrics and the trace-id trailer kept`, async () => {
      const out = await sideBySide(mode);
      expect(out.ok.error).toBeUndefined();
      expect(out.ok.user?.id).toBe('7');
      // The application's answers are those of the bare service.
      expect(out.failed.code).toBe(13);
      expect(out.failed.details).toBe('lookup failed');

      const caller = out.spans.find((s) => s.name === 'caller operation');
      const clients = out.spans.filter((s) => s.kind === SpanKind.CLIENT);
      const servers = out.spans.filter((s) => s.kind === SpanKind.SERVER);
      expect(clients).toHaveLength(2); // two calls, one CLIENT span each (the official one)
      expect(servers).toHaveLength(2); // one SERVER span each (the official one)
      for (const s of [...clients, ...servers]) expect(s.traceId).toBe('cafe0000cafe0000cafe0000cafe0000');
      for (const c of clients) expect(c.parentSpanId).toBe(caller?.spanId);
      for (const s of servers) expect(clients.map((c) => c.spanId)).toContain(s.parentSpanId);
      // The handler ran in the SERVER span (not in a tracewire span, and not outside any span).
      expect(out.handlerSpans.sort()).toEqual(servers.map((s) => s.spanId).sort());
      // The failing call's trailers carry the trace id, as without the official instrumentation.
      expect(out.failed.trailer).toBe('cafe0000cafe0000cafe0000cafe0000');
      // instrumentation-grpc records no metrics: tracewire's RPC metrics are the only series.
      expect(out.series['rpc.server.call.duration']).toBe(2); // OK and INTERNAL
      expect(out.series['rpc.client.call.duration']).toBe(2);
      console.log(
        `counts: grpc both (${mode}): ${servers.length / 2} SERVER + ${clients.length / 2} CLIENT span(s) per call; rpc.server.call.duration series ${out.series['rpc.server.call.duration']}`,
      );
    });
  }

  it("officialServerSpan/officialClientSpan: 'own': tracewire's spans as well (two of each per call)", async () => {
    const out = await sideBySide('own');
    expect(out.ok.user?.id).toBe('7');
    expect(out.failed.code).toBe(13);
    const clients = out.spans.filter((s) => s.kind === SpanKind.CLIENT);
    const servers = out.spans.filter((s) => s.kind === SpanKind.SERVER);
    expect(clients).toHaveLength(4);
    expect(servers).toHaveLength(4);
    expect(new Set(out.spans.map((s) => s.traceId))).toEqual(new Set(['cafe0000cafe0000cafe0000cafe0000']));
    expect(clients.filter((c) => c.name === 'interop.Users/GetUser')).toHaveLength(2);
    expect(servers.filter((c) => c.name === 'interop.Users/GetUser')).toHaveLength(2);
  });
});
