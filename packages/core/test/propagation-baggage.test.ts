import {
  type Baggage,
  type BaggageEntry,
  baggageEntryMetadataFromString,
  type Context,
  propagation,
  ROOT_CONTEXT,
} from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { describe, expect, it } from 'vitest';
import { parseBaggage, percentEncode, serializeBaggage } from '../src/propagation/baggage.js';
import {
  BAGGAGE_MAX_BYTES,
  BAGGAGE_MAX_MEMBERS,
  BAGGAGE_MAX_PAIR_BYTES,
  httpHeaderGetter,
  httpHeaderSetter,
  w3cPropagator,
} from '../src/propagation/index.js';

const propagator = w3cPropagator({ traceContext: false });

function extract(baggage: string | string[] | undefined, ctx: Context = ROOT_CONTEXT): Context {
  return propagator.extract(ctx, { baggage }, httpHeaderGetter);
}

function entriesOf(baggage: string | string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, entry] of propagation.getBaggage(extract(baggage))?.getAllEntries() ?? [])
    out[key] = entry.value;
  return out;
}

function keysOf(baggage: string | string[] | undefined): string[] {
  return (propagation.getBaggage(extract(baggage))?.getAllEntries() ?? []).map(([key]) => key);
}

function injectBaggage(entries: Record<string, BaggageEntry> | Baggage): Record<string, unknown> {
  const baggage =
    typeof (entries as Baggage).getAllEntries === 'function'
      ? (entries as Baggage)
      : propagation.createBaggage(entries as Record<string, BaggageEntry>);
  const carrier: Record<string, unknown> = {};
  propagator.inject(propagation.setBaggage(ROOT_CONTEXT, baggage), carrier, httpHeaderSetter);
  return carrier;
}

