// Runs one service (fixtures/side-by-side/app.cjs) in a child process, set up as one phase of a
// migration, sends it real requests carrying a caller's traceparent, and collects what it exported
// (OTLP/JSON to a collector in this process) and what its downstream received. Shared by
// test/side-by-side.test.ts and scripts/migration-table.mjs.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const repoRoot = new URL('../../../', import.meta.url).pathname;
const app = new URL('../test/fixtures/side-by-side/app.cjs', import.meta.url).pathname;
const require = createRequire(import.meta.url);

export const CALLER_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
export const CALLER_SPAN_ID = 'b7ad6b7169203331';
const CALLER = `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01`;
export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 };
export const KIND_NAMES = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

function listen(handler) {
  const server = http.createServer(handler);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${server.address().port}` }),
    );
  });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function attrValue(v) {
  if (v === undefined || v === null) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(attrValue);
  return undefined;
}

function attrs(list) {
  const out = {};
  for (const a of list ?? []) out[a.key] = attrValue(a.value);
  return out;
}

/**
 * @param {{ sdk: 'nodesdk' | 'auto', instrument: 'both' | 'official' | 'tracewire',
 *   framework?: 'express' | 'koa' | 'fastify', paths?: string[], env?: Record<string, string> }} scenario
 */
export async function runScenario(scenario) {
  const framework = scenario.framework ?? 'express';
  const paths = scenario.paths ?? ['/api/orders/7', '/api/orders/8', '/api/boom', '/nope'];
  const spans = [];
  const points = [];
  const collector = await listen(async (req, res) => {
    const body = await readBody(req);
    try {
      const json = JSON.parse(body);
      if (req.url === '/v1/traces') {
        for (const rs of json.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? [])
              spans.push({
                scope: ss.scope?.name,
                name: s.name,
                kind: s.kind,
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId || undefined,
                status: s.status?.code ?? 0,
                attributes: attrs(s.attributes),
                events: (s.events ?? []).map((e) => e.name),
              });
      } else if (req.url === '/v1/metrics') {
        for (const rm of json.resourceMetrics ?? [])
          for (const sm of rm.scopeMetrics ?? [])
            for (const m of sm.metrics ?? []) {
              const data = m.histogram ?? m.sum ?? m.gauge;
              for (const p of data?.dataPoints ?? [])
                points.push({
                  scope: sm.scope?.name,
                  name: m.name,
                  unit: m.unit,
                  attributes: attrs(p.attributes),
                });
            }
      }
    } catch {
      // not JSON: ignored
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  const received = [];
  const downstream = await listen((req, res) => {
    received.push({ url: req.url, traceparent: req.headersDistinct.traceparent ?? [] });
    res.end(`stock ${req.url}`);
  });

  const args = [];
  const env = {
    ...process.env,
    TW_SDK: scenario.sdk,
    TW_INSTRUMENT: scenario.instrument,
    TW_FRAMEWORK: framework,
    TW_DOWNSTREAM: downstream.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_METRIC_EXPORT_INTERVAL: '60000',
    OTEL_BSP_SCHEDULE_DELAY: '50',
    OTEL_SERVICE_NAME: 'orders',
    OTEL_RESOURCE_DETECTORS: 'none',
    OTEL_NODE_RESOURCE_DETECTORS: 'none',
    OTEL_SEMCONV_STABILITY_OPT_IN: 'http',
    ...scenario.env,
  };
  if (scenario.sdk === 'auto') {
    args.push('--import', require.resolve('@opentelemetry/auto-instrumentations-node/register'));
    if (scenario.instrument === 'tracewire')
      throw new Error('auto means the official instrumentation is loaded');
  }
  const child = spawn(process.execPath, [...args, app], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd: repoRoot,
  });
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done || !String(first.value).startsWith('ready ')) {
    throw new Error(`app did not start: ${first.value ?? ''}\n${stderr}`);
  }
  const port = Number(String(first.value).split(' ')[1]);
  const responses = [];
  // JSON lines the app writes (tracewire's access lines) are read with the rest of stdout below.
  const logs = [];
  for (const path of paths) {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { traceparent: CALLER } });
    responses.push({
      path,
      status: res.status,
      contentType: res.headers.get('content-type'),
      traceresponse: res.headers.get('traceresponse'),
      body: await res.text(),
    });
  }
  child.stdin.end();
  const doctor = [];
  const rest = (async () => {
    for await (const line of lines) {
      if (String(line).startsWith('doctor ')) doctor.push(...JSON.parse(String(line).slice(7)));
      else if (String(line).startsWith('{')) logs.push(JSON.parse(String(line)));
    }
  })();
  const [code] = await once(child, 'exit');
  await rest;
  collector.server.close();
  downstream.server.close();
  if (code !== 0) throw new Error(`app exited with ${code}\n${stderr}`);
  return { spans, points, received, responses, doctor, logs, stderr };
}

/** Spans of the caller's trace, by kind. */
export function countKinds(spans) {
  const counts = { SERVER: 0, CLIENT: 0, INTERNAL: 0 };
  for (const s of spans) {
    if (s.traceId !== CALLER_TRACE_ID) continue;
    const k = KIND_NAMES[s.kind];
    if (k in counts) counts[k]++;
  }
  return counts;
}

/** Distinct attribute sets (series) of one metric, across scopes. */
export function series(points, name) {
  const seen = new Map();
  for (const p of points) {
    if (p.name !== name) continue;
    const key = `${p.scope}|${JSON.stringify(Object.entries(p.attributes).sort())}`;
    seen.set(key, p);
  }
  return [...seen.values()];
}
