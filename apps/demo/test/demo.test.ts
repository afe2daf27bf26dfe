// Runs the built demo (dist/main.js) as a child process and checks what it prints.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const demoDir = fileURLToPath(new URL('..', import.meta.url));
const mainJs = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the demo with Node 24 (the one running vitest), no colours, and a hard timeout. */
function runDemo(env: Record<string, string> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined) delete childEnv.OTEL_EXPORTER_OTLP_ENDPOINT;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [mainJs],
      { cwd: demoDir, env: childEnv, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, signal: error?.signal ?? null, stdout, stderr });
      },
    );
  });
}

interface SpanLine {
  readonly depth: number;
  readonly name: string;
  readonly kind: string;
}

interface TraceTree {
  readonly traceId: string;
  readonly spans: SpanLine[];
}

const TRACE_HEADER = /^trace ([0-9a-f]{32})\b/;
const SPAN_LINE = /^((?:│ {2}| {3})*)(?:├─|└─) (.+?) {2}(INTERNAL|SERVER|CLIENT|PRODUCER|CONSUMER) {2}/;

/** The printed trace trees: a `trace <id>` header, then one line per span, indented 3 per level. */
function parseTraces(stdout: string): TraceTree[] {
  const trees: TraceTree[] = [];
  let current: TraceTree | undefined;
  for (const line of stdout.split('\n')) {
    const header = TRACE_HEADER.exec(line);
    if (header?.[1] !== undefined) {
      current = { traceId: header[1], spans: [] };
      trees.push(current);
      continue;
    }
    if (line.trim() === '' || line.startsWith('==')) {
      current = undefined;
      continue;
    }
    const span = SPAN_LINE.exec(line);
    if (current !== undefined && span?.[2] !== undefined && span[3] !== undefined) {
      current.spans.push({ depth: (span[1]?.length ?? 0) / 3, name: span[2], kind: span[3] });
    }
  }
  return trees;
}

/** Spans below `spans[index]` in the tree (the lines after it that are indented deeper). */
function descendants(spans: readonly SpanLine[], index: number): SpanLine[] {
  const depth = spans[index]?.depth ?? 0;
  const result: SpanLine[] = [];
  for (const span of spans.slice(index + 1)) {
    if (span.depth <= depth) break;
    result.push(span);
  }
  return result;
}

/** The nearest line above `spans[index]` that is one level up. */
function parentOf(spans: readonly SpanLine[], index: number): SpanLine | undefined {
  const depth = spans[index]?.depth ?? 0;
  return spans.slice(0, index).findLast((span) => span.depth === depth - 1);
}

/** The body line printed under `GET <path> -> ...`. */
function printedBody(stdout: string, path: string): string {
  const lines = stdout.split('\n');
  const index = lines.findIndex((line) => line.startsWith(`GET ${path} -> `));
  expect(index, `response line for ${path}`).toBeGreaterThanOrEqual(0);
  return lines[index + 1]?.trim() ?? '';
}

function section(stdout: string, title: string): string {
  const start = stdout.indexOf(`== ${title} ==`);
  expect(start, `section ${title}`).toBeGreaterThanOrEqual(0);
  const end = stdout.indexOf('\n== ', start + 1);
  return stdout.slice(start, end === -1 ? undefined : end);
}

beforeAll(() => {
  if (!existsSync(mainJs))
    throw new Error(`${mainJs} is missing: run the demo's "test" script, which builds first`);
});

describe('demo (embedded mode)', () => {
  let run: Run;

  beforeAll(async () => {
    run = await runDemo();
  });

  it('exits 0 by itself, with nothing on stderr', () => {
    expect(run.signal, run.stderr).toBeNull();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
  });

  it('prints each response status', () => {
    const responses = section(run.stdout, 'Responses');
    expect(responses).toContain('GET /orders/7 -> 200 OK');
    expect(responses).toContain('GET /orders/missing -> 404 Not Found  application/problem+json');
    expect(responses).toContain('GET /boom -> 500 Internal Server Error  application/problem+json');
    expect(responses).toContain('GET /no/such/page -> 404 Not Found');
  });

  it('continues the trace across the inner hop: CLIENT span, then the inner SERVER span', () => {
    const trees = parseTraces(run.stdout);
    const hops = trees.filter((tree) => tree.spans[0]?.name === 'GET /orders/:id' && tree.spans.length > 1);
    expect(hops.length).toBe(2);
    for (const tree of hops) {
      const root = tree.spans[0];
      expect(root).toMatchObject({ depth: 0, kind: 'SERVER' });
      const below = descendants(tree.spans, 0);
      expect(below.map((s) => s.name)).toContain('load order');
      const inner = tree.spans.findIndex((s) => s.name === 'GET /inventory/:sku' && s.kind === 'SERVER');
      expect(inner, `GET /inventory/:sku in trace ${tree.traceId}`).toBeGreaterThan(0);
      expect(below).toContain(tree.spans[inner]);
      expect(parentOf(tree.spans, inner)?.kind).toBe('CLIENT');
    }
    // No trace of its own for the inner request: it is part of the outer trace.
    expect(trees.filter((tree) => tree.spans[0]?.name === 'GET /inventory/:sku')).toEqual([]);
  });

  it('answers the 500 with problem+json carrying the traceId and not the internal message', () => {
    const body = printedBody(run.stdout, '/boom');
    expect(body).toContain('traceId');
    expect(body).not.toContain('hunter2');
    expect(body).not.toContain('10.0.0.5');
    const problem = JSON.parse(body) as { status: number; traceId: string };
    expect(problem.status).toBe(500);
    // The traceId in the body is the trace printed for GET /boom.
    const tree = parseTraces(run.stdout).find((t) => t.traceId === problem.traceId);
    expect(tree?.spans[0]?.name).toBe('GET /boom');
  });

  it('answers the TracedError with a 404 problem+json that exposes its message', () => {
    const problem = JSON.parse(printedBody(run.stdout, '/orders/missing')) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 404, detail: 'order missing not found' });
  });

  it('prints the duration metric per route and the active requests', () => {
    const metrics = section(run.stdout, 'Metrics');
    expect(metrics).toContain('http.server.request.duration');
    expect(metrics).toMatch(/GET\s+\/orders\/:id\s+200\s+2\s+[\d.]+\s+[\d.]+\n/);
    expect(metrics).toMatch(/GET\s+\/inventory\/:sku\s+200\s+2\s/);
    expect(metrics).toMatch(/GET\s+\/boom\s+500\s+500\s+1\s/);
    expect(metrics).toMatch(/http\.server\.active_requests[^\n]*\n[^\n]*METHOD[^\n]*\n\s+GET\s+http\s+0/);
  });
});

describe('demo (OTLP mode)', () => {
  const received: { path: string; body: string }[] = [];
  let collector: Server;
  let endpoint: string;

  beforeAll(async () => {
    collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => collector.close(resolve));
  });

  it('sends traces and metrics to OTEL_EXPORTER_OTLP_ENDPOINT and says so', async () => {
    const run = await runDemo({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(`traces and metrics sent over OTLP/HTTP to ${endpoint}`);
    const traces = received.filter((r) => r.path === '/v1/traces').map((r) => r.body);
    const metrics = received.filter((r) => r.path === '/v1/metrics').map((r) => r.body);
    expect(traces.join()).toContain('GET /inventory/:sku');
    expect(traces.join()).toContain('demo-gateway');
    expect(metrics.join()).toContain('http.server.request.duration');
  });
});