describe('baggage extraction: members', () => {
  it('parses keys, values, OWS and properties', () => {
    const baggage = propagation.getBaggage(extract('k1=v1, k2 = v2 ;p1;p2 = x , k3=v3'));
    expect(baggage?.getEntry('k1')).toEqual({ value: 'v1' });
    expect(baggage?.getEntry('k2')?.value).toBe('v2');
    expect(baggage?.getEntry('k2')?.metadata?.toString()).toBe('p1;p2=x');
    expect(baggage?.getEntry('k3')?.value).toBe('v3');
  });

  it('percent-decodes values as UTF-8', () => {
    expect(entriesOf('k=a%2Cb%3Bc%20d')).toEqual({ k: 'a,b;c d' });
    expect(entriesOf('k=%C3%A9%E2%82%AC%F0%9F%98%80')).toEqual({ k: 'é€😀' });
    expect(entriesOf('k=%c3%a9')).toEqual({ k: 'é' });
  });

  it('decodes invalid UTF-8 to U+FFFD and keeps a malformed percent sign literally', () => {
    expect(entriesOf('k=%ZZ')).toEqual({ k: '%ZZ' });
    expect(entriesOf('k=%C3')).toEqual({ k: '\uFFFD' });
    expect(entriesOf('k=%E2%82')).toEqual({ k: '\uFFFD' });
    expect(entriesOf('k=%FF%41')).toEqual({ k: '\uFFFDA' });
    expect(entriesOf('k=%')).toEqual({ k: '%' });
    expect(entriesOf('k=%4')).toEqual({ k: '%4' });
    expect(entriesOf('k=100%25')).toEqual({ k: '100%' });
  });

  it('drops invalid members and keeps their neighbours', () => {
    expect(entriesOf('a=1,=v,b=2')).toEqual({ a: '1', b: '2' });
    expect(entriesOf('a=1,k,b=2')).toEqual({ a: '1', b: '2' });
    expect(entriesOf('a=1,k=x y,b=2')).toEqual({ a: '1', b: '2' });
    expect(entriesOf('a=1,k=x"y,b=2')).toEqual({ a: '1', b: '2' });
    expect(entriesOf('a=1,k=x\\y,b=2')).toEqual({ a: '1', b: '2' });
    expect(entriesOf('a=1,k=\u00e9,b=2')).toEqual({ a: '1', b: '2' });
    expect(entriesOf('a=1,k k=v,b=2')).toEqual({ a: '1', b: '2' });
    expect(entriesOf('a=1,k(=v,b=2')).toEqual({ a: '1', b: '2' });
    expect(entriesOf('a=1,k=v\u0000,b=2')).toEqual({ a: '1', b: '2' });
  });

  it('handles k=v;;;p, k==v= and k=', () => {
    const baggage = propagation.getBaggage(extract('k=v;;;p'));
    expect(baggage?.getEntry('k')?.value).toBe('v');
    expect(baggage?.getEntry('k')?.metadata?.toString()).toBe('p');
    expect(entriesOf('k==v=')).toEqual({ k: '=v=' });
    expect(entriesOf('k=')).toEqual({ k: '' });
    expect(entriesOf('k = ')).toEqual({ k: '' });
  });

  it('drops malformed properties, not the member', () => {
    const baggage = propagation.getBaggage(extract('k=v;ok;bad prop;p=1;q=a b;r = 2 ;=x'));
    expect(baggage?.getEntry('k')?.value).toBe('v');
    expect(baggage?.getEntry('k')?.metadata?.toString()).toBe('ok;p=1;r=2');
    expect(propagation.getBaggage(extract('k=v;;'))?.getEntry('k')).toEqual({ value: 'v' });
  });

  it('returns the context unchanged when there is no valid member', () => {
    const base = ROOT_CONTEXT.setValue(Symbol('x'), 1);
    for (const header of ['', ' ', ',,,', '=v', 'k', '\u00e9=1', ';p']) {
      expect(extract(header, base)).toBe(base);
    }
    expect(extract(undefined, base)).toBe(base);
    expect(extract([], base)).toBe(base);
  });

  it('lets the last occurrence of a duplicated key win', () => {
    expect(entriesOf('k=1,j=2,k=3')).toEqual({ k: '3', j: '2' });
  });

  it('stores __proto__ and constructor as ordinary entries without prototype pollution', () => {
    const baggage = propagation.getBaggage(extract('__proto__=x,constructor=y,toString=z,hasOwnProperty=w'));
    expect(baggage?.getEntry('__proto__')?.value).toBe('x');
    expect(baggage?.getEntry('constructor')?.value).toBe('y');
    expect(baggage?.getEntry('toString')?.value).toBe('z');
    expect(baggage?.getAllEntries()).toHaveLength(4);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    expect(typeof {}.constructor).toBe('function');
    expect(typeof {}.toString).toBe('function');
    const parsed = parseBaggage('__proto__=x');
    expect(Object.getPrototypeOf(parsed.entries)).toBeNull();
    expect(Object.keys(parsed.entries)).toEqual(['__proto__']);
  });
});

