// The gRPC metadata carrier, on real grpc-js Metadata objects.
import * as grpc from '@grpc/grpc-js';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { w3cPropagator } from '@tracewire/core';
import { describe, expect, it } from 'vitest';
import { grpcMetadataGetter, grpcMetadataSetter, type MetadataLike } from '../src/index.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('grpcMetadataGetter', () => {
  it('returns one value as a string, several as an array, nothing as undefined', () => {
    const md = new grpc.Metadata();
    md.set('traceparent', TRACEPARENT);
    md.add('baggage', 'a=1');
    md.add('baggage', 'b=2');
    expect(grpcMetadataGetter.get(md, 'traceparent')).toBe(TRACEPARENT);
    expect(grpcMetadataGetter.get(md, 'TraceParent')).toBe(TRACEPARENT);
    expect(grpcMetadataGetter.get(md, 'baggage')).toEqual(['a=1', 'b=2']);
    expect(grpcMetadataGetter.get(md, 'tracestate')).toBeUndefined();
    expect(grpcMetadataGetter.keys(md).sort()).toEqual(['baggage', 'traceparent']);
  });

  it('never returns binary values and never throws', () => {
    const md = new grpc.Metadata();
    md.set('trace-bin', Buffer.from([1, 2]));
    expect(grpcMetadataGetter.get(md, 'trace-bin')).toBeUndefined();
    const broken = {
      get() {
        throw new Error('x');
      },
      set() {},
      getMap() {
        throw new Error('x');
      },
    } as MetadataLike;
    expect(grpcMetadataGetter.get(broken, 'traceparent')).toBeUndefined();
    expect(grpcMetadataGetter.keys(broken)).toEqual([]);
  });

  it('with the W3C propagator: a repeated traceparent is invalid, a single one is extracted', () => {
    const propagator = w3cPropagator();
    const once = new grpc.Metadata();
    once.set('traceparent', TRACEPARENT);
    expect(trace.getSpanContext(propagator.extract(ROOT_CONTEXT, once, grpcMetadataGetter))?.spanId).toBe(
      '00f067aa0ba902b7',
    );
    const twice = once.clone();
    twice.add('traceparent', TRACEPARENT);
    expect(trace.getSpanContext(propagator.extract(ROOT_CONTEXT, twice, grpcMetadataGetter))).toBeUndefined();
  });
});

describe('grpcMetadataSetter', () => {
  it('replaces values and lowercases keys', () => {
    const md = new grpc.Metadata();
    md.set('traceparent', 'old');
    grpcMetadataSetter.set(md, 'TraceParent', TRACEPARENT);
    expect(md.get('traceparent')).toEqual([TRACEPARENT]);
  });

  it('skips what grpc-js would throw on: illegal keys, -bin keys, CR/LF and non-ASCII values', () => {
    const md = new grpc.Metadata();
    for (const [key, value] of [
      ['bad key', 'v'],
      ['x-bin', 'v'],
      ['', 'v'],
      ['x-crlf', 'a\r\nb: c'],
      ['x-utf8', 'é'],
    ] as const) {
      expect(() => grpcMetadataSetter.set(md, key, value)).not.toThrow();
    }
    expect(md.toJSON()).toEqual({});
  });

  it('injects with the W3C propagator, baggage percent-encoded', () => {
    const md = new grpc.Metadata();
    const span = trace.wrapSpanContext({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
    });
    let ctx = trace.setSpan(context.active(), span);
    ctx = propagation.setBaggage(ctx, propagation.createBaggage({ user: { value: 'zoë\r\n' } }));
    w3cPropagator().inject(ctx, md, grpcMetadataSetter);
    expect(md.get('traceparent')).toEqual([TRACEPARENT]);
    expect(md.get('baggage')).toEqual(['user=zo%C3%AB%0D%0A']);
  });
});
