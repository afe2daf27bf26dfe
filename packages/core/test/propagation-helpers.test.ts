import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type TextMapPropagator,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { extractContext, injectContext, resolvePropagator, w3cPropagator } from '../src/propagation/index.js';

const TRACE_ID = '12345678901234567890123456789012';
const SPAN_ID = '1234567890123456';
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

/** A propagator with a unique field, to see which one was used. */
function markerPropagator(name: string): TextMapPropagator {
  return {
    inject: (_ctx, carrier, setter) => setter.set(carrier, name, '1'),
    extract: (ctx) => ctx.setValue(Symbol.for(name), true),
    fields: () => [name],
  };
}

afterEach(() => {
  propagation.disable();
  context.disable();
});

describe('resolvePropagator', () => {
  it('returns the explicit propagator', () => {
    const explicit = markerPropagator('x-explicit');
    propagation.setGlobalPropagator(markerPropagator('x-global'));
    expect(resolvePropagator(explicit)).toBe(explicit);
  });

  it('returns a shared built-in W3C propagator when the global one is the no-op', () => {
    propagation.disable();
    const first = resolvePropagator();
    expect(first).toBe(resolvePropagator());
    expect(first).not.toBe(propagation);
    expect(first.fields()).toEqual(['traceparent', 'tracestate', 'baggage']);
    expect(resolvePropagator(undefined)).toBe(first);
  });

  it('uses a registered global propagator', () => {
    propagation.setGlobalPropagator(markerPropagator('x-global'));
    const resolved = resolvePropagator();
    expect(resolved.fields()).toEqual(['x-global']);
    const carrier: Record<string, unknown> = {};
    resolved.inject(ROOT_CONTEXT, carrier, { set: (c, k, v) => Object.assign(c, { [k]: v }) });
    expect(carrier).toEqual({ 'x-global': '1' });
    // After disabling it, resolution falls back to the built-in.
    propagation.disable();
    expect(resolvePropagator().fields()).toEqual(['traceparent', 'tracestate', 'baggage']);
  });

  it('treats a throwing global propagator as absent', () => {
    propagation.setGlobalPropagator({
      inject: () => undefined,
      extract: (ctx) => ctx,
      fields: () => {
        throw new Error('boom');
      },
    });
    expect(resolvePropagator().fields()).toEqual(['traceparent', 'tracestate', 'baggage']);
  });
});

describe('injectContext / extractContext', () => {
  it('round-trips through plain header objects with the built-in propagator', () => {
    const ctx = extractContext(
      { traceparent: VALID, tracestate: 'a=1', baggage: 'k=v' },
      { context: ROOT_CONTEXT },
    );
    expect(trace.getSpanContext(ctx)).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, isRemote: true });
    const headers: Record<string, unknown> = {};
    injectContext(headers, { context: ctx });
    expect(headers).toEqual({ traceparent: VALID, tracestate: 'a=1', baggage: 'k=v' });
  });

  it('defaults to the active context', () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const remote = extractContext({ traceparent: VALID }, { context: ROOT_CONTEXT });
    context.with(remote, () => {
      const headers: Record<string, unknown> = {};
      injectContext(headers);
      expect(headers).toEqual({ traceparent: VALID });
      const base = context.active();
      const extracted = extractContext({});
      expect(extracted).toBe(base);
    });
  });

  it('uses the registered global propagator', () => {
    propagation.setGlobalPropagator(
      new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    );
    const ctx = extractContext({ traceparent: VALID }, { context: ROOT_CONTEXT });
    expect(trace.getSpanContext(ctx)?.traceId).toBe(TRACE_ID);
    const viaCore: Record<string, unknown> = {};
    injectContext(viaCore, { context: ctx });
    expect(viaCore).toEqual({ traceparent: VALID });
    propagation.disable();
    propagation.setGlobalPropagator(markerPropagator('x-global'));
    const headers: Record<string, unknown> = {};
    injectContext(headers, { context: ctx });
    expect(headers).toEqual({ 'x-global': '1' });
    expect(extractContext({}, { context: ROOT_CONTEXT }).getValue(Symbol.for('x-global'))).toBe(true);
  });

  it('uses explicit propagator, getter and setter', () => {
    const headers: Record<string, unknown> = {};
    const seen: string[] = [];
    injectContext(headers, {
      context: extractContext({ traceparent: VALID }, { context: ROOT_CONTEXT }),
      propagator: w3cPropagator({ baggage: false }),
      setter: { set: (_c: unknown, key: string) => seen.push(key) },
    });
    expect(seen).toEqual(['traceparent']);
    const ctx = extractContext(new Map([['traceparent', VALID]]), {
      context: ROOT_CONTEXT,
      getter: {
        keys: (m: Map<string, string>) => [...m.keys()],
        get: (m: Map<string, string>, k: string) => m.get(k),
      },
    });
    expect(trace.getSpanContext(ctx)?.spanId).toBe(SPAN_ID);
  });

  it('never throws, even with a throwing or misbehaving propagator', () => {
    const throwing: TextMapPropagator = {
      inject: () => {
        throw new Error('boom');
      },
      extract: () => {
        throw new Error('boom');
      },
      fields: () => ['x'],
    };
    const base = ROOT_CONTEXT.setValue(Symbol('base'), 1);
    expect(() => injectContext({}, { propagator: throwing, context: base })).not.toThrow();
    expect(extractContext({}, { propagator: throwing, context: base })).toBe(base);
    const garbage: TextMapPropagator = {
      inject: () => undefined,
      extract: () => 'not a context' as unknown as Context,
      fields: () => [],
    };
    expect(extractContext({}, { propagator: garbage, context: base })).toBe(base);
    expect(() => injectContext(null as never)).not.toThrow();
    expect(extractContext(null, { context: base })).toBe(base);
    expect(extractContext(undefined, { context: base })).toBe(base);
  });
});
