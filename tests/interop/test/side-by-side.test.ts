import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script (shared with scripts/migration-table.mjs), no types.
import {
  CALLER_SPAN_ID,
  CALLER_TRACE_ID,
  countKinds,
  runScenario,
  SPAN_KIND,
  series,
} from '../scripts/side-by-side.mjs';

// One service in a child process per migration phase: the official SDK and instrumentations loaded
// as their docs say (NodeSDK with instrumentation-http/-undici/-express or -koa, or
// `--import @opentelemetry/auto-instrumentations-node/register`), with tracewire mounted beside
// them, alone, or not at all. Real requests carry a caller's traceparent; the service calls a
// downstream with fetch and with node:http; everything it exports goes to an OTLP/JSON collector.
// Each phase must give one SERVER span per request, one CLIENT span per outgoing request, every span
// in the caller's trace with an unbroken parent chain, and one http.server.request.duration series
// per route and status.

interface Span {
  scope: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
  events: string[];
}
interface Result {
  spans: Span[];
  points: { scope: string; name: string; attributes: Record<string, unknown> }[];
  received: { url: string; traceparent: string[] }[];
  responses: {
    path: string;
    status: number;
    contentType: string | null;
    traceresponse: string | null;
    body: string;
  }[];
  doctor: { code: string; message: string; fix?: string }[];
  logs: Record<string, unknown>[];
}

const ORDER = '/api/orders/7';
const PATHS = [ORDER, '/api/boom', '/nope'];

type Scenario = {
  sdk: 'nodesdk' | 'auto';
  instrument: 'both' | 'official' | 'tracewire';
  framework: 'express' | 'koa' | 'fastify';
  env?: Record<string, string>;
};
const SCENARIOS: Scenario[] = [
  { sdk: 'nodesdk', instrument: 'both', framework: 'express' },
  { sdk: 'auto', instrument: 'both', framework: 'express' },
  { sdk: 'nodesdk', instrument: 'official', framework: 'express' },
  { sdk: 'auto', instrument: 'official', framework: 'express' },
  { sdk: 'nodesdk', instrument: 'tracewire', framework: 'express' },
  { sdk: 'nodesdk', instrument: 'both', framework: 'koa' },
  { sdk: 'nodesdk', instrument: 'official', framework: 'koa' },
  { sdk: 'nodesdk', instrument: 'tracewire', framework: 'koa' },
  // Fastify beside instrumentation-http (its own instrumentation, @fastify/otel, is on the 2.x SDK
  // line); alone, instrumentation-http does not know Fastify's routes, so there is no
  // official-only row to compare span names with.
  { sdk: 'nodesdk', instrument: 'both', framework: 'fastify' },
  { sdk: 'nodesdk', instrument: 'tracewire', framework: 'fastify' },
];

function name(s: Scenario): string {
  return `${s.framework}, ${s.instrument === 'both' ? 'both installed' : `only ${s.instrument}`} (${s.sdk === 'auto' ? '--import auto-instrumentations-node/register' : 'NodeSDK'})`;
}

/** The spans of one request: its SERVER span (child of the caller) and everything below it. */
function requestSpans(spans: Span[], route: string): { server: Span[]; tree: Span[] } {
  const server = spans.filter(
    (s) =>
      s.kind === SPAN_KIND.SERVER && s.traceId === CALLER_TRACE_ID && s.attributes['http.route'] === route,
  );
  const ids = new Set(server.map((s) => s.spanId));
  const tree = [...server];
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of spans) {
      if (!ids.has(s.spanId) && s.parentSpanId !== undefined && ids.has(s.parentSpanId)) {
        ids.add(s.spanId);
        tree.push(s);
        grew = true;
      }
    }
  }
  return { server, tree };
}

const counts: string[] = [];

