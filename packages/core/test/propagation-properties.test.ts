import {
  type BaggageEntry,
  baggageEntryMetadataFromString,
  type Context,
  propagation,
  ROOT_CONTEXT,
  type TextMapSetter,
  type TraceState,
  trace,
} from '@opentelemetry/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { httpHeaderGetter, httpHeaderSetter, w3cPropagator } from '../src/propagation/index.js';

const propagator = w3cPropagator();
const PRINTABLE = /^[\x20-\x7e]*$/;

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const tokenArb = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 20 });

/** Characters that matter to the parsers, plus some that must be rejected. */
const headerCharArb = fc.constantFrom(
  ...'0123456789abcdefABCDEF-xyz,;=% \t@*/_"\\\r\n\u0000\u007f\u00e9\u00ff\u0100\u2028'.split(''),
);
const headerStringArb = fc.oneof(
  fc.string({ unit: headerCharArb, maxLength: 120 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom(
    '00-12345678901234567890123456789012-1234567890123456-01',
    'cc-12345678901234567890123456789012-1234567890123456-03-x',
    'foo=1,bar=2',
    'k=v;p=1,j=%C3%A9',
  ),
);
const headerValueArb = fc.oneof(headerStringArb, fc.array(headerStringArb, { maxLength: 4 }), fc.anything());

/** A carrier with the three headers (often valid-looking) or anything at all. */
const carrierArb = fc.oneof(
  fc.record(
    { traceparent: headerValueArb, tracestate: headerValueArb, baggage: headerValueArb },
    { requiredKeys: [] },
  ),
  fc.anything(),
);

function recordingSetter(): { setter: TextMapSetter; written: Array<[string, unknown]> } {
  const written: Array<[string, unknown]> = [];
  return { setter: { set: (_carrier, key, value) => written.push([key, value]) }, written };
}

function entriesOf(ctx: Context): Array<[string, string, string | undefined]> {
  return (propagation.getBaggage(ctx)?.getAllEntries() ?? []).map(([k, e]) => [
    k,
    e.value,
    e.metadata?.toString(),
  ]);
}

describe('properties', () => {
  it('baggage round-trips inject -> extract for arbitrary unicode values', () => {
    fc.assert(
      fc.property(
        fc.dictionary(tokenArb, fc.string({ unit: 'binary', maxLength: 40 }), { maxKeys: 12 }),
        (record) => {
          const entries: Record<string, BaggageEntry> = Object.create(null);
          for (const [k, v] of Object.entries(record)) entries[k] = { value: v };
          const carrier: Record<string, unknown> = {};
          propagator.inject(
            propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage(entries)),
            carrier,
            httpHeaderSetter,
          );
          const extracted = propagation.getBaggage(
            propagator.extract(ROOT_CONTEXT, carrier, httpHeaderGetter),
          );
          const expected = Object.entries(record);
          expect((extracted?.getAllEntries() ?? []).map(([k, e]) => [k, e.value])).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('extract never throws and never stores anything for input without a header', () => {
    fc.assert(
      fc.property(carrierArb, (carrier) => {
        const ctx = propagator.extract(ROOT_CONTEXT, carrier, httpHeaderGetter);
        expect(typeof ctx.getValue).toBe('function');
        if (carrier === null || typeof carrier !== 'object') expect(ctx).toBe(ROOT_CONTEXT);
      }),
      { numRuns: 2000 },
    );
  });

  it('inject after extract writes only printable ASCII, and re-extracting is a fixed point', () => {
    fc.assert(
      fc.property(carrierArb, (carrier) => {
        const ctx = propagator.extract(ROOT_CONTEXT, carrier, httpHeaderGetter);
        const { setter, written } = recordingSetter();
        propagator.inject(ctx, {}, setter);
        const out: Record<string, string> = {};
        for (const [key, value] of written) {
          expect(typeof value).toBe('string');
          expect(value).toMatch(PRINTABLE);
          out[key] = value as string;
        }
        const again = propagator.extract(ROOT_CONTEXT, out, httpHeaderGetter);
        const sc1 = trace.getSpanContext(ctx);
        const sc2 = trace.getSpanContext(again);
        expect(sc2?.traceId).toBe(sc1?.traceId);
        expect(sc2?.spanId).toBe(sc1?.spanId);
        expect(sc2?.traceState?.serialize()).toBe(sc1?.traceState?.serialize());
        expect(entriesOf(again)).toEqual(entriesOf(ctx));
      }),
      { numRuns: 2000 },
    );
  });

  it('inject never writes a value outside 0x20-0x7E for arbitrary span contexts and baggage', () => {
    const anyString = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: headerCharArb, maxLength: 60 }),
    );
    const traceStateArb: fc.Arbitrary<TraceState | undefined> = fc.option(
      anyString.map((serialized) => {
        const ts: TraceState = {
          set: () => ts,
          unset: () => ts,
          get: () => undefined,
          serialize: () => serialized,
        };
        return ts;
      }),
      { nil: undefined },
    );
    const spanContextArb = fc.record({
      traceId: fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{32}$/), anyString),
      spanId: fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{16}$/), anyString),
      traceFlags: fc.oneof(fc.integer({ min: -1, max: 0x1ff }), fc.constant(Number.NaN)),
      traceState: traceStateArb,
    });
    const baggageArb = fc.array(
      fc.tuple(fc.oneof(tokenArb, anyString), anyString, fc.option(anyString, { nil: undefined })),
      { maxLength: 10 },
    );
    fc.assert(
      fc.property(spanContextArb, baggageArb, (spanContext, baggageEntries) => {
        const entries: Record<string, BaggageEntry> = Object.create(null);
        for (const [k, v, m] of baggageEntries) {
          entries[k] =
            m === undefined ? { value: v } : { value: v, metadata: baggageEntryMetadataFromString(m) };
        }
        let ctx = trace.setSpanContext(ROOT_CONTEXT, spanContext);
        ctx = propagation.setBaggage(ctx, propagation.createBaggage(entries));
        const { setter, written } = recordingSetter();
        propagator.inject(ctx, {}, setter);
        for (const [, value] of written) {
          expect(typeof value).toBe('string');
          expect(value).toMatch(PRINTABLE);
        }
        // The real header setter accepts everything the propagator writes.
        const headers: Record<string, unknown> = {};
        propagator.inject(ctx, headers, httpHeaderSetter);
        expect(Object.keys(headers)).toEqual(written.map(([key]) => key));
      }),
      { numRuns: 1000 },
    );
  });
});
