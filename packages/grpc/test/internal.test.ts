// Unit tests of the internal helpers whose inputs real calls cannot easily produce.

import type { ServerInterceptingCallInterface } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { hostOf, parsePeer, peerOf } from '../src/internal/connection.js';
import { methodName } from '../src/internal/method.js';
import { deadlinePassed, sentStatusCode, statusWithoutResponse } from '../src/internal/status.js';

describe('sentStatusCode', () => {
  const stream = (sentHeaders?: object, sentTrailers?: object) => ({ sentHeaders, sentTrailers });

  it('reads trailers first, then trailers-only headers, through nextCall links', () => {
    expect(sentStatusCode({ stream: stream({ ':status': 200 }, { 'grpc-status': 0 }) })).toBe(0);
    expect(sentStatusCode({ stream: stream({ 'grpc-status': '4' }) })).toBe(4);
    expect(sentStatusCode({ nextCall: { nextCall: { stream: stream({}, { 'grpc-status': 13 }) } } })).toBe(
      13,
    );
  });

  it('null when the stream is there but no status was sent, undefined when there is no stream', () => {
    expect(sentStatusCode({ stream: stream({ ':status': 200 }) })).toBeNull();
    expect(sentStatusCode({ stream: stream() })).toBeNull();
    expect(sentStatusCode({})).toBeUndefined();
    expect(sentStatusCode(null)).toBeUndefined();
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 20; i++) {
      const next: Record<string, unknown> = {};
      cur.nextCall = next;
      cur = next;
    }
    cur.stream = stream({ 'grpc-status': 0 });
    expect(sentStatusCode(deep)).toBeUndefined();
  });

  it('never throws on hostile shapes', () => {
    const throwing = {
      get stream() {
        throw new Error('x');
      },
    };
    expect(sentStatusCode(throwing)).toBeUndefined();
    expect(sentStatusCode({ stream: stream({ 'grpc-status': 'abc' }) })).toBeNull();
  });
});

describe('deadline', () => {
  it('DEADLINE_EXCEEDED only when a finite deadline has passed (20 ms slack), else CANCELLED', () => {
    expect(statusWithoutResponse({ getDeadline: () => Infinity })).toBe(1);
    expect(statusWithoutResponse({ getDeadline: () => Date.now() + 60_000 })).toBe(1);
    expect(statusWithoutResponse({ getDeadline: () => Date.now() - 1 })).toBe(4);
    expect(statusWithoutResponse({ getDeadline: () => new Date(Date.now() + 5) })).toBe(4);
    expect(
      deadlinePassed({
        getDeadline: () => {
          throw new Error('x');
        },
      }),
    ).toBe(false);
  });
});

describe('methodName', () => {
  it.each([
    ['/pkg.Svc/Method', 'pkg.Svc/Method'],
    ['/Svc/Method', 'Svc/Method'],
    ['/a.b.c.Svc_2/Do$It', 'a.b.c.Svc_2/Do$It'],
    ['pkg.Svc/Method', undefined],
    ['/pkg.Svc/', undefined],
    ['//Method', undefined],
    ['/a/b/c', undefined],
    ['/pkg Svc/Method', undefined],
    ['/pkg.Svc/Mé', undefined],
    [`/${'a'.repeat(200)}/${'b'.repeat(100)}`, undefined],
  ])('%s', (path, expected) => {
    expect(methodName(path)).toBe(expected);
  });
});

describe('connection accessors (grpc-js 1.10 has no getHost / getConnectionInfo)', () => {
  const asCall = (c: object) => c as unknown as ServerInterceptingCallInterface;

  it('uses getHost and getConnectionInfo where they exist', () => {
    const call = asCall({
      getHost: () => 'orders:50051',
      getConnectionInfo: () => ({ remoteAddress: '10.0.0.9', remotePort: 4000 }),
      getPeer: () => 'ignored:1',
    });
    expect(hostOf(call)).toBe('orders:50051');
    expect(peerOf(call)).toEqual({ remoteAddress: '10.0.0.9', remotePort: 4000 });
  });

  it('falls back to getPeer, and to nothing for the host', () => {
    const call = asCall({ getPeer: () => '127.0.0.1:51234' });
    expect(hostOf(call)).toBeUndefined();
    expect(peerOf(call)).toEqual({ remoteAddress: '127.0.0.1', remotePort: 51234 });
    expect(peerOf(asCall({}))).toBeUndefined();
  });

  it.each([
    ['127.0.0.1:50051', { remoteAddress: '127.0.0.1', remotePort: 50051 }],
    ['::1:50051', { remoteAddress: '::1', remotePort: 50051 }],
    ['::ffff:10.0.0.1:8080', { remoteAddress: '::ffff:10.0.0.1', remotePort: 8080 }],
    ['::1', { remoteAddress: '::1' }],
    ['10.0.0.1', { remoteAddress: '10.0.0.1' }],
    ['host:99999', { remoteAddress: 'host:99999' }],
    ['unknown', undefined],
    ['', undefined],
    [42, undefined],
  ])('parsePeer(%j)', (peer, expected) => {
    expect(parsePeer(peer)).toEqual(expected);
  });
});

describe('InFlight (rpc.*.active_requests, observed at collection)', () => {
  it('reports each series as the real SDK collects it: counts, zeros kept, bounded with an overflow series', async () => {
    const { createTelemetry } = await import('@tracewire/testing');
    const { InFlight, MAX_IN_FLIGHT_SERIES } = await import('../src/internal/in-flight.js');
    const telemetry = createTelemetry();
    try {
      const inFlight = new InFlight('_OTHER', { 'rpc.method': '_OTHER' });
      telemetry.meterProvider
        .getMeter('t')
        .createObservableUpDownCounter('in.flight')
        .addCallback((r) => inFlight.observe(r));
      const a = { 'rpc.method': 'a' };
      inFlight.add('a', a, 1);
      inFlight.add('a', a, 1);
      inFlight.add('b', { 'rpc.method': 'b' }, 1);
      inFlight.add('b', { 'rpc.method': 'b' }, -1);
      const points = await telemetry.points('in.flight');
      const value = (m: string) => points.find((p) => p.attributes['rpc.method'] === m)?.value;
      expect(value('a')).toBe(2);
      expect(value('b')).toBe(0);

      for (let i = 0; i < MAX_IN_FLIGHT_SERIES + 500; i++)
        inFlight.add(`m${i}`, { 'rpc.method': `m${i}` }, 1);
      const many = await telemetry.points('in.flight');
      expect(many.length).toBe(MAX_IN_FLIGHT_SERIES + 1);
      // 2 + 1000 - 2 series fit, the other 502 calls share _OTHER.
      expect(many.find((p) => p.attributes['rpc.method'] === '_OTHER')?.value).toBe(502);
      expect(many.reduce((n, p) => n + p.value, 0)).toBe(2 + MAX_IN_FLIGHT_SERIES + 500);
    } finally {
      await telemetry.shutdown();
    }
  });
});