describe.each(SCENARIOS)('side by side: $framework, $instrument, $sdk', (scenario) => {
  it('one SERVER span per request, one CLIENT span per outgoing request, all in the caller trace, one duration series per route', async () => {
    const r: Result = await runScenario({ ...scenario, paths: PATHS });
    const tracewire = scenario.instrument !== 'official';
    const official = scenario.instrument !== 'tracewire';

    // The answers are what the app sends (problem+json only where tracewire's handler is mounted).
    expect(r.responses.map((x) => x.status)).toEqual([200, 500, 404]);

    // One SERVER span for the order request, the caller's child, with the full route.
    const order = requestSpans(r.spans, '/api/orders/:id');
    expect(order.server).toHaveLength(1);
    const [server] = order.server;
    expect(server?.parentSpanId).toBe(CALLER_SPAN_ID);
    expect(server?.name).toBe('GET /api/orders/:id');
    expect(server?.scope).toBe(
      official ? '@opentelemetry/instrumentation-http' : `@tracewire/${scenario.framework}`,
    );
    // Every SERVER span of the run belongs to the caller's trace: one per request sent.
    const servers = r.spans.filter((s) => s.kind === SPAN_KIND.SERVER);
    expect(servers).toHaveLength(PATHS.length);
    for (const s of servers) expect(s.traceId).toBe(CALLER_TRACE_ID);

    // Two outgoing requests (fetch and node:http): two CLIENT spans below the SERVER span, and each
    // downstream request names one of them as its parent (never an orphan, never a second header).
    const clients = order.tree.filter((s) => s.kind === SPAN_KIND.CLIENT);
    expect(clients).toHaveLength(2);
    expect(r.received).toHaveLength(2);
    for (const got of r.received) {
      expect(got.traceparent).toHaveLength(1);
      const [, traceId, parentId] = (got.traceparent[0] ?? '').split('-');
      expect(traceId).toBe(CALLER_TRACE_ID);
      expect(clients.map((c) => c.spanId)).toContain(parentId);
    }
    // Every span of the caller's trace hangs off the caller through spans that were exported.
    const inTrace = r.spans.filter((s) => s.traceId === CALLER_TRACE_ID);
    const known = new Set([CALLER_SPAN_ID, ...inTrace.map((s) => s.spanId)]);
    for (const s of inTrace) expect(known.has(s.parentSpanId ?? '')).toBe(true);

    // traceresponse and the request logger's access line name the one SERVER span when tracewire is mounted.
    if (tracewire) {
      expect(r.responses[0]?.traceresponse).toBe(`00-${CALLER_TRACE_ID}-${server?.spanId}-01`);
      const access = r.logs.filter((l) => l.msg === 'request completed' && l.path === '/api/orders/7');
      expect(access).toHaveLength(1);
      expect(access[0]).toMatchObject({
        trace_id: CALLER_TRACE_ID,
        span_id: server?.spanId,
        route: '/api/orders/:id',
      });
    }

    // The error request: one SERVER span with the exception; tracewire's problem+json carries the trace id.
    const boom = requestSpans(r.spans, '/api/boom').server;
    expect(boom).toHaveLength(1);
    if (tracewire) {
      expect(r.responses[1]?.contentType).toContain('application/problem+json');
      expect(JSON.parse(r.responses[1]?.body ?? '{}').traceId).toBe(CALLER_TRACE_ID);
      expect(boom[0]?.events).toContain('exception');
    }

    // One http.server.request.duration series per route and status, from one scope only.
    const duration = series(r.points, 'http.server.request.duration');
    expect(new Set(duration.map((p: { scope: string }) => p.scope)).size).toBe(1);
    const orderSeries = duration.filter(
      (p: { attributes: Record<string, unknown> }) => p.attributes['http.route'] === '/api/orders/:id',
    );
    expect(orderSeries).toHaveLength(1);
    expect(orderSeries[0]?.attributes['http.response.status_code']).toBe(200);
    if (tracewire) {
      // tracewire's route rule: no http.route on an unmatched request, whoever records the series.
      const notFound = duration.filter(
        (p: { attributes: Record<string, unknown> }) => p.attributes['http.response.status_code'] === 404,
      );
      expect(notFound).toHaveLength(1);
      expect(notFound[0]?.attributes['http.route']).toBeUndefined();
    }
    // One http.client.request.duration series per client instrumentation and destination: never
    // tracewire's beside the official one.
    const clientScopes = new Set(
      series(r.points, 'http.client.request.duration').map((p: { scope: string }) => p.scope),
    );
    expect(clientScopes.has('@tracewire/node')).toBe(!official);

    // The doctor's in-process check: tracewire reused the official spans, no double spans.
    if (tracewire) {
      const codes = r.doctor.map((f) => f.code);
      expect(codes).not.toContain('DOUBLE_SERVER_SPANS');
      expect(codes).not.toContain('DOUBLE_CLIENT_SPANS');
      expect(codes.includes('OFFICIAL_SPANS_REUSED')).toBe(official);
    }

    const k = countKinds(requestSpans(r.spans, '/api/orders/:id').tree);
    counts.push(
      `${name(scenario)}: per order request ${k.SERVER} SERVER, ${k.CLIENT} CLIENT, ${k.INTERNAL} INTERNAL spans; ` +
        `http.server.request.duration ${duration.length} series (${[...new Set(duration.map((p: { scope: string }) => p.scope))].join(', ')}) for ${PATHS.length} requests`,
    );
  });
});