describe('baggage extraction: limits', () => {
  it('applies 180 members and 8192 bytes to a 100k-member / 1 MB header in linear time', () => {
    const header = Array.from({ length: 100_000 }, (_, i) => `k${i}=v${i}`).join(',');
    expect(header.length).toBeGreaterThan(1_000_000);
    const start = performance.now();
    const entries = entriesOf(header);
    expect(performance.now() - start).toBeLessThan(200);
    const keys = Object.keys(entries);
    expect(keys).toHaveLength(BAGGAGE_MAX_MEMBERS);
    expect(keys[0]).toBe('k0');
    expect(keys.at(-1)).toBe('k179');
    expect(keys.map((k) => `${k}=${entries[k]}`).join(',').length).toBeLessThanOrEqual(BAGGAGE_MAX_BYTES);
  });

  it('stops at the 8192-byte budget, keeping only whole members', () => {
    // 100-byte members: 81 of them (plus commas) fit in 8192 bytes, the 82nd crosses the limit.
    const members = Array.from({ length: 100 }, (_, i) => `k${String(i).padStart(3, '0')}=${'v'.repeat(95)}`);
    const keys = keysOf(members.join(','));
    expect(keys).toHaveLength(81);
    expect(keys).toEqual(members.slice(0, 81).map((m) => m.slice(0, 4)));
    const parsed = parseBaggage(members.join(','));
    expect(parsed.truncated).toBe(true);
  });

  it('skips a single member over 4096 bytes and keeps its neighbours', () => {
    expect(entriesOf(`a=1,big=${'x'.repeat(5000)},b=2`)).toEqual({ a: '1', b: '2' });
    const exact = `k=${'x'.repeat(BAGGAGE_MAX_PAIR_BYTES - 2)}`;
    expect(Object.keys(entriesOf(`${exact},b=2`))).toEqual(['k', 'b']);
    expect(Object.keys(entriesOf(`${exact}x,b=2`))).toEqual(['b']);
    // Properties count towards the member size.
    expect(Object.keys(entriesOf(`k=v;p=${'x'.repeat(4096)},b=2`))).toEqual(['b']);
  });

  it('is cheap for delimiter floods', () => {
    const start = performance.now();
    expect(extract(',,,,'.repeat(2048 * 8))).toBe(ROOT_CONTEXT);
    expect(extract(','.repeat(1_000_000))).toBe(ROOT_CONTEXT);
    // k=v followed by 5000 `;` is one 5003-byte member: skipped.
    expect(extract(`k=v${';'.repeat(5000)}`)).toBe(ROOT_CONTEXT);
    // Under the member limit the empty properties are skipped without allocation.
    const baggage = propagation.getBaggage(extract(`k=v${';'.repeat(4000)}`));
    expect(baggage?.getEntry('k')).toEqual({ value: 'v' });
    expect(extract(`k=v${'; '.repeat(1_000_000)}`)).toBe(ROOT_CONTEXT);
    expect(extract('k=%'.repeat(1_000_000))).toBe(ROOT_CONTEXT);
    expect(performance.now() - start).toBeLessThan(500);
  });

  it('processes repeated header lines as one list with one budget', () => {
    expect(entriesOf(['a=1', 'b=2, c=3', ' d=4 '])).toEqual({ a: '1', b: '2', c: '3', d: '4' });
    // Three lines of 4000 bytes: the first two (plus the joining comma) fit in 8192, the third does not.
    const line = (k: string): string => `${k}=${'x'.repeat(3998)}`;
    expect(Object.keys(entriesOf([line('a'), line('b'), line('c')]))).toEqual(['a', 'b']);
    // The member count is shared too.
    const many = Array.from({ length: 100 }, (_, i) => `k${i}=1`).join(',');
    expect(Object.keys(entriesOf([many, many.replaceAll('k', 'j')]))).toHaveLength(BAGGAGE_MAX_MEMBERS);
    // 100k lines.
    const start = performance.now();
    expect(Object.keys(entriesOf(Array.from({ length: 100_000 }, (_, i) => `k${i}=1`)))).toHaveLength(180);
    expect(performance.now() - start).toBeLessThan(200);
    // Non-string lines are ignored.
    expect(entriesOf(['a=1', 42 as unknown as string, 'b=2'])).toEqual({ a: '1', b: '2' });
  });
});

