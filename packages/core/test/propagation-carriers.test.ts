import { type DiagLogger, DiagLogLevel, diag, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isSafeHeaderValue } from '../src/propagation/carriers.js';
import { httpHeaderGetter, httpHeaderSetter, w3cPropagator } from '../src/propagation/index.js';
import { DIAG_INTERVAL_MS, rateLimitedDiag, resetPropagationDiag } from '../src/propagation/internal/diag.js';

const VALID = '00-12345678901234567890123456789012-1234567890123456-01';

function captureDiag(): { messages: Array<[string, string]>; logger: DiagLogger } {
  const messages: Array<[string, string]> = [];
  const record =
    (level: string) =>
    (message: string): void => {
      if (message.startsWith('@tracewire/core propagation')) messages.push([level, message]);
    };
  const logger: DiagLogger = {
    error: record('error'),
    warn: record('warn'),
    info: record('info'),
    debug: record('debug'),
    verbose: record('verbose'),
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  return { messages, logger };
}

beforeEach(() => {
  resetPropagationDiag();
});

afterEach(() => {
  diag.disable();
  vi.restoreAllMocks();
});

describe('httpHeaderGetter', () => {
  it('reads string and array values, case-insensitively', () => {
    const headers = { traceparent: VALID, tracestate: ['a=1', 'b=2'] };
    expect(httpHeaderGetter.get(headers, 'traceparent')).toBe(VALID);
    expect(httpHeaderGetter.get(headers, 'TraceParent')).toBe(VALID);
    expect(httpHeaderGetter.get(headers, 'TRACESTATE')).toEqual(['a=1', 'b=2']);
    expect(httpHeaderGetter.get(headers, 'baggage')).toBeUndefined();
    expect(httpHeaderGetter.get({ Baggage: 'x' }, 'Baggage')).toBe('x');
  });

  it('ignores inherited properties and non-string values', () => {
    expect(httpHeaderGetter.get({}, 'constructor')).toBeUndefined();
    expect(httpHeaderGetter.get({}, 'toString')).toBeUndefined();
    expect(httpHeaderGetter.get({ 'content-length': 5 }, 'content-length')).toBeUndefined();
    expect(httpHeaderGetter.get({ x: { a: 1 } } as never, 'x')).toBeUndefined();
    const inherited = Object.create({ traceparent: VALID }) as Record<string, string>;
    expect(httpHeaderGetter.get(inherited, 'traceparent')).toBeUndefined();
  });

  it('never throws on odd carriers', () => {
    for (const carrier of [null, undefined, 42, 'str', true]) {
      expect(httpHeaderGetter.get(carrier as never, 'traceparent')).toBeUndefined();
      expect(httpHeaderGetter.keys(carrier as never)).toEqual([]);
    }
    const hostile = new Proxy(
      {},
      {
        getOwnPropertyDescriptor: () => {
          throw new Error('boom');
        },
        ownKeys: () => {
          throw new Error('boom');
        },
      },
    );
    expect(httpHeaderGetter.get(hostile, 'traceparent')).toBeUndefined();
    expect(httpHeaderGetter.keys(hostile)).toEqual([]);
    expect(httpHeaderGetter.get({ traceparent: VALID }, undefined as unknown as string)).toBeUndefined();
  });

  it('lists keys', () => {
    expect(httpHeaderGetter.keys({ a: '1', b: ['2'] })).toEqual(['a', 'b']);
  });
});

describe('httpHeaderSetter', () => {
  it('writes valid headers', () => {
    const carrier: Record<string, unknown> = { existing: 'x' };
    httpHeaderSetter.set(carrier, 'traceparent', VALID);
    httpHeaderSetter.set(carrier, 'x-tab', 'a\tb c');
    expect(carrier).toEqual({ existing: 'x', traceparent: VALID, 'x-tab': 'a\tb c' });
  });

  it('refuses CR, LF, NUL, DEL and non-ASCII values', () => {
    const { messages } = captureDiag();
    const carrier: Record<string, unknown> = {};
    for (const value of [
      'a\r\nInjected: yes',
      'a\nb',
      'a\rb',
      'a\u0000b',
      'a\u007fb',
      'caf\u00e9',
      '\u0100',
      '\u2028',
    ]) {
      httpHeaderSetter.set(carrier, 'x', value);
    }
    expect(carrier).toEqual({});
    // Rate-limited: one message for all eight refusals.
    expect(messages).toEqual([['warn', expect.stringContaining('illegal characters')]]);
  });

  it('refuses invalid header names', () => {
    const carrier: Record<string, unknown> = {};
    for (const key of ['', 'bad name', 'a:b', 'a\r\nb', '\u00e9', '__proto__'])
      httpHeaderSetter.set(carrier, key, 'v');
    expect(Object.keys(carrier)).toEqual([]);
    expect(Object.getPrototypeOf(carrier)).toBe(Object.prototype);
  });

  it('never throws', () => {
    expect(() => httpHeaderSetter.set(Object.freeze({}) as Record<string, unknown>, 'a', 'b')).not.toThrow();
    expect(() => httpHeaderSetter.set(null as never, 'a', 'b')).not.toThrow();
    expect(() => httpHeaderSetter.set({}, 'a', 5 as never)).not.toThrow();
    const hostile = new Proxy(
      {},
      {
        set: () => {
          throw new Error('boom');
        },
      },
    );
    expect(() => httpHeaderSetter.set(hostile, 'a', 'b')).not.toThrow();
  });

  it('accepts exactly %x09 / %x20-7E', () => {
    for (let c = 0; c < 0x180; c++) {
      expect(isSafeHeaderValue(String.fromCharCode(c))).toBe(c === 0x09 || (c >= 0x20 && c <= 0x7e));
    }
  });
});

describe('rate-limited diagnostics', () => {
  it('emits at most one message per kind per minute', () => {
    const { messages } = captureDiag();
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const propagator = w3cPropagator();
    for (let i = 0; i < 100; i++)
      propagator.extract(ROOT_CONTEXT, { traceparent: 'garbage' }, httpHeaderGetter);
    propagator.extract(ROOT_CONTEXT, { baggage: '=x' }, httpHeaderGetter);
    expect(messages.map(([level, m]) => [level, m.includes('traceparent'), m.includes('baggage')])).toEqual([
      ['debug', true, false],
      ['debug', false, true],
    ]);
    now += DIAG_INTERVAL_MS - 1;
    propagator.extract(ROOT_CONTEXT, { traceparent: 'garbage' }, httpHeaderGetter);
    expect(messages).toHaveLength(2);
    now += 1;
    propagator.extract(ROOT_CONTEXT, { traceparent: 'garbage' }, httpHeaderGetter);
    expect(messages).toHaveLength(3);
  });

  it('does not include header content in messages', () => {
    const { messages } = captureDiag();
    w3cPropagator().extract(ROOT_CONTEXT, { traceparent: 'SECRET-TOKEN' }, httpHeaderGetter);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.[1]).not.toContain('SECRET');
  });

  it('survives a throwing diag logger', () => {
    // Throws only for our messages: the API logs through the logger itself on setLogger/disable.
    const throwing = (message: string): void => {
      if (message.startsWith('@tracewire')) throw new Error('logger down');
    };
    diag.setLogger(
      { error: throwing, warn: throwing, info: throwing, debug: throwing, verbose: throwing },
      { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true },
    );
    expect(() => rateLimitedDiag('warn', 'carrier-failed', 'x')).not.toThrow();
    const ctx = w3cPropagator().extract(
      ROOT_CONTEXT,
      { traceparent: `${VALID}.`, baggage: '=' },
      httpHeaderGetter,
    );
    expect(ctx).toBe(ROOT_CONTEXT);
  });
});

describe('propagator with throwing getters', () => {
  it('returns the input context unchanged', () => {
    const getter = {
      keys: () => [],
      get: () => {
        throw new Error('boom');
      },
    };
    expect(w3cPropagator().extract(ROOT_CONTEXT, {}, getter)).toBe(ROOT_CONTEXT);
  });

  it('keeps the trace context when only the baggage read throws', () => {
    const getter = {
      keys: () => [],
      get: (_carrier: unknown, key: string) => {
        if (key === 'baggage') throw new Error('boom');
        return key === 'traceparent' ? VALID : undefined;
      },
    };
    const ctx = w3cPropagator().extract(ROOT_CONTEXT, {}, getter);
    expect(trace.getSpanContext(ctx)?.spanId).toBe('1234567890123456');
  });
});
