// Runs the built demo in short mode and checks what its OTLP receiver got (the JSON dump written
// through DEMO_DUMP), not what it printed.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogLine } from '../src/runner/children.js';
import type { ReceivedMetricPoint, ReceivedSpan } from '../src/runner/receiver.js';
import type { ReportSummary } from '../src/runner/report.js';
import type { Exchange, PhaseRun } from '../src/runner/traffic.js';

const demoDir = fileURLToPath(new URL('..', import.meta.url));
const mainJs = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Dump {
  maxStreams: number;
  deadlineMs: number;
  phases: PhaseRun[];
  children: { name: string; pid: number; port: number; prometheusPort: number; exitCode: number | null }[];
  exchanges: Exchange[];
  report: ReportSummary;
  spans: ReceivedSpan[];
  metrics: ReceivedMetricPoint[];
  otlpLogs: { service: string; traceId?: string }[];
  logs: LogLine[];
}

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

function startDemo(env: Record<string, string>): { child: ChildProcess; done: Promise<Run> } {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', DEMO_SHORT: '1', ...env };
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined) delete childEnv.OTEL_EXPORTER_OTLP_ENDPOINT;
  const child = spawn(process.execPath, [mainJs], { cwd: demoDir, env: childEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 80_000);
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { child, done };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createNetServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const pidsIn = (stdout: string): number[] => [...stdout.matchAll(/ pid (\d+) /g)].map((m) => Number(m[1]));

beforeAll(() => {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run the "test" script, which builds first`);
});

describe('incident demo (short mode, built-in receiver)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracewire-demo-'));
  const dumpPath = join(dir, 'dump.json');
  let run: Run;
  let dump: Dump;
  let trace: ReceivedSpan[];
  let traceId: string;

  beforeAll(async () => {
    run = await startDemo({ DEMO_DUMP: dumpPath }).done;
    expect(run.code, `${run.stderr}\n${run.stdout}`).toBe(0);
    dump = JSON.parse(readFileSync(dumpPath, 'utf8')) as Dump;
    traceId = dump.report.failingTraceId ?? '';
    trace = dump.spans.filter((span) => span.traceId === traceId);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ends by itself, with nothing on stderr', () => {
    expect(run.signal).toBeNull();
    expect(run.stderr).toBe('');
    for (const child of dump.children) expect(child.exitCode, child.name).toBe(0);
  });

  it('answers the failed order with a 504 problem+json whose traceId is the trace shown', () => {
    const failed = dump.exchanges.find((e) => e.traceId === traceId && e.status === 504);
    expect(failed, 'the failing exchange').toBeDefined();
    expect(failed?.contentType).toContain('application/problem+json');
    const problem = JSON.parse(failed?.body ?? '{}') as { status: number; traceId: string };
    expect(problem.status).toBe(504);
    expect(problem.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(problem.traceId).toBe(traceId);
    expect(dump.report.problem).toEqual(problem);
  });

  it('has one trace reaching all four services and the database, with correct parent links', () => {
    expect(new Set(trace.map((s) => s.service))).toEqual(
      new Set(['gateway', 'orders', 'inventory', 'payments']),
    );
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const parentOf = (span: ReceivedSpan | undefined): ReceivedSpan | undefined =>
      span?.parentSpanId === undefined ? undefined : byId.get(span.parentSpanId);

    const roots = trace.filter((s) => s.parentSpanId === undefined);
    expect(roots.map((s) => [s.service, s.kind, s.name])).toEqual([['gateway', 2, 'POST /api/orders']]);
    for (const span of trace) {
      if (span.parentSpanId !== undefined)
        expect(byId.has(span.parentSpanId), `parent of ${span.name}`).toBe(true);
    }
    const ordersServer = trace.find((s) => s.service === 'orders' && s.kind === 2);
    expect(parentOf(ordersServer)).toMatchObject({ service: 'gateway', kind: 3 });
    expect(parentOf(parentOf(ordersServer))).toBe(roots[0]);

    const inventoryServer = trace.find((s) => s.service === 'inventory' && s.kind === 2);
    expect(inventoryServer?.name).toBe('GET /stock/:sku');
    expect(parentOf(inventoryServer)).toMatchObject({ service: 'orders', kind: 3 });

    const paymentsServer = trace.find((s) => s.service === 'payments' && s.kind === 2);
    const grpcClient = parentOf(paymentsServer);
    expect(grpcClient).toMatchObject({ service: 'orders', kind: 3, name: 'payments.Payments/Charge' });
    expect(grpcClient?.attributes['rpc.status_code']).toBe('DEADLINE_EXCEEDED');
    expect(grpcClient?.statusCode).toBe(2);

    const db = trace.filter((s) => s.attributes['db.system.name'] === 'postgresql');
    expect(db.map((s) => s.name)).toContain('INSERT demo_orders');
    for (const span of db) expect(parentOf(span)?.service).toBe('orders');

    // The gRPC call reached payments late (it waited for an HTTP/2 stream in orders) and the
    // client gave up at its deadline: the span marked as where the failure starts is the CLIENT span
    // (or the payments SERVER span, if payments' own deadline passed first).
    expect(paymentsServer?.start).toBeGreaterThan(grpcClient?.start ?? Number.POSITIVE_INFINITY);
    expect([grpcClient?.spanId, paymentsServer?.spanId]).toContain(dump.report.failingSpanId);

    // Every HTTP CLIENT span says how long it waited for a connection (@tracewire/node).
    const httpClients = trace.filter(
      (s) => s.kind === 3 && s.attributes['http.request.method'] !== undefined,
    );
    expect(httpClients.map((s) => s.service).sort()).toEqual(['gateway', 'orders']);
    for (const span of httpClients)
      expect(typeof span.attributes['tracewire.http.client.connection.wait_time'], span.name).toBe('number');
  });

  it('has log lines carrying the trace id from every service', () => {
    const lines = dump.logs.filter((l) => l.record.trace_id === traceId);
    expect(new Set(lines.map((l) => l.service))).toEqual(
      new Set(['gateway', 'orders', 'inventory', 'payments']),
    );
    const spanIds = new Set(trace.map((s) => s.spanId));
    for (const line of lines)
      expect(spanIds.has(String(line.record.span_id)), String(line.record.msg)).toBe(true);
    // The same records also came through the OTel Logs bridge (OTLP).
    const bridged = dump.otlpLogs.filter((l) => l.traceId === traceId);
    expect(new Set(bridged.map((l) => l.service)).size).toBe(4);
  });

  it("shows orders' gRPC calls waiting for a stream during the incident, and not before or after", () => {
    const [normal, incident, after] = dump.phases;
    if (normal === undefined || incident === undefined || after === undefined)
      throw new Error('three phases expected');
    const within = (p: ReceivedMetricPoint, phase: PhaseRun): boolean =>
      p.time >= phase.start && p.time <= phase.end;
    const points = (service: string, name: string, phase: PhaseRun): ReceivedMetricPoint[] =>
      dump.metrics.filter((p) => p.service === service && p.name === name && within(p, phase));
    const max = (service: string, name: string, phase: PhaseRun): number =>
      Math.max(0, ...points(service, name, phase).map((p) => p.value ?? p.max ?? 0));
    const count = (service: string, name: string, phase: PhaseRun): number =>
      points(service, name, phase).reduce((n, p) => n + (p.count ?? 0), 0);

    // The channel's calls waiting beyond payments' stream limit: 0 (or no series yet), then > 0,
    // then back to 0, with the last value exported after the incident at 0.
    const waiting = 'tracewire.grpc.channel.calls.waiting_for_stream';
    expect(max('orders', waiting, normal)).toBe(0);
    expect(max('orders', waiting, incident)).toBeGreaterThan(0);
    const afterWaiting = points('orders', waiting, after);
    expect(afterWaiting.length).toBeGreaterThan(0);
    expect(afterWaiting.at(-1)?.value).toBe(0);
    // One connection, and its streams' wait recorded: ~0 before, close to the deadline during.
    expect(max('orders', 'grpc.subchannel.open_connections', incident)).toBe(1);
    const wait = 'tracewire.grpc.channel.stream.wait_duration';
    expect(count('orders', wait, normal)).toBeGreaterThan(0);
    expect(count('orders', wait, incident)).toBeGreaterThan(0);
    expect(max('orders', wait, normal)).toBeLessThan(0.01);
    expect(max('orders', wait, incident)).toBeGreaterThan(dump.deadlineMs / 2000);
    // Payments never served more calls at a time than its limit.
    expect(max('payments', 'rpc.server.active_requests', incident)).toBeGreaterThan(0);
    expect(max('payments', 'rpc.server.active_requests', incident)).toBeLessThanOrEqual(dump.maxStreams);
    // The HTTP client pools' metrics are there too (and recorded connection waits).
    for (const service of ['gateway', 'orders']) {
      expect(count(service, 'http.client.connection.wait_time', incident), service).toBeGreaterThan(0);
      expect(points(service, 'http.client.open_connections', incident).length, service).toBeGreaterThan(0);
      expect(
        points(service, 'http.client.connection.pending_requests', incident).length,
        service,
      ).toBeGreaterThan(0);
    }
    const deadlineExceeded = dump.metrics.filter(
      (p) =>
        p.service === 'orders' &&
        p.name === 'rpc.client.call.duration' &&
        p.attributes['rpc.status_code'] === 'DEADLINE_EXCEEDED',
    );
    expect(deadlineExceeded.reduce((n, p) => n + (p.count ?? 0), 0)).toBeGreaterThan(0);
    // The demo records no metric of its own: every metric comes from a tracewire package or the SDK.
    expect(dump.metrics.filter((p) => p.name.startsWith('payments.')).map((p) => p.name)).toEqual([]);
  });

  it('derives the diagnosis from the data', () => {
    const [, incident] = dump.report.phases;
    expect(incident?.grpcWaitingMax).toBeGreaterThan(0);
    expect(dump.report.diagnosis).toContain('calls waiting for a stream went from 0 before');
    expect(dump.report.diagnosis).toContain('Cause: payments was not slow');
    expect(dump.report.diagnosis).not.toContain('payments pool');
  });

  it('leaves no child process behind and frees every port', async () => {
    for (const child of dump.children) {
      expect(isAlive(child.pid), `${child.name} pid ${child.pid}`).toBe(false);
      expect(await portIsFree(child.port), `${child.name} port ${child.port}`).toBe(true);
      expect(await portIsFree(child.prometheusPort), `${child.name} metrics port`).toBe(true);
    }
  });
});

describe('incident demo, interrupted (Ctrl-C)', () => {
  it('stops every service on SIGINT', async () => {
    const { child, done } = startDemo({});
    let stdout = '';
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('normal:')) resolve();
      });
    });
    const pids = pidsIn(stdout);
    expect(pids).toHaveLength(4);
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(130);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  });
});

describe('incident demo, OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  const received: string[] = [];
  let collector: Server;
  let endpoint: string;

  beforeAll(async () => {
    collector = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received.push(req.url ?? '');
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())));

  it('sends every signal of every service there instead', async () => {
    const run = await startDemo({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }).done;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`exporting to OTEL_EXPORTER_OTLP_ENDPOINT=${endpoint}`);
    expect(new Set(received)).toEqual(new Set(['/v1/traces', '/v1/metrics', '/v1/logs']));
    expect(run.stdout).toMatch(/"traceId":"[0-9a-f]{32}"/);
    for (const pid of pidsIn(run.stdout)) expect(isAlive(pid)).toBe(false);
  });
});
