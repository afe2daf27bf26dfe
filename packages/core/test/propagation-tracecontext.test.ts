import {
  type Context,
  ROOT_CONTEXT,
  type SpanContext,
  TraceFlags,
  type TraceState,
  trace,
} from '@opentelemetry/api';
import {
  TraceState as CoreTraceState,
  suppressTracing,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { describe, expect, it } from 'vitest';
import {
  httpHeaderGetter,
  httpHeaderSetter,
  TRACERESPONSE_HEADER,
  TRACESTATE_MAX_KEY_LENGTH,
  TRACESTATE_MAX_MEMBERS,
  TRACESTATE_MAX_VALUE_LENGTH,
  traceResponseHeaderValue,
  w3cPropagator,
} from '../src/propagation/index.js';
import { parseTraceparent } from '../src/propagation/traceparent.js';
import { parseTraceState, W3CTraceState } from '../src/propagation/tracestate.js';

const TRACE_ID = '12345678901234567890123456789012';
const SPAN_ID = '1234567890123456';
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

const propagator = w3cPropagator();

function extract(
  headers: Record<string, string | string[] | undefined>,
  ctx: Context = ROOT_CONTEXT,
): Context {
  return propagator.extract(ctx, headers, httpHeaderGetter);
}

function extractSpanContext(headers: Record<string, string | string[] | undefined>): SpanContext | undefined {
  return trace.getSpanContext(extract(headers));
}

function inject(ctx: Context): Record<string, unknown> {
  const carrier: Record<string, unknown> = {};
  propagator.inject(ctx, carrier, httpHeaderSetter);
  return carrier;
}

function contextWith(spanContext: SpanContext): Context {
  return trace.setSpanContext(ROOT_CONTEXT, spanContext);
}

/** Extracts and re-injects, as a service in the middle of a trace would (the W3C harness' view). */
function roundTrip(headers: Record<string, string | string[] | undefined>): Record<string, unknown> {
  return inject(extract(headers));
}

function expectRestart(traceparent: string | string[], tracestate?: string): void {
  const headers = { traceparent, tracestate };
  const ctx = extract(headers);
  expect(ctx).toBe(ROOT_CONTEXT);
  expect(parseTraceparent(traceparent)).toBeUndefined();
}

describe('traceparent: valid input', () => {
  it('extracts a version 00 traceparent as a remote span context', () => {
    expect(extractSpanContext({ traceparent: VALID })).toEqual({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
  });

  it('re-injects the same traceparent', () => {
    expect(roundTrip({ traceparent: VALID })).toEqual({ traceparent: VALID });
    const unsampled = `00-${TRACE_ID}-${SPAN_ID}-00`;
    expect(roundTrip({ traceparent: unsampled })).toEqual({ traceparent: unsampled });
  });

  it('accepts a one-element array (one header line)', () => {
    expect(extractSpanContext({ traceparent: [VALID] })?.traceId).toBe(TRACE_ID);
  });

  it('ignores OWS (spaces and tabs) around the value', () => {
    expect(extractSpanContext({ traceparent: ` \t${VALID}\t ` })?.spanId).toBe(SPAN_ID);
  });

  it('does not treat other whitespace as OWS', () => {
    expectRestart(`\u00a0${VALID}`);
    expectRestart(`${VALID}\n`);
    expectRestart(`${VALID}\r`);
    expectRestart(`\v${VALID}`);
  });
});

describe('traceparent: versions', () => {
  it('rejects version ff', () => {
    expectRestart(`ff-${TRACE_ID}-${SPAN_ID}-01`);
    expectRestart(`ff-${TRACE_ID}-${SPAN_ID}-01-extra`);
  });

  it('continues a future version (cc) parsed by its version 00 prefix, re-emitted as 00', () => {
    for (const value of [
      `cc-${TRACE_ID}-${SPAN_ID}-01`,
      `cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-will-be-like`,
      `cc-${TRACE_ID}-${SPAN_ID}-01-`,
    ]) {
      expect(roundTrip({ traceparent: value })).toEqual({ traceparent: VALID });
    }
  });

  it('restarts a future version whose 55th character is not a dash, or that is too short', () => {
    expectRestart(`cc-${TRACE_ID}-${SPAN_ID}-01.what-the-future-will-be-like`);
    expectRestart(`cc-${TRACE_ID}-${SPAN_ID}-01what`);
    expectRestart(`cc-${TRACE_ID}-${SPAN_ID}-1`);
    expectRestart(`cc-${TRACE_ID}-${SPAN_ID.slice(1)}-01-future`);
  });

  it('restarts version 00 with trailing data', () => {
    expectRestart(`${VALID}.`);
    expectRestart(`${VALID}-`);
    expectRestart(`${VALID}-x`);
    expectRestart(`${VALID}-what-the-future-will-be-like`);
  });

  it('rejects an invalid version field', () => {
    expectRestart(`0-${TRACE_ID}-${SPAN_ID}-01x`);
    expectRestart(`0g-${TRACE_ID}-${SPAN_ID}-01`);
    expectRestart(`0A-${TRACE_ID}-${SPAN_ID}-01`);
    expectRestart(`.0-${TRACE_ID}-${SPAN_ID}-01`);
  });
});

describe('traceparent: invalid input restarts the trace', () => {
  it('restarts on a duplicated traceparent (array or Node-joined)', () => {
    const other = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    expectRestart([VALID, other]);
    expectRestart([VALID, VALID]);
    expectRestart(`${VALID}, ${other}`);
    expectRestart(`${VALID},${VALID}`);
    expectRestart([]);
  });

  it('restarts on all-zero trace-id or parent-id', () => {
    expectRestart(`00-${'0'.repeat(32)}-${SPAN_ID}-01`);
    expectRestart(`00-${TRACE_ID}-${'0'.repeat(16)}-01`);
    expectRestart(`00-${'0'.repeat(32)}-${'0'.repeat(16)}-00`);
  });

  it('restarts on illegal characters', () => {
    const illegal = ['.', 'g', 'z', '-', ' ', '\u00e9', '\u0000', '+'];
    for (const c of illegal) {
      expectRestart(`00-${c}${TRACE_ID.slice(1)}-${SPAN_ID}-01`);
      expectRestart(`00-${TRACE_ID}-${SPAN_ID.slice(0, 15)}${c}-01`);
      expectRestart(`00-${TRACE_ID}-${SPAN_ID}-0${c}`);
    }
    expectRestart(`00_${TRACE_ID}-${SPAN_ID}-01`);
    expectRestart(`00-${TRACE_ID}_${SPAN_ID}-01`);
    expectRestart(`00-${TRACE_ID}-${SPAN_ID}_01`);
  });

  it('restarts on uppercase hex in any field', () => {
    expectRestart(`00-${'ABCDEF'.padEnd(32, '1')}-${SPAN_ID}-01`);
    expectRestart(`00-${TRACE_ID}-${'ABCDEF'.padEnd(16, '1')}-01`);
    expectRestart(`00-${TRACE_ID}-${SPAN_ID}-0A`);
    expectRestart(`0A-${TRACE_ID}-${SPAN_ID}-01`);
  });

  it('restarts on too long or too short values and fields', () => {
    expectRestart(VALID.slice(0, 54));
    expectRestart(`${VALID}0`);
    expectRestart(`00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`);
    expectRestart(`00-${TRACE_ID}1-${SPAN_ID}-01`);
    expectRestart(`00-${TRACE_ID}-${SPAN_ID.slice(1)}-01`);
    expectRestart(`00-${TRACE_ID}-${SPAN_ID}1-01`);
    expectRestart(`00-${TRACE_ID}-${SPAN_ID}-1`);
    expectRestart(`00-${TRACE_ID}-${SPAN_ID}-001`);
    expectRestart('');
    expectRestart('   ');
  });

  it('returns the input context itself (no new value stored) and drops tracestate', () => {
    const base = ROOT_CONTEXT.setValue(Symbol('k'), 1);
    const out = propagator.extract(base, { traceparent: `${VALID}.`, tracestate: 'foo=1' }, httpHeaderGetter);
    expect(out).toBe(base);
  });

  it('ignores non-string values', () => {
    const carriers: unknown[] = [
      { traceparent: 42 },
      { traceparent: [42] },
      { traceparent: null },
      { traceparent: { toString: () => VALID } },
      null,
      undefined,
      'traceparent',
    ];
    for (const carrier of carriers) {
      expect(propagator.extract(ROOT_CONTEXT, carrier, httpHeaderGetter)).toBe(ROOT_CONTEXT);
    }
  });
});

describe('trace-flags', () => {
  it('keeps all received bits on extract', () => {
    expect(extractSpanContext({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-ff` })?.traceFlags).toBe(0xff);
    expect(extractSpanContext({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-02` })?.traceFlags).toBe(0x02);
  });

  it('propagates the random flag (0x02)', () => {
    for (const flags of ['02', '03']) {
      const value = `00-${TRACE_ID}-${SPAN_ID}-${flags}`;
      expect(roundTrip({ traceparent: value })).toEqual({ traceparent: value });
    }
  });

  it('zeroes unknown flag bits on inject', () => {
    const cases: Array<[string, string]> = [
      ['ff', '03'],
      ['09', '01'],
      ['fc', '00'],
      ['80', '00'],
      ['0e', '02'],
    ];
    for (const [received, sent] of cases) {
      expect(roundTrip({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-${received}` })).toEqual({
        traceparent: `00-${TRACE_ID}-${SPAN_ID}-${sent}`,
      });
    }
  });
});

describe('tracestate: extraction', () => {
  const traceStateOf = (tracestate: string | string[] | undefined): TraceState | undefined =>
    extractSpanContext({ traceparent: VALID, tracestate })?.traceState;
  // Per-member dropping (the `tracestate: 'drop-invalid-members'` option); strict is the default and
  // has its own suite (propagation-w3c-strict.test.ts).
  const lenient = w3cPropagator({ tracestate: 'drop-invalid-members' });
  const lenientTraceStateOf = (tracestate: string | string[] | undefined): TraceState | undefined =>
    trace.getSpanContext(lenient.extract(ROOT_CONTEXT, { traceparent: VALID, tracestate }, httpHeaderGetter))
      ?.traceState;

  it('is not parsed without a traceparent', () => {
    const ctx = extract({ tracestate: 'foo=1' });
    expect(ctx).toBe(ROOT_CONTEXT);
    expect(roundTrip({ tracestate: 'foo=1' })).toEqual({});
  });

  it('keeps a valid traceparent next to an invalid tracestate', () => {
    for (const tracestate of ['foo', '=1', 'FOO=1', 'foo=bar=baz', '\u00e9=1', 'x'.repeat(10_000)]) {
      const sc = extractSpanContext({ traceparent: VALID, tracestate });
      expect(sc?.traceId).toBe(TRACE_ID);
      expect(sc?.traceState).toBeUndefined();
      expect(roundTrip({ traceparent: VALID, tracestate })).toEqual({ traceparent: VALID });
    }
  });

  it('parses members in order and re-emits them', () => {
    expect(roundTrip({ traceparent: VALID, tracestate: 'foo=1,bar=2' })).toEqual({
      traceparent: VALID,
      tracestate: 'foo=1,bar=2',
    });
  });

  it('combines multiple header lines in order', () => {
    const ts = traceStateOf(['foo=1', 'bar=2,baz=3', 'qux=4']);
    expect(ts?.serialize()).toBe('foo=1,bar=2,baz=3,qux=4');
  });

  it('handles OWS and empty members', () => {
    expect(traceStateOf('foo=1 \t , \t bar=2, \t baz=3')?.serialize()).toBe('foo=1,bar=2,baz=3');
    expect(traceStateOf(',foo=1,, ,\t,bar=2,')?.serialize()).toBe('foo=1,bar=2');
    expect(traceStateOf(['', ' ', 'foo=1'])?.serialize()).toBe('foo=1');
    expect(traceStateOf('')).toBeUndefined();
    expect(traceStateOf(' , , ')).toBeUndefined();
  });

  it('keeps 32 members in order', () => {
    const members = Array.from(
      { length: TRACESTATE_MAX_MEMBERS },
      (_, i) => `bar${String(i + 1).padStart(2, '0')}=${i + 1}`,
    );
    const ts = traceStateOf(members.join(','));
    expect(ts?.serialize()).toBe(members.join(','));
    expect(ts?.get('bar01')).toBe('1');
    expect(ts?.get('bar32')).toBe('32');
    // Empty members do not count.
    expect(traceStateOf(`,,${members.join(', ,')},,`)?.serialize()).toBe(members.join(','));
  });

  it('discards the whole tracestate for 33 members (the W3C harness expectation)', () => {
    const members = Array.from({ length: 33 }, (_, i) => `bar${String(i + 1).padStart(2, '0')}=${i + 1}`);
    const sc = extractSpanContext({ traceparent: VALID, tracestate: members.join(',') });
    expect(sc?.traceId).toBe(TRACE_ID);
    expect(sc?.traceState).toBeUndefined();
    // Also when split across lines, and when the extra members are invalid ones.
    expect(traceStateOf([members.slice(0, 16).join(','), members.slice(16).join(',')])).toBeUndefined();
    expect(traceStateOf([...members.slice(0, 32), 'INVALID'].join(','))).toBeUndefined();
  });

  it('drop-invalid-members: keeps the first occurrence of a duplicated key', () => {
    const ts = lenientTraceStateOf('foo=1,bar=2,foo=3');
    expect(ts?.get('foo')).toBe('1');
    expect(ts?.serialize()).toBe('foo=1,bar=2');
    expect(lenientTraceStateOf('foo=1,foo=1')?.serialize()).toBe('foo=1');
  });

  it('drop-invalid-members: enforces the key length limit per member', () => {
    const key256 = 'z'.repeat(TRACESTATE_MAX_KEY_LENGTH);
    expect(lenientTraceStateOf(`foo=1,${key256}=1`)?.get(key256)).toBe('1');
    expect(lenientTraceStateOf(`foo=1,${key256}z=1`)?.serialize()).toBe('foo=1');
    // Multi-tenant keys: tenant-id up to 241, system-id up to 14 characters.
    const tenant241 = `t${'1'.repeat(240)}`;
    expect(lenientTraceStateOf(`${tenant241}@${'s'.repeat(14)}=1`)?.serialize()).toBe(
      `${tenant241}@${'s'.repeat(14)}=1`,
    );
    expect(lenientTraceStateOf(`${tenant241}1@s=1`)).toBeUndefined();
    expect(lenientTraceStateOf(`t@${'s'.repeat(15)}=1`)).toBeUndefined();
  });

  it('drop-invalid-members: validates key characters and the vendor format per member', () => {
    for (const key of [
      'FOO',
      'foo.bar',
      'foo @',
      '@foo',
      'foo@',
      'foo@@bar',
      'foo@1bar',
      '1foo',
      '_foo',
      'fo o',
    ]) {
      expect(lenientTraceStateOf(`${key}=1,ok=2`)?.serialize()).toBe('ok=2');
    }
    for (const key of ['foo', 'f00_-*/', 'tenant@system', '1tenant@sys', 'a@b']) {
      expect(lenientTraceStateOf(`${key}=1`)?.get(key)).toBe('1');
    }
  });

  it('drop-invalid-members: validates value characters and length per member', () => {
    expect(lenientTraceStateOf('foo=bar=baz,ok=1')?.serialize()).toBe('ok=1');
    expect(lenientTraceStateOf('foo=,ok=1')?.serialize()).toBe('ok=1');
    expect(lenientTraceStateOf('foo=\u00e9,ok=1')?.serialize()).toBe('ok=1');
    expect(lenientTraceStateOf('foo=a\u0001b,ok=1')?.serialize()).toBe('ok=1');
    expect(lenientTraceStateOf('foo=a\tb,ok=1')?.serialize()).toBe('ok=1');
    const value256 = 'v'.repeat(TRACESTATE_MAX_VALUE_LENGTH);
    expect(lenientTraceStateOf(`foo=${value256}`)?.get('foo')).toBe(value256);
    expect(lenientTraceStateOf(`foo=${value256}v,ok=1`)?.serialize()).toBe('ok=1');
    // Spaces inside a value are allowed, trailing ones are OWS.
    expect(lenientTraceStateOf('foo=a b ,bar= c')?.serialize()).toBe('foo=a b,bar= c');
    expect(lenientTraceStateOf('foo=!"#$%&\'()*+-./:;<>?@[\\]^_`{|}~')?.get('foo')).toBe(
      '!"#$%&\'()*+-./:;<>?@[\\]^_`{|}~',
    );
  });

  it('bounds the work on huge headers', () => {
    const start = performance.now();
    const huge = `foo=1,${'x'.repeat(1_000_000)}`;
    expect(traceStateOf(huge)?.serialize()).toBe('foo=1');
    expect(traceStateOf(['foo=1', ...Array.from({ length: 100_000 }, () => ' ')])?.serialize()).toBe('foo=1');
    // 100k members: more than 32 within the budget, so the list is discarded.
    expect(traceStateOf(Array.from({ length: 100_000 }, (_, i) => `k${i}=1`).join(','))).toBeUndefined();
    const members = `foo=1,${Array.from({ length: 200_000 }, () => '').join(',')}bar=2`;
    // `bar=2` lies past the 8192-byte scan budget.
    expect(traceStateOf(members)?.serialize()).toBe('foo=1');
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('scans exactly the first 8192 characters, never a partial member', () => {
    // Members of 260 characters: 31 of them (with commas) end within 8192, the 32nd crosses it.
    const members = Array.from({ length: 32 }, (_, i) => `k${String(i).padStart(2, '0')}=${'v'.repeat(256)}`);
    const result = parseTraceState(members.join(','));
    expect(result.truncated).toBe(true);
    expect(result.discarded).toBe(false);
    expect(result.traceState?.entries().map(([k]) => k)).toEqual(
      members.slice(0, 31).map((m) => m.slice(0, 3)),
    );
    // A list ending exactly at the budget is complete.
    const exact = `a=${'v'.repeat(256)},`.repeat(31) + `b=${'w'.repeat(8192 - 31 * 259 - 2)}`;
    expect(exact.length).toBe(8192);
    // (Its keys repeat: per-member mode, so that only the budget is under test.)
    const exactResult = parseTraceState(exact, 'drop-invalid-members');
    expect(exactResult.truncated).toBe(false);
    expect(parseTraceState(`${exact},`, 'drop-invalid-members').truncated).toBe(true);
  });
});

describe('W3CTraceState', () => {
  const base = (): TraceState => W3CTraceState.empty().set('c', '3').set('b', '2').set('a', '1');

  it('set moves the key to the front and is immutable', () => {
    const ts = base();
    expect(ts.serialize()).toBe('a=1,b=2,c=3');
    const moved = ts.set('c', '33');
    expect(moved.serialize()).toBe('c=33,a=1,b=2');
    expect(ts.serialize()).toBe('a=1,b=2,c=3');
  });

  it('set ignores invalid keys and values', () => {
    const ts = base();
    expect(ts.set('A', '1')).toBe(ts);
    expect(ts.set('a', 'x,y')).toBe(ts);
    expect(ts.set('a', '')).toBe(ts);
    expect(ts.set('a', 'x ')).toBe(ts);
    expect(ts.set('a\r\n', '1')).toBe(ts);
    expect(ts.set('a', 'x\r\ny')).toBe(ts);
    expect(ts.set(undefined as unknown as string, '1')).toBe(ts);
  });

  it('unset and get', () => {
    const ts = base();
    expect(ts.unset('b').serialize()).toBe('a=1,c=3');
    expect(ts.unset('zz')).toBe(ts);
    expect(ts.get('a')).toBe('1');
    expect(ts.get('zz')).toBeUndefined();
    expect(ts.unset('a').unset('b').unset('c').serialize()).toBe('');
  });

  it('keeps at most 32 entries, dropping from the right', () => {
    let ts: TraceState = W3CTraceState.empty();
    for (let i = 0; i < 40; i++) ts = ts.set(`k${i}`, `${i}`);
    const keys = ts
      .serialize()
      .split(',')
      .map((m) => m.split('=')[0]);
    expect(keys).toHaveLength(32);
    expect(keys[0]).toBe('k39');
    expect(keys[31]).toBe('k8');
  });

  it('truncates serialize() to 512 characters: large members first, then from the right', () => {
    const large = 'l'.repeat(195); // `bigN=` + 195 = 200 characters
    // 4 small members of 10 characters and 3 large ones of 200: 40 + 600 + 6 commas = 646 > 512.
    let ts: TraceState = W3CTraceState.empty();
    ts = ts.set('s1', '1234567').set('big1', large).set('s2', '1234567').set('big2', large);
    ts = ts.set('s3', '1234567').set('big3', large).set('s4', '1234567');
    // Removing the rightmost large member (big1) is enough: 646 - 201 = 445.
    expect(
      ts
        .serialize()
        .split(',')
        .map((m) => m.split('=')[0]),
    ).toEqual(['s4', 'big3', 's3', 'big2', 's2', 's1']);

    // All large members go before any small one: 3 large + 30 small of 10 characters = 600 + 300 + 32 > 512.
    let mixed: TraceState = W3CTraceState.empty();
    for (let i = 0; i < 3; i++) mixed = mixed.set(`big${i}`, large);
    for (let i = 0; i < 29; i++) mixed = mixed.set(`s${String(i).padStart(2, '0')}`, '123456');
    const kept = mixed.serialize();
    expect(kept.length).toBeLessThanOrEqual(512);
    expect(kept).not.toContain('big');
    expect(kept.split(',')).toHaveLength(29);

    // Without large members: drop from the right only.
    let small: TraceState = W3CTraceState.empty();
    for (let i = 0; i < 32; i++) small = small.set(`key${String(i).padStart(2, '0')}`, 'v'.repeat(20));
    const serialized = small.serialize();
    expect(serialized.length).toBeLessThanOrEqual(512);
    const members = serialized.split(',');
    // 26 characters per member plus a comma: 19 members fit (19 * 27 - 1 = 512).
    expect(members).toHaveLength(19);
    expect(members[0]?.startsWith('key31=')).toBe(true);
    expect(members.at(-1)?.startsWith('key13=')).toBe(true);
  });
});

describe('inject', () => {
  it('injects traceparent and tracestate of a valid span context', () => {
    const traceState = W3CTraceState.empty().set('b', '2').set('a', '1');
    const carrier = inject(
      contextWith({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, traceState }),
    );
    expect(carrier).toEqual({ traceparent: VALID, tracestate: 'a=1,b=2' });
  });

  it('does not inject an empty tracestate', () => {
    const carrier = inject(
      contextWith({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, traceState: W3CTraceState.empty() }),
    );
    expect(carrier).toEqual({ traceparent: VALID });
  });

  it('injects nothing for an invalid span context or none', () => {
    expect(inject(ROOT_CONTEXT)).toEqual({});
    expect(inject(contextWith({ traceId: '0'.repeat(32), spanId: SPAN_ID, traceFlags: 1 }))).toEqual({});
    expect(inject(contextWith({ traceId: 'x'.repeat(32), spanId: SPAN_ID, traceFlags: 1 }))).toEqual({});
    expect(inject(contextWith({ traceId: TRACE_ID, spanId: '', traceFlags: 1 }))).toEqual({});
  });

  it('emits lowercase ids', () => {
    const carrier = inject(
      contextWith({ traceId: TRACE_ID.replace('1', 'A'), spanId: 'ABCDEF0123456789', traceFlags: 1 }),
    );
    expect(carrier.traceparent).toBe(`00-${TRACE_ID.replace('1', 'a')}-abcdef0123456789-01`);
  });

  it('injects nothing while tracing is suppressed', () => {
    const ctx = suppressTracing(contextWith({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 }));
    expect(inject(ctx)).toEqual({});
  });

  it('re-validates a foreign TraceState implementation', () => {
    const foreign: TraceState = {
      set: () => foreign,
      unset: () => foreign,
      get: () => undefined,
      serialize: () => 'ok=1,BAD=2,x=\r\nInjected: yes,ok=3,fine=4',
    };
    const carrier = inject(
      contextWith({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, traceState: foreign }),
    );
    expect(carrier).toEqual({ traceparent: VALID, tracestate: 'ok=1,fine=4' });

    const core = new CoreTraceState('a=1,b=2');
    expect(
      inject(contextWith({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, traceState: core })),
    ).toEqual({
      traceparent: VALID,
      tracestate: 'a=1,b=2',
    });
  });

  it('never throws on a throwing TraceState or setter', () => {
    const throwing: TraceState = {
      set: () => throwing,
      unset: () => throwing,
      get: () => undefined,
      serialize: () => {
        throw new Error('boom');
      },
    };
    const ctx = contextWith({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, traceState: throwing });
    expect(inject(ctx)).toEqual({ traceparent: VALID });
    expect(() =>
      propagator.inject(
        ctx,
        {},
        {
          set: () => {
            throw new Error('boom');
          },
        },
      ),
    ).not.toThrow();
  });
});

describe('fields and options', () => {
  it('returns cached frozen field lists', () => {
    expect(propagator.fields()).toEqual(['traceparent', 'tracestate', 'baggage']);
    expect(propagator.fields()).toBe(propagator.fields());
    expect(Object.isFrozen(propagator.fields())).toBe(true);
    expect(w3cPropagator({ baggage: false }).fields()).toEqual(['traceparent', 'tracestate']);
    expect(w3cPropagator({ traceContext: false }).fields()).toEqual(['baggage']);
    expect(w3cPropagator({ traceContext: false, baggage: false }).fields()).toEqual([]);
  });

  it('honours the options on extract and inject', () => {
    const headers = { traceparent: VALID, baggage: 'k=v' };
    const traceOnly = w3cPropagator({ baggage: false });
    const ctx = traceOnly.extract(ROOT_CONTEXT, headers, httpHeaderGetter);
    expect(trace.getSpanContext(ctx)?.traceId).toBe(TRACE_ID);
    const carrier: Record<string, unknown> = {};
    propagator.inject(propagator.extract(ROOT_CONTEXT, headers, httpHeaderGetter), carrier, httpHeaderSetter);
    expect(carrier).toEqual({ traceparent: VALID, baggage: 'k=v' });
    const traceCarrier: Record<string, unknown> = {};
    traceOnly.inject(
      propagator.extract(ROOT_CONTEXT, headers, httpHeaderGetter),
      traceCarrier,
      httpHeaderSetter,
    );
    expect(traceCarrier).toEqual({ traceparent: VALID });
  });

  it('defaults to the HTTP getter and setter when none is passed', () => {
    const ctx = (propagator.extract as (c: Context, carrier: unknown) => Context)(ROOT_CONTEXT, {
      traceparent: VALID,
    });
    expect(trace.getSpanContext(ctx)?.traceId).toBe(TRACE_ID);
    const carrier: Record<string, unknown> = {};
    (propagator.inject as (c: Context, carrier: unknown) => void)(ctx, carrier);
    expect(carrier).toEqual({ traceparent: VALID });
  });
});

describe('cross-check with @opentelemetry/core W3CTraceContextPropagator', () => {
  const core = new W3CTraceContextPropagator();
  const cases = [
    VALID,
    `00-${TRACE_ID}-${SPAN_ID}-00`,
    `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`,
    `cc-${TRACE_ID}-${SPAN_ID}-01-future`,
  ];
  it.each(cases)('extracts %s identically', (traceparent) => {
    const headers = { traceparent, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' };
    const ours = extractSpanContext(headers);
    const theirs = trace.getSpanContext(core.extract(ROOT_CONTEXT, headers, httpHeaderGetter));
    expect(ours?.traceId).toBe(theirs?.traceId);
    expect(ours?.spanId).toBe(theirs?.spanId);
    expect(ours?.traceFlags).toBe(theirs?.traceFlags);
    expect(ours?.isRemote).toBe(theirs?.isRemote);
    expect(ours?.traceState?.serialize()).toBe(theirs?.traceState?.serialize());
  });

  it('injects what core injects for sampled and unsampled contexts', () => {
    for (const traceFlags of [0, 1]) {
      const ctx = contextWith({
        traceId: TRACE_ID,
        spanId: SPAN_ID,
        traceFlags,
        traceState: new CoreTraceState('a=1'),
      });
      const theirs: Record<string, unknown> = {};
      core.inject(ctx, theirs, httpHeaderSetter);
      expect(inject(ctx)).toEqual(theirs);
    }
  });
});

describe('traceResponseHeaderValue', () => {
  it('formats a valid span context', () => {
    expect(TRACERESPONSE_HEADER).toBe('traceresponse');
    expect(traceResponseHeaderValue({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 })).toBe(VALID);
    expect(traceResponseHeaderValue({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 0 })).toBe(
      `00-${TRACE_ID}-${SPAN_ID}-00`,
    );
  });

  it('keeps only the sampled and random bits', () => {
    expect(traceResponseHeaderValue({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 0xff })).toBe(
      `00-${TRACE_ID}-${SPAN_ID}-03`,
    );
    expect(traceResponseHeaderValue({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 0x06 })).toBe(
      `00-${TRACE_ID}-${SPAN_ID}-02`,
    );
    expect(
      traceResponseHeaderValue({
        traceId: TRACE_ID,
        spanId: SPAN_ID,
        traceFlags: undefined as unknown as number,
      }),
    ).toBe(`00-${TRACE_ID}-${SPAN_ID}-00`);
  });

  it('returns undefined for an invalid span context', () => {
    expect(
      traceResponseHeaderValue({ traceId: '0'.repeat(32), spanId: SPAN_ID, traceFlags: 1 }),
    ).toBeUndefined();
    expect(
      traceResponseHeaderValue({ traceId: TRACE_ID, spanId: '0'.repeat(16), traceFlags: 1 }),
    ).toBeUndefined();
    expect(traceResponseHeaderValue(null as unknown as SpanContext)).toBeUndefined();
    expect(traceResponseHeaderValue({} as SpanContext)).toBeUndefined();
    const hostile = {
      get traceId(): string {
        throw new Error('boom');
      },
    } as unknown as SpanContext;
    expect(traceResponseHeaderValue(hostile)).toBeUndefined();
  });
});
