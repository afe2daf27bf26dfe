import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { type Context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractContext, injectContext } from '../src/propagation/index.js';

const TRACE_ID = '12345678901234567890123456789012';
const SPAN_ID = '1234567890123456';
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;
const OTHER = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;

interface Received {
  headers: IncomingHttpHeaders;
  distinct: NodeJS.Dict<string[]>;
  ctx: Context;
  distinctCtx: Context;
}

let server: http.Server;
let port: number;
const received: Received[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    received.push({
      headers: req.headers,
      distinct: req.headersDistinct,
      ctx: extractContext(req.headers, { context: ROOT_CONTEXT }),
      distinctCtx: extractContext(req.headersDistinct, { context: ROOT_CONTEXT }),
    });
    res.setHeader('connection', 'close');
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Sends a request with raw header lines (duplicates kept as separate lines) over a plain socket. */
async function rawRequest(headerLines: Array<[string, string]>): Promise<Received> {
  const before = received.length;
  const lines = [`GET / HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close'];
  for (const [name, value] of headerLines) lines.push(`${name}: ${value}`);
  const request = `${lines.join('\r\n')}\r\n\r\n`;
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(request));
    let response = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      response += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (response.startsWith('HTTP/1.1 200')) resolve();
      else reject(new Error(`unexpected response: ${response.slice(0, 40)}`));
    });
  });
  const entry = received[before];
  if (entry === undefined) throw new Error('request not received');
  return entry;
}

describe('real node:http server with repeated header lines', () => {
  it('restarts on two traceparent lines (Node joins them with ", ")', async () => {
    const r = await rawRequest([
      ['traceparent', VALID],
      ['traceparent', OTHER],
      ['tracestate', 'foo=1'],
    ]);
    expect(r.headers.traceparent).toBe(`${VALID}, ${OTHER}`);
    expect(trace.getSpanContext(r.ctx)).toBeUndefined();
    expect(r.ctx).toBe(ROOT_CONTEXT);
    expect(r.distinct.traceparent).toEqual([VALID, OTHER]);
    expect(trace.getSpanContext(r.distinctCtx)).toBeUndefined();
  });

  it('restarts even when both traceparent lines are identical', async () => {
    const r = await rawRequest([
      ['traceparent', VALID],
      ['Traceparent', VALID],
    ]);
    expect(trace.getSpanContext(r.ctx)).toBeUndefined();
    expect(trace.getSpanContext(r.distinctCtx)).toBeUndefined();
  });

  it('combines three tracestate lines in order', async () => {
    const r = await rawRequest([
      ['traceparent', VALID],
      ['tracestate', 'foo=1'],
      ['TraceState', 'bar=2,baz=3'],
      ['tracestate', 'qux=4'],
    ]);
    expect(r.headers.tracestate).toBe('foo=1, bar=2,baz=3, qux=4');
    const sc = trace.getSpanContext(r.ctx);
    expect(sc?.traceId).toBe(TRACE_ID);
    expect(sc?.traceState?.serialize()).toBe('foo=1,bar=2,baz=3,qux=4');
    expect(trace.getSpanContext(r.distinctCtx)?.traceState?.serialize()).toBe('foo=1,bar=2,baz=3,qux=4');
  });

  it('applies the 33-member rule to the combination of tracestate lines', async () => {
    const members = Array.from({ length: 33 }, (_, i) => `k${i}=${i}`);
    const r = await rawRequest([
      ['traceparent', VALID],
      ['tracestate', members.slice(0, 20).join(',')],
      ['tracestate', members.slice(20).join(',')],
    ]);
    const sc = trace.getSpanContext(r.ctx);
    expect(sc?.traceId).toBe(TRACE_ID);
    expect(sc?.traceState).toBeUndefined();
  });

  it('processes baggage split over several lines as one list with one budget', async () => {
    const line = (k: string): string => `${k}=${'x'.repeat(3000)}`;
    const r = await rawRequest([
      ['baggage', 'a=1,b=2'],
      ['baggage', line('c')],
      ['baggage', line('d')],
      ['baggage', line('e')],
      ['baggage', 'f=6'],
    ]);
    // Joined with ", ": a=1,b=2 (7) + 2 + 3002 + 2 + 3002 = 6015 fit; e ends at 9019 > 8192.
    const keys = (ctx: Context): string[] =>
      (propagation.getBaggage(ctx)?.getAllEntries() ?? []).map(([k]) => k);
    expect(keys(r.ctx)).toEqual(['a', 'b', 'c', 'd']);
    expect(keys(r.distinctCtx)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('applies the 180-member limit across baggage lines', async () => {
    const many = (prefix: string): string =>
      Array.from({ length: 100 }, (_, i) => `${prefix}${i}=1`).join(',');
    const r = await rawRequest([
      ['baggage', many('a')],
      ['baggage', many('b')],
    ]);
    const entries = propagation.getBaggage(r.ctx)?.getAllEntries() ?? [];
    expect(entries).toHaveLength(180);
    expect(entries.at(-1)?.[0]).toBe('b79');
  });

  it('accepts what injectContext writes into http.request headers', async () => {
    const ctx = extractContext(
      { traceparent: VALID, tracestate: 'foo=1', baggage: 'k=a%20b' },
      { context: ROOT_CONTEXT },
    );
    const headers: Record<string, unknown> = {};
    injectContext(headers, { context: ctx });
    const before = received.length;
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/', headers: headers as http.OutgoingHttpHeaders },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
    const r = received[before];
    expect(r?.headers.traceparent).toBe(VALID);
    expect(r?.headers.tracestate).toBe('foo=1');
    expect(r?.headers.baggage).toBe('k=a%20b');
    expect(propagation.getBaggage(r!.ctx)?.getEntry('k')?.value).toBe('a b');
  });
});