describe('baggage injection', () => {
  it('serializes key=value with percent-encoding and properties', () => {
    expect(
      injectBaggage({
        k1: { value: 'v1' },
        k2: { value: 'a b,c;d%é\r\n', metadata: baggageEntryMetadataFromString('p1;p2=x') },
      }),
    ).toEqual({ baggage: 'k1=v1,k2=a%20b%2Cc%3Bd%25%C3%A9%0D%0A;p1;p2=x' });
  });

  it('writes nothing for empty baggage', () => {
    expect(injectBaggage({})).toEqual({});
    expect(injectBaggage({ 'not a token': { value: 'x' } })).toEqual({});
  });

  it('skips non-token keys and invalid entries', () => {
    const entries: Record<string, BaggageEntry> = {
      ok: { value: '1' },
      'bad key': { value: '2' },
      'k\r\nInjected': { value: '3' },
      é: { value: '4' },
      '': { value: '5' },
      num: { value: 5 as unknown as string },
      last: { value: '6' },
    };
    expect(injectBaggage(entries)).toEqual({ baggage: 'ok=1,last=6' });
  });

  it('drops metadata that is not valid properties', () => {
    expect(
      injectBaggage({
        k: { value: 'v', metadata: baggageEntryMetadataFromString('ok;bad prop;\r\nx: y;p=1') },
      }),
    ).toEqual({ baggage: 'k=v;ok;p=1' });
  });

  it('stops before 180 members and 8192 bytes, never writing a partial member', () => {
    const many: Record<string, BaggageEntry> = {};
    for (let i = 0; i < 500; i++) many[`k${i}`] = { value: `${i}` };
    const header = String(injectBaggage(many).baggage);
    expect(header.split(',')).toHaveLength(BAGGAGE_MAX_MEMBERS);

    const big: Record<string, BaggageEntry> = {};
    for (let i = 0; i < 10; i++) big[`k${i}`] = { value: 'x'.repeat(1000) };
    const bigHeader = String(injectBaggage(big).baggage);
    expect(bigHeader.length).toBeLessThanOrEqual(BAGGAGE_MAX_BYTES);
    expect(bigHeader.split(',')).toHaveLength(8);
    for (const member of bigHeader.split(',')) expect(member).toMatch(/^k\d=x{1000}$/);
  });

  it('skips members over 4096 bytes (after encoding) and keeps the others', () => {
    expect(
      injectBaggage({
        a: { value: '1' },
        big: { value: 'x'.repeat(5000) },
        enc: { value: 'é'.repeat(1000) },
        b: { value: '2' },
      }),
    ).toEqual({ baggage: 'a=1,b=2' });
  });

  it('never throws on hostile baggage', () => {
    const hostile = {
      getAllEntries: () => {
        throw new Error('boom');
      },
    } as unknown as Baggage;
    expect(injectBaggage(hostile)).toEqual({});
    const weird = {
      getAllEntries: () => [
        null,
        [1, 2],
        ['k', null],
        ['j', { value: 'v', metadata: { toString: () => 5 } }],
      ],
    } as unknown as Baggage;
    expect(injectBaggage(weird)).toEqual({ baggage: 'j=v;5' });
    expect(serializeBaggage(weird).skipped).toBe(3);
  });
});

describe('percentEncode', () => {
  it('encodes everything outside baggage-octet, and %', () => {
    let all = '';
    for (let c = 0; c < 0x80; c++) all += String.fromCharCode(c);
    const encoded = percentEncode(all);
    for (let c = 0; c < encoded.length; c++) {
      const code = encoded.charCodeAt(c);
      expect(
        code >= 0x21 && code <= 0x7e && code !== 0x22 && code !== 0x2c && code !== 0x3b && code !== 0x5c,
      ).toBe(true);
    }
    expect(decodeURIComponent(encoded)).toBe(all);
    expect(percentEncode('plain-value_1.2~')).toBe('plain-value_1.2~');
    expect(percentEncode('\ud800')).toBe('%EF%BF%BD');
  });
});

describe('cross-check with @opentelemetry/core W3CBaggagePropagator', () => {
  const core = new W3CBaggagePropagator();
  it.each([
    'k1=v1',
    'k1=v1,k2=v2',
    'key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue',
    'userId=alice,serverNode=DF%2028,isProduction=false',
    'k=%C3%A9t%C3%A9',
  ])('extracts %s identically', (header) => {
    const ours = propagation.getBaggage(extract(header));
    const theirs = propagation.getBaggage(core.extract(ROOT_CONTEXT, { baggage: header }, httpHeaderGetter));
    const simplify = (b: Baggage | undefined) =>
      (b?.getAllEntries() ?? []).map(([k, e]) => [
        k,
        e.value,
        e.metadata
          ?.toString()
          .replaceAll(/\s*([;=])\s*/g, '$1')
          .trim(),
      ]);
    expect(simplify(ours)).toEqual(simplify(theirs));
  });

  it('injects what core injects for token keys and encodable values', () => {
    const baggage = propagation.createBaggage({ a: { value: '1' }, b: { value: 'x y' }, c: { value: 'é' } });
    const ctx = propagation.setBaggage(ROOT_CONTEXT, baggage);
    const theirs: Record<string, unknown> = {};
    core.inject(ctx, theirs, httpHeaderSetter);
    expect(injectBaggage(baggage)).toEqual(theirs);
  });
});
