// A minimal OTLP/HTTP receiver for tests. Protobuf payloads are decoded with a small wire-format
// reader driven by the field numbers of the official OTLP definitions
// (opentelemetry-proto: collector/{trace,metrics}/v1/*_service.proto, trace/v1/trace.proto,
// metrics/v1/metrics.proto, common/v1/common.proto, resource/v1/resource.proto). The installed
// @opentelemetry/otlp-transformer 0.301 no longer ships a generated protobufjs root, and this
// package does not depend on protobufjs, so the reader lives here. JSON payloads are parsed as is.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

type Fields = Map<number, (Uint8Array | bigint)[]>;

function readFields(buf: Uint8Array): Fields {
  const out: Fields = new Map();
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      if (b === undefined) throw new Error('truncated varint');
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    let value: Uint8Array | bigint;
    if (wire === 0) value = varint();
    else if (wire === 1) {
      value = new DataView(buf.buffer, buf.byteOffset + i, 8).getBigUint64(0, true);
      i += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      value = buf.subarray(i, i + len);
      i += len;
    } else if (wire === 5) {
      value = BigInt(new DataView(buf.buffer, buf.byteOffset + i, 4).getUint32(0, true));
      i += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
    const list = out.get(field) ?? [];
    list.push(value);
    out.set(field, list);
  }
  return out;
}

const text = (v: Uint8Array | bigint | undefined): string =>
  v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : '';
const hex = (v: Uint8Array | bigint | undefined): string =>
  v instanceof Uint8Array ? Buffer.from(v).toString('hex') : '';
const msgs = (f: Fields, n: number): Fields[] =>
  (f.get(n) ?? []).filter((v) => v instanceof Uint8Array).map((v) => readFields(v as Uint8Array));
const num = (v: Uint8Array | bigint | undefined): number => (typeof v === 'bigint' ? Number(v) : 0);

/** Decoded AnyValue (common.proto): string=1, bool=2, int=3, double=4. */
function anyValue(f: Fields): unknown {
  if (f.has(1)) return text(f.get(1)?.[0]);
  if (f.has(2)) return num(f.get(2)?.[0]) === 1;
  if (f.has(3)) return BigInt.asIntN(64, f.get(3)?.[0] as bigint).toString();
  if (f.has(4)) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(f.get(4)?.[0] as bigint);
    return b.readDoubleLE(0);
  }
  return undefined;
}

/** KeyValue list: key=1, value=2. */
function attributes(list: Fields[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list) out[text(kv.get(1)?.[0])] = anyValue(msgs(kv, 2)[0] ?? new Map());
  return out;
}

export interface DecodedSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

/** ExportTraceServiceRequest: resource_spans=1 → resource=1 (attributes=1), scope_spans=2 → spans=2. */
export function decodeTraces(body: Uint8Array): DecodedSpan[] {
  const spans: DecodedSpan[] = [];
  for (const rs of msgs(readFields(body), 1)) {
    const resource = attributes(msgs(msgs(rs, 1)[0] ?? new Map(), 1));
    for (const ss of msgs(rs, 2)) {
      for (const s of msgs(ss, 2)) {
        spans.push({
          traceId: hex(s.get(1)?.[0]),
          spanId: hex(s.get(2)?.[0]),
          parentSpanId: hex(s.get(4)?.[0]),
          name: text(s.get(5)?.[0]),
          kind: num(s.get(6)?.[0]),
          attributes: attributes(msgs(s, 9)),
          resource,
        });
      }
    }
  }
  return spans;
}

export interface DecodedMetric {
  name: string;
  unit: string;
  /** gauge=5, sum=7, histogram=9, exponential_histogram=10, summary=11 */
  type: 'gauge' | 'sum' | 'histogram' | 'exponential_histogram' | 'summary' | 'unknown';
  resource: Record<string, unknown>;
}

/** ExportMetricsServiceRequest: resource_metrics=1 → scope_metrics=2 → metrics=2 (name=1, unit=3). */
export function decodeMetrics(body: Uint8Array): DecodedMetric[] {
  const out: DecodedMetric[] = [];
  const types: [number, DecodedMetric['type']][] = [
    [5, 'gauge'],
    [7, 'sum'],
    [9, 'histogram'],
    [10, 'exponential_histogram'],
    [11, 'summary'],
  ];
  for (const rm of msgs(readFields(body), 1)) {
    const resource = attributes(msgs(msgs(rm, 1)[0] ?? new Map(), 1));
    for (const sm of msgs(rm, 2)) {
      for (const m of msgs(sm, 2)) {
        const type = types.find(([n]) => m.has(n))?.[1] ?? 'unknown';
        out.push({ name: text(m.get(1)?.[0]), unit: text(m.get(3)?.[0]), type, resource });
      }
    }
  }
  return out;
}

interface JsonKeyValue {
  key: string;
  value: Record<string, unknown>;
}
function jsonAttributes(list: JsonKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = Object.values(kv.value)[0];
  return out;
}

/** The OTLP/JSON encoding of the same messages (ids are hex strings there). */
export function decodeTracesJson(body: Uint8Array): DecodedSpan[] {
  const doc = JSON.parse(Buffer.from(body).toString('utf8'));
  const spans: DecodedSpan[] = [];
  for (const rs of doc.resourceSpans ?? []) {
    const resource = jsonAttributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          name: s.name,
          kind: s.kind,
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          attributes: jsonAttributes(s.attributes),
          resource,
        });
      }
    }
  }
  return spans;
}

export function decodeMetricsJson(body: Uint8Array): DecodedMetric[] {
  const doc = JSON.parse(Buffer.from(body).toString('utf8'));
  const out: DecodedMetric[] = [];
  for (const rm of doc.resourceMetrics ?? []) {
    const resource = jsonAttributes(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const type = (['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const).find(
          (t) => m[t] !== undefined,
        );
        out.push({
          name: m.name,
          unit: m.unit ?? '',
          type: type === 'exponentialHistogram' ? 'exponential_histogram' : (type ?? 'unknown'),
          resource,
        });
      }
    }
  }
  return out;
}

export interface ReceivedRequest {
  path: string;
  contentType: string;
  body: Uint8Array;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  spans(): DecodedSpan[];
  metrics(): DecodedMetric[];
  /** Resolves once `predicate` holds (polls the received requests), or rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** An OTLP/HTTP collector stand-in on 127.0.0.1:0 that accepts /v1/traces, /v1/metrics, /v1/logs. */
export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Uint8Array = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const contentType = String(req.headers['content-type'] ?? '');
      requests.push({ path: req.url ?? '', contentType, body });
      // An empty ExportServiceResponse is a success in both encodings.
      res.writeHead(200, {
        'content-type': contentType.includes('json') ? 'application/json' : 'application/x-protobuf',
      });
      res.end(contentType.includes('json') ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const decode = <T>(path: string, proto: (b: Uint8Array) => T[], json: (b: Uint8Array) => T[]): T[] =>
    requests
      .filter((r) => r.path === path)
      .flatMap((r) => (r.contentType.includes('json') ? json(r.body) : proto(r.body)));
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    spans: () => decode('/v1/traces', decodeTraces, decodeTracesJson),
    metrics: () => decode('/v1/metrics', decodeMetrics, decodeMetricsJson),
    async waitFor(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline)
          throw new Error(`receiver: condition not met within ${timeoutMs} ms (${requests.length} requests)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP endpoint that accepts connections and never answers: a hung collector. */
export async function startBlackhole(): Promise<{ url: string; close(): Promise<void> }> {
  const net = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    s.resume(); // read and discard, never write
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