describe("officialServerSpan: 'own' beside instrumentation-http", () => {
  it('gives two SERVER spans, and the doctor says so with the option to remove', async () => {
    const r: Result = await runScenario({
      sdk: 'nodesdk',
      instrument: 'both',
      framework: 'express',
      paths: [ORDER],
      env: { TW_OFFICIAL_SERVER_SPAN: 'own' },
    });
    const servers = r.spans.filter((s) => s.kind === SPAN_KIND.SERVER && s.traceId === CALLER_TRACE_ID);
    expect(servers).toHaveLength(2);
    const double = r.doctor.find((f) => f.code === 'DOUBLE_SERVER_SPANS');
    expect(double?.message).toContain('/api/orders/7 (@tracewire/express)');
    expect(double?.fix).toContain("officialServerSpan: 'own'");
    counts.push(
      `express, both installed, officialServerSpan 'own' (NodeSDK): per order request ${servers.length} SERVER spans`,
    );
  });
});

describe('instrumentHttpClient() before the official SDK started', () => {
  it('fetch goes out with two traceparents (instrumentation-undici adds its own), and the doctor says what to change', async () => {
    const r: Result = await runScenario({
      sdk: 'nodesdk',
      instrument: 'both',
      framework: 'express',
      paths: [ORDER],
      env: { TW_CLIENT_FIRST: '1' },
    });
    const viaFetch = r.received.find((x) => x.url.includes('via=fetch'));
    expect(viaFetch?.traceparent).toHaveLength(2);
    const double = r.doctor.find((f) => f.code === 'DOUBLE_CLIENT_SPANS');
    expect(double?.message).toMatch(
      /^1 outgoing request\(s\) got two CLIENT spans: 127\.0\.0\.1:\d+ \(@tracewire\/node\)/,
    );
    expect(double?.fix).toContain('after the official SDK started');
    counts.push(
      `express, both installed, instrumentHttpClient() before NodeSDK.start(): the fetch request carries ${viaFetch?.traceparent.length} traceparent headers (DOUBLE_CLIENT_SPANS)`,
    );
  });
});

describe('pg: instrumentation-pg beside tracePg(pool)', () => {
  let pglite: { url: string; close: () => Promise<void>; connection: Record<string, unknown> } | undefined;
  beforeAll(async () => {
    const { PGlite } = await import('@electric-sql/pglite');
    const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
    const db = await PGlite.create();
    const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 8 });
    await server.start();
    const [host, port] = server.getServerConn().split(':');
    pglite = {
      url: server.getServerConn(),
      connection: { host, port: Number(port), user: 'postgres', database: 'postgres' },
      close: async () => {
        await server.stop();
        await db.close();
      },
    };
  });
  afterAll(async () => {
    await pglite?.close();
  });

  it.each(['both', 'official', 'tracewire'] as const)(
    '%s: one CLIENT span per query, under the request, from one instrumentation',
    async (instrument) => {
      const r: Result = await runScenario({
        sdk: 'nodesdk',
        instrument,
        framework: 'express',
        paths: [ORDER],
        env: { TW_PG: JSON.stringify(pglite?.connection) },
      });
      expect(r.responses[0]?.status).toBe(200);
      expect(JSON.parse(r.responses[0]?.body ?? '{}').rows).toEqual([7, 2]);
      const tree = requestSpans(r.spans, '/api/orders/:id').tree;
      // Query spans (instrumentation-pg also makes CLIENT spans for pg.connect and pg-pool.connect).
      const queries = tree.filter(
        (s) =>
          s.kind === SPAN_KIND.CLIENT &&
          (s.attributes['db.query.text'] ?? s.attributes['db.statement']) !== undefined,
      );
      expect(queries).toHaveLength(2);
      const scopes = new Set(queries.map((s) => s.scope));
      expect(scopes).toEqual(
        new Set([instrument === 'tracewire' ? '@tracewire/pg' : '@opentelemetry/instrumentation-pg']),
      );
      // No query span is the child of another query span.
      const ids = new Set(queries.map((s) => s.spanId));
      for (const q of queries) expect(ids.has(q.parentSpanId ?? '')).toBe(false);
      const durationScopes = new Set(
        series(r.points, 'db.client.operation.duration').map((p: { scope: string }) => p.scope),
      );
      expect(durationScopes.size).toBe(1);
      counts.push(
        `pg, ${instrument === 'both' ? 'both installed' : `only ${instrument}`} (NodeSDK): per request ${queries.length} query CLIENT spans (${[...scopes].join(', ')}) for 2 queries; db.client.operation.duration from ${[...durationScopes].join(', ')}`,
      );
    },
  );
});

describe('counts', () => {
  it('prints the span and series counts per scenario', () => {
    // Read by the closing note of issue 16 and by the migration guide.
    process.stdout.write(`\nside-by-side counts:\n${counts.map((c) => `  ${c}`).join('\n')}\n`);
    expect(counts.length).toBe(SCENARIOS.length + 5);
  });
});
