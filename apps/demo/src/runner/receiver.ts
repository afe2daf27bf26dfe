// The demo's display backend: a small OTLP/HTTP receiver for JSON payloads (traces, metrics,
// logs). It keeps what it receives in memory, flattened, for the views the runner prints. It is
// not a collector: no protobuf, no persistence, no querying.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export type AttrValue = string | number | boolean | null | AttrValue[];
export type Attrs = Record<string, AttrValue>;

export interface ReceivedSpan {
  readonly service: string;
  readonly scope: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** OTLP SpanKind: 1 INTERNAL, 2 SERVER, 3 CLIENT, 4 PRODUCER, 5 CONSUMER */
  readonly kind: number;
  /** epoch milliseconds (fractional) */
  readonly start: number;
  readonly end: number;
  /** 0 UNSET, 1 OK, 2 ERROR */
  readonly statusCode: number;
  readonly statusMessage: string | undefined;
  readonly attributes: Attrs;
  readonly events: { name: string; attributes: Attrs }[];
  readonly links: { traceId: string; spanId: string }[];
}

export interface ReceivedMetricPoint {
  readonly service: string;
  readonly name: string;
  readonly unit: string;
  readonly type: 'sum' | 'gauge' | 'histogram';
  /** 1 DELTA, 2 CUMULATIVE (absent for gauges) */
  readonly temporality: number | undefined;
  /** epoch ms */
  readonly start: number;
  readonly time: number;
  readonly attributes: Attrs;
  readonly value?: number;
  readonly count?: number;
  readonly sum?: number;
  readonly min?: number;
  readonly max?: number;
}

export interface ReceivedLogRecord {
  readonly service: string;
  readonly time: number;
  readonly severityText: string | undefined;
  readonly body: AttrValue;
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
}

export interface Receiver {
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetricPoint[];
  readonly logs: ReceivedLogRecord[];
  /** Requests that could not be read (wrong content type, bad JSON). */
  readonly rejected: string[];
  close(): Promise<void>;
}

type Json = any;

export async function startReceiver(): Promise<Receiver> {
  const spans: ReceivedSpan[] = [];
  const metrics: ReceivedMetricPoint[] = [];
  const logs: ReceivedLogRecord[] = [];
  const rejected: string[] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let status = 200;
      try {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        if (!String(req.headers['content-type'] ?? '').includes('json')) {
          throw new Error(`unsupported content-type ${req.headers['content-type']} (set http/json)`);
        }
        const doc: Json = JSON.parse(body.toString('utf8'));
        if (req.url === '/v1/traces') spans.push(...flattenSpans(doc));
        else if (req.url === '/v1/metrics') metrics.push(...flattenMetrics(doc));
        else if (req.url === '/v1/logs') logs.push(...flattenLogs(doc));
        else status = 404;
      } catch (error) {
        status = 400;
        rejected.push(`${req.url}: ${(error as Error).message}`);
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    metrics,
    logs,
    rejected,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function nanosToMs(value: Json): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'object' && 'low' in value) {
    return ((value.high >>> 0) * 2 ** 32 + (value.low >>> 0)) / 1e6;
  }
  return Number(BigInt(value)) / 1e6;
}

function anyValue(value: Json): AttrValue {
  if (value === undefined || value === null) return null;
  if ('stringValue' in value) return value.stringValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return Number(value.doubleValue);
  if ('boolValue' in value) return Boolean(value.boolValue);
  if ('arrayValue' in value) return (value.arrayValue.values ?? []).map(anyValue);
  if ('kvlistValue' in value) return JSON.stringify(attributes(value.kvlistValue.values));
  return null;
}

function attributes(list: Json): Attrs {
  const result: Attrs = {};
  for (const kv of list ?? []) result[kv.key] = anyValue(kv.value);
  return result;
}

/** Ids are hex strings in OTLP/JSON; tolerate base64 too. */
function id(value: Json): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (/^[0-9a-fA-F]+$/.test(value) && (value.length === 32 || value.length === 16))
    return value.toLowerCase();
  return Buffer.from(value, 'base64').toString('hex');
}

function serviceOf(resource: Json): string {
  return String(attributes(resource?.attributes)['service.name'] ?? 'unknown');
}

function flattenSpans(doc: Json): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of doc.resourceSpans ?? []) {
    const service = serviceOf(rs.resource);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          service,
          scope: ss.scope?.name ?? '',
          traceId: id(s.traceId) ?? '',
          spanId: id(s.spanId) ?? '',
          parentSpanId: id(s.parentSpanId),
          name: s.name,
          kind: s.kind ?? 0,
          start: nanosToMs(s.startTimeUnixNano),
          end: nanosToMs(s.endTimeUnixNano),
          statusCode: s.status?.code ?? 0,
          statusMessage: s.status?.message || undefined,
          attributes: attributes(s.attributes),
          events: (s.events ?? []).map((e: Json) => ({ name: e.name, attributes: attributes(e.attributes) })),
          links: (s.links ?? []).map((l: Json) => ({
            traceId: id(l.traceId) ?? '',
            spanId: id(l.spanId) ?? '',
          })),
        });
      }
    }
  }
  return out;
}

function flattenMetrics(doc: Json): ReceivedMetricPoint[] {
  const out: ReceivedMetricPoint[] = [];
  for (const rm of doc.resourceMetrics ?? []) {
    const service = serviceOf(rm.resource);
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const base = { service, name: m.name, unit: m.unit ?? '' };
        const data = m.sum ?? m.gauge ?? m.histogram;
        const type = m.sum ? 'sum' : m.gauge ? 'gauge' : m.histogram ? 'histogram' : undefined;
        if (type === undefined) continue;
        for (const p of data.dataPoints ?? []) {
          const common = {
            ...base,
            type,
            temporality: data.aggregationTemporality,
            start: nanosToMs(p.startTimeUnixNano),
            time: nanosToMs(p.timeUnixNano),
            attributes: attributes(p.attributes),
          } as const;
          if (type === 'histogram') {
            out.push({
              ...common,
              count: Number(p.count ?? 0),
              sum: Number(p.sum ?? 0),
              ...(p.min === undefined ? {} : { min: Number(p.min) }),
              ...(p.max === undefined ? {} : { max: Number(p.max) }),
            });
          } else {
            out.push({ ...common, value: Number(p.asDouble ?? p.asInt ?? 0) });
          }
        }
      }
    }
  }
  return out;
}

function flattenLogs(doc: Json): ReceivedLogRecord[] {
  const out: ReceivedLogRecord[] = [];
  for (const rl of doc.resourceLogs ?? []) {
    const service = serviceOf(rl.resource);
    for (const sl of rl.scopeLogs ?? []) {
      for (const r of sl.logRecords ?? []) {
        out.push({
          service,
          time: nanosToMs(r.timeUnixNano ?? r.observedTimeUnixNano),
          severityText: r.severityText,
          body: anyValue(r.body),
          traceId: id(r.traceId),
          spanId: id(r.spanId),
        });
      }
    }
  }
  return out;
}
