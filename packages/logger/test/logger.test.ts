import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { context, ROOT_CONTEXT, type Span, TraceFlags, trace } from '@opentelemetry/api';
import { GrpcCode, TracedError } from '@tracewire/errors';
import { createTelemetry } from '@tracewire/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  DEFAULT_LOG_LIMITS,
  DEFAULT_REDACT_PATHS,
  type Logger,
  TRACE_FIELD_NAMES,
  traceFields,
} from '../src/index.js';
import { countKey, type LogLine, memoryDestination } from './helpers.js';

const telemetry = createTelemetry();
const tracer = telemetry.tracerProvider.getTracer('logger-test');

afterAll(async () => {
  await telemetry.shutdown();
});

function setup(options: Parameters<typeof createLogger>[0] = {}) {
  const destination = memoryDestination();
  const log = createLogger({ destination, ...options });
  return { log, destination };
}

function inSpan<T>(fn: (span: Span) => T): T {
  return tracer.startActiveSpan('work', (span) => {
    try {
      return fn(span);
    } finally {
      span.end();
    }
  });
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

describe('trace fields', () => {
  it('writes trace_id, span_id and trace_flags of the active span as top-level fields', () => {
    const { log, destination } = setup({ name: 'orders' });
    const span = inSpan((s) => {
      log.info({ orderId: '42' }, 'loading order');
      return s;
    });
    const [line] = destination.records();
    expect(line).toMatchObject({
      level: 30,
      name: 'orders',
      orderId: '42',
      msg: 'loading order',
      trace_id: span.spanContext().traceId,
      span_id: span.spanContext().spanId,
      trace_flags: '01',
    });
    expect(line?.trace_id).toMatch(HEX32);
    expect(line?.span_id).toMatch(HEX16);
  });

  it('writes no trace field outside a span, or in a span with an invalid context (never zeros)', () => {
    const { log, destination } = setup();
    log.info('outside');
    const invalid = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0'.repeat(32),
      spanId: '0'.repeat(16),
      traceFlags: TraceFlags.SAMPLED,
    });
    context.with(invalid, () => log.info('invalid'));
    for (const line of destination.records()) {
      for (const name of TRACE_FIELD_NAMES) expect(line).not.toHaveProperty(name);
    }
    expect(destination.chunks.join('')).not.toContain('0000000000000000');
  });

  it('writes two hex digits of the flags (00 for an unsampled remote parent) and lower-cases ids', () => {
    const { log, destination } = setup();
    const remote = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4BF92F3577B34DA6A3CE929D0E0E4736',
      spanId: '00F067AA0BA902B7',
      traceFlags: TraceFlags.NONE,
      isRemote: true,
    });
    context.with(remote, () => log.info('remote'));
    expect(destination.records()[0]).toMatchObject({
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      trace_flags: '00',
    });
    expect(traceFields(remote)).toEqual({
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      trace_flags: '00',
    });
    expect(traceFields(ROOT_CONTEXT)).toBeUndefined();
  });

  it('takes the context at call time: after awaits, in timers and in emitter callbacks', async () => {
    const { log, destination } = setup();
    const emitter = new EventEmitter();
    const ids = await tracer.startActiveSpan('async', async (span) => {
      await new Promise((r) => setTimeout(r, 1));
      log.info('after await');
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          log.info('in timer');
          resolve();
        }, 1),
      );
      // An emitter bound to the span's context runs its listeners in it, whoever emits.
      context.bind(context.active(), emitter);
      span.end();
      return span.spanContext();
    });
    emitter.on('event', () => log.info('in listener'));
    context.with(ROOT_CONTEXT, () => emitter.emit('event'));
    log.info('outside again');
    const lines = destination.records();
    expect(lines.map((l) => l.trace_id)).toEqual([ids.traceId, ids.traceId, ids.traceId, undefined]);
  });

  it('is injected into child loggers, whatever the import order (no patching)', () => {
    const { log, destination } = setup();
    const child = log.child({ component: 'db' }).child({ table: 'orders' });
    const span = inSpan((s) => {
      child.debug('hidden by level');
      child.info('query');
      return s;
    });
    const [line] = destination.records();
    expect(destination.chunks).toHaveLength(1);
    expect(line).toMatchObject({ component: 'db', table: 'orders', trace_id: span.spanContext().traceId });
  });
});

describe('one key per line (pino does not de-duplicate: A25)', () => {
  it('never lets an application trace_id/span_id/trace_flags duplicate or override the real ones', () => {
    const { log, destination } = setup();
    const forged = { trace_id: 'f'.repeat(32), span_id: 'e'.repeat(16), trace_flags: '00' };
    const span = inSpan((s) => {
      log.info(forged, 'merging object');
      log.child(forged).info('bindings');
      log.child({}).child(forged).info('grandchild bindings');
      const withSet = log.child({});
      withSet.setBindings(forged);
      withSet.info('setBindings');
      return s;
    });
    log.info(forged, 'outside a span');
    log.child(forged).info('child outside a span');

    const lines = destination.records();
    expect(lines).toHaveLength(6);
    for (const raw of destination.chunks) {
      for (const name of TRACE_FIELD_NAMES) expect(countKey(raw, name)).toBeLessThanOrEqual(1);
    }
    for (const line of lines.slice(0, 4)) {
      expect(line.trace_id).toBe(span.spanContext().traceId);
      expect(line.span_id).toBe(span.spanContext().spanId);
      expect(line.trace_flags).toBe('01');
      expect(line['fields.trace_id']).toBe(forged.trace_id);
    }
    for (const line of lines.slice(4)) {
      expect(line).not.toHaveProperty('trace_id');
      expect(line['fields.trace_id']).toBe(forged.trace_id);
    }
  });

  it('keeps a user mixin from writing trace fields either', () => {
    const { log, destination } = setup({ mixin: () => ({ trace_id: 'forged', tenant: 't1' }) });
    const span = inSpan((s) => {
      log.info('mixin');
      return s;
    });
    const [line] = destination.records();
    expect(line).toMatchObject({
      trace_id: span.spanContext().traceId,
      tenant: 't1',
      'fields.trace_id': 'forged',
    });
    expect(countKey(destination.chunks[0] ?? '', 'trace_id')).toBe(1);
  });

  it('writes every key once: level, time, msg, name, pid and bindings included', () => {
    const { log, destination } = setup({ name: 'orders' });
    const child = log.child({ module: 'a', name: 'sub' });
    child.info({ level: 'error', time: 0, msg: 'forged', module: 'b', pid: 1, hostname: 'h' }, 'real');
    child.child({ module: 'c' }).info('grandchild');
    const [first, second] = destination.records();
    for (const raw of destination.chunks) {
      for (const key of ['level', 'time', 'msg', 'name', 'pid', 'hostname', 'module']) {
        expect(countKey(raw, key)).toBeLessThanOrEqual(1);
      }
    }
    expect(first).toMatchObject({
      level: 30,
      name: 'orders',
      module: 'a',
      msg: 'real',
      'fields.level': 'error',
      'fields.time': 0,
      'fields.msg': 'forged',
      'fields.module': 'b',
      'fields.pid': 1,
      'fields.hostname': 'h',
      'fields.name': 'sub',
    });
    expect(second).toMatchObject({ module: 'a', 'fields.module': 'c' });
  });

  it('keeps pino semantics for a msg key when no message argument is given', () => {
    const { log, destination } = setup();
    log.info({ msg: 'from the object' });
    expect(destination.records()[0]?.msg).toBe('from the object');
  });

  it('strips formatters from child options, so a child cannot re-add trace fields', () => {
    const { log, destination } = setup();
    const child = log.child({}, { formatters: { log: (o: object) => ({ ...o, trace_id: 'forged' }) } });
    const span = inSpan((s) => {
      child.info('child with formatters');
      return s;
    });
    expect(destination.records()[0]?.trace_id).toBe(span.spanContext().traceId);
    expect(countKey(destination.chunks[0] ?? '', 'trace_id')).toBe(1);
  });
});

describe('one physical line per record (T53)', () => {
  const attempts = [
    'line\nbreak',
    'crlf\r\nbreak',
    'quote"}',
    '"}\n{"level":60,"msg":"forged","trace_id":"' + 'a'.repeat(32) + '"}',
    '{"level":"error"}',
    'sep\u2028ara\u2029tors\u0085',
    'controls\u0000\u0001\u0007\u000b\u000c\u001b[31m\u007f',
    'lone surrogate \ud800 end',
    '\\"escaped\\"',
  ];

  it('keeps every injection attempt in messages, fields, keys and bindings on one line, parsed back equal', () => {
    const { log, destination } = setup();
    for (const text of attempts) {
      log.info({ path: text, [text]: 'as a key', nested: { ua: text, list: [text] } }, text);
      log.child({ baggage_value: text }).warn('%s and %j', text, { text });
    }
    const lines = destination.records();
    expect(lines).toHaveLength(attempts.length * 2);
    attempts.forEach((text, i) => {
      const line = lines[i * 2] as LogLine;
      const child = lines[i * 2 + 1] as LogLine;
      const expected = text.includes('\ud800') ? text.replace('\ud800', '\ufffd') : text;
      const actual = (v: string) => (text.includes('\ud800') ? v.replace('\ud800', '\ufffd') : v);
      expect(actual(line.msg)).toBe(expected);
      expect(actual(line.path)).toBe(expected);
      expect(line[text]).toBe('as a key');
      expect(actual(line.nested.ua)).toBe(expected);
      expect(actual(line.nested.list[0])).toBe(expected);
      expect(line.level).toBe(30);
      expect(line).not.toHaveProperty('trace_id');
      expect(actual(child.baggage_value)).toBe(expected);
      expect(child.level).toBe(40);
    });
  });

  it('escapes U+2028, U+2029 and U+0085 in the raw line', () => {
    const { log, destination } = setup();
    log.info('a\u2028b\u2029c\u0085d');
    expect(destination.chunks[0]).toContain('a\\u2028b\\u2029c\\u0085d');
    expect(destination.records()[0]?.msg).toBe('a\u2028b\u2029c\u0085d');
  });
});

describe('values that must not break the application (T57)', () => {
  it('survives a throwing getter, a circular object, BigInt and a 10 MB string', () => {
    const { log, destination } = setup();
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    circular.list = [circular, { back: circular }];
    const throwing = {
      ok: 1,
      get boom(): never {
        throw new Error('getter exploded');
      },
    };
    const huge = 'x'.repeat(10 * 1024 * 1024);
    expect(() => {
      log.info({ throwing, circular, big: 12345678901234567890n, huge }, 'hostile %s', huge);
      log.info(throwing);
      log.info(circular, 'circular at the top');
      log.info(10n);
      log.info({ nested: { deeper: { big: -1n } } });
      log.child({ throwing, circular, huge }).info('hostile bindings');
    }).not.toThrow();

    const lines = destination.records();
    expect(lines).toHaveLength(6);
    const [first, second, third, fourth, fifth, sixth] = lines as LogLine[];
    expect(first?.throwing).toEqual({ ok: 1, boom: '[Unreadable]' });
    expect(first?.circular).toEqual({
      name: 'loop',
      self: '[Circular]',
      list: ['[Circular]', { back: '[Circular]' }],
    });
    expect(first?.big).toBe('12345678901234567890');
    expect(first?.huge.length).toBeLessThan(DEFAULT_LOG_LIMITS.maxStringLength + 40);
    expect(first?.huge).toMatch(/\.\.\.\[truncated \d+ chars\]$/);
    expect(first?.msg.length).toBeLessThan(DEFAULT_LOG_LIMITS.maxStringLength * 2 + 100);
    expect(second).toMatchObject({ ok: 1, boom: '[Unreadable]' });
    expect(third).toMatchObject({ name: 'loop', self: '[Circular]', msg: 'circular at the top' });
    expect(fourth?.msg).toBe('10');
    expect(fifth?.nested.deeper.big).toBe('-1');
    expect(sixth?.huge.length).toBeLessThan(DEFAULT_LOG_LIMITS.maxStringLength + 40);
    for (const chunk of destination.chunks)
      expect(chunk.length).toBeLessThan(DEFAULT_LOG_LIMITS.maxRecordSize + 4096);
  });

  it('bounds the whole record, arrays, keys and depth', () => {
    const { log, destination } = setup({
      limits: {
        maxStringLength: 1000,
        maxRecordSize: 5000,
        maxArrayLength: 3,
        maxObjectKeys: 4,
        maxDepth: 3,
      },
    });
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    log.info({
      strings: Array.from({ length: 3 }, () => 'y'.repeat(1500)),
      list: [1, 2, 3, 4, 5],
      many,
      deep: { a: { b: { c: { d: 1 } } } },
    });
    const [first] = destination.records() as LogLine[];
    expect(first?.strings).toHaveLength(3);
    expect(first?.list).toEqual([1, 2, 3, '[... 2 more items]']);
    expect(Object.keys(first?.many ?? {})).toEqual(['k0', 'k1', 'k2', 'k3', '...']);
    expect(first?.deep).toEqual({ a: { b: { c: '[Object]' } } });
    expect((destination.chunks[0] ?? '').length).toBeLessThan(5000 + 1000);

    // The record budget: four 1200-char values leave 196 characters for the fifth.
    const budget = setup({ limits: { maxStringLength: 2000, maxRecordSize: 5000 } });
    const z = 'z'.repeat(1200);
    budget.log.info({ a: z, b: z, c: z, d: z, e: z, f: z });
    const [line] = budget.destination.records() as LogLine[];
    expect(line?.d).toBe(z);
    expect(line?.e).toBe(`${'z'.repeat(196)}...[truncated 1004 chars]`);
    expect(line?.f).toBe('[Truncated]');
  });

  it('survives Proxies whose traps throw, throwing toJSON, and odd values', () => {
    const { log, destination } = setup();
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('ownKeys trap');
        },
        get() {
          throw new Error('get trap');
        },
        getPrototypeOf() {
          throw new Error('getPrototypeOf trap');
        },
      },
    );
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    const badJson = {
      toJSON() {
        throw new Error('toJSON exploded');
      },
    };
    expect(() => {
      log.info({
        hostile,
        revoked,
        badJson,
        fn: () => 1,
        sym: Symbol('s'),
        undef: undefined,
        nan: Number.NaN,
      });
      log.info(hostile, 'proxy as the merging object');
      log.info(revoked);
      log.info({
        date: new Date(0),
        map: new Map<unknown, unknown>([
          ['a', 1],
          [2, 'b'],
        ]),
        set: new Set([1, 2]),
        buf: Buffer.from('secret bytes'),
        url: new URL('https://example.com/a?b=c'),
      });
    }).not.toThrow();
    const [first, second, third, fourth] = destination.records() as LogLine[];
    expect(first).toMatchObject({
      hostile: '[Unreadable]',
      revoked: '[Unreadable]',
      badJson: '[Unreadable]',
      sym: 'Symbol(s)',
    });
    expect(first).not.toHaveProperty('fn');
    expect(first).not.toHaveProperty('undef');
    expect(first?.nan).toBeNull();
    expect(second?.msg).toBe('proxy as the merging object');
    expect(third?.level).toBe(30);
    expect(fourth).toMatchObject({
      date: '1970-01-01T00:00:00.000Z',
      map: { a: 1, '2': 'b' },
      set: [1, 2],
      buf: '[Buffer 12 bytes]',
      url: 'https://example.com/a?b=c',
    });
  });

  it('contains a throwing serializer and a throwing mixin', () => {
    const { log, destination } = setup({
      serializers: {
        user: () => {
          throw new Error('serializer exploded');
        },
      },
      mixin: () => {
        throw new Error('mixin exploded');
      },
    });
    expect(() => log.info({ user: { id: 1 }, other: 2 }, 'still written')).not.toThrow();
    expect(destination.records()[0]).toMatchObject({
      user: '[Unserializable]',
      other: 2,
      msg: 'still written',
    });
  });

  it('writes a fallback record when the destination throws, and never throws into the app', () => {
    let calls = 0;
    const chunks: string[] = [];
    const log = createLogger({
      destination: {
        write(chunk: string) {
          calls++;
          if (calls === 1) throw new Error('disk full');
          chunks.push(chunk);
        },
      },
    });
    const span = inSpan((s) => {
      expect(() => log.info({ a: 1 }, 'first')).not.toThrow();
      return s;
    });
    expect(chunks).toHaveLength(1);
    expect(JSON.parse(chunks[0] ?? '')).toMatchObject({
      trace_id: span.spanContext().traceId,
      log_error: 'the log record could not be written (Error)',
      msg: 'first',
    });
    const broken = createLogger({
      destination: {
        write() {
          throw new Error('always');
        },
      },
    });
    expect(() => broken.error(new Error('x'))).not.toThrow();
  });
});

describe('errors', () => {
  it('writes type, message, stack, code, category, traceId and the cause chain of a TracedError', () => {
    const { log, destination } = setup();
    const { error, ids } = inSpan((span) => {
      const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432'), { code: 'ECONNREFUSED' });
      return {
        error: new TracedError('order store unavailable', { code: GrpcCode.UNAVAILABLE, cause }),
        ids: span.spanContext(),
      };
    });
    // Logged later, outside the span: the error still says where it was created.
    log.error(error);
    const [line] = destination.records() as LogLine[];
    expect(line).not.toHaveProperty('trace_id');
    expect(line?.msg).toBe('order store unavailable');
    expect(line?.err).toMatchObject({
      type: 'TracedError',
      message: 'order store unavailable',
      code: GrpcCode.UNAVAILABLE,
      codeName: 'UNAVAILABLE',
      httpStatus: 503,
      category: 'unavailable',
      traceId: ids.traceId,
      spanId: ids.spanId,
      cause: { type: 'Error', message: 'connect ECONNREFUSED 10.0.0.1:5432', code: 'ECONNREFUSED' },
    });
    expect(line?.err.stack).toContain('order store unavailable');
  });

  it('serializes errors at any depth, bounds the cause chain and survives cause cycles', () => {
    const { log, destination } = setup({ limits: { maxCauseDepth: 3 } });
    let chain: Error = new Error('root');
    for (let i = 0; i < 10; i++) chain = new Error(`level ${i}`, { cause: chain });
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    class ValidationFailure extends Error {}
    const aggregate = new AggregateError([new TypeError('t'), 'not an error'], 'many');
    log.info({
      chain,
      cycle: a,
      custom: new ValidationFailure('v'),
      aggregate,
      nested: { err: new RangeError('r') },
    });
    const [line] = destination.records() as LogLine[];
    expect(line?.chain.cause.cause.cause.cause).toBe('[Truncated]');
    expect(line?.cycle).toMatchObject({ message: 'a', cause: { message: 'b', cause: '[Circular]' } });
    expect(line?.custom.type).toBe('ValidationFailure');
    expect(line?.aggregate).toMatchObject({
      type: 'AggregateError',
      errors: [{ type: 'TypeError', message: 't' }, 'not an error'],
    });
    expect(line?.nested.err).toMatchObject({ type: 'RangeError', message: 'r' });
  });

  it('handles errors with throwing properties and non-error throwables', () => {
    const { log, destination } = setup();
    const hostile = new Error('hostile');
    Object.defineProperty(hostile, 'code', {
      get() {
        throw new Error('code getter');
      },
      enumerable: true,
    });
    Object.defineProperty(hostile, 'cause', {
      get() {
        throw new Error('cause getter');
      },
    });
    expect(() => log.error({ err: hostile })).not.toThrow();
    log.error({ err: 'a string was thrown' });
    const [first, second] = destination.records() as LogLine[];
    expect(first?.err).toMatchObject({ type: 'Error', message: 'hostile' });
    expect(second?.err).toBe('a string was thrown');
  });
});

describe('redaction', () => {
  it('redacts authorization, cookie and password by default, at the top level and one down', () => {
    const { log, destination } = setup();
    log.info({
      password: 'hunter2',
      user: { name: 'ada', password: 'hunter2' },
      authorization: 'Bearer abc',
      req: {
        method: 'GET',
        url: '/x',
        headers: {
          authorization: 'Bearer abc',
          cookie: 'sid=1',
          baggage: 'user=<script>',
          tracestate: 'vendor=x',
          accept: 'json',
        },
      },
    });
    log.child({ cookie: 'sid=2' }).info('child');
    const raw = destination.chunks.join('');
    for (const secret of ['hunter2', 'Bearer abc', 'sid=1', 'sid=2', '<script>', 'vendor=x']) {
      expect(raw).not.toContain(secret);
    }
    const [first] = destination.records() as LogLine[];
    expect(first?.user).toEqual({ name: 'ada', password: '[Redacted]' });
    expect(first?.req.headers.accept).toBe('json');
  });

  it('adds configured paths, and can drop the defaults', () => {
    const custom = setup({ redact: { paths: ['card.number'], censor: '***' } });
    custom.log.info({ card: { number: '4111', brand: 'visa' }, password: 'p' });
    expect(custom.destination.records()[0]).toMatchObject({
      card: { number: '***', brand: 'visa' },
      password: '***',
    });

    const none = setup({ redactDefaults: false });
    none.log.info({ password: 'visible' });
    expect(none.destination.records()[0]?.password).toBe('visible');
    expect(DEFAULT_REDACT_PATHS).toContain('*.headers.authorization');
  });
});

describe('options', () => {
  it('fails fast on invalid options', () => {
    expect(() => createLogger({ name: 1 as never })).toThrow(TypeError);
    expect(() => createLogger({ destination: {} as never })).toThrow(/destination/);
    expect(() => createLogger({ limits: { maxDepth: 0 } })).toThrow(/maxDepth/);
    expect(() => createLogger({ timestamp: 'unix' as never })).toThrow(/timestamp/);
    expect(() => createLogger({ otelLogs: { loggerProvider: {} as never } })).toThrow(/getLogger/);
    expect(() => createLogger({ serializers: { a: 1 as never } })).toThrow(/serializers\.a/);
    expect(() => createLogger({ redact: 'password' as never })).toThrow(/redact/);
    expect(() => createLogger({ level: 'loud', destination: memoryDestination() })).toThrow();
  });

  it('writes where it is told: a Node Writable, with level, base, iso time', async () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString('utf8'));
        callback();
      },
    });
    const log: Logger = createLogger({
      destination: stream,
      level: 'warn',
      base: { service: 'orders' },
      timestamp: 'iso',
    });
    log.info('dropped');
    log.warn('kept');
    await new Promise((r) => setImmediate(r));
    expect(chunks).toHaveLength(1);
    const line = JSON.parse(chunks[0] ?? '');
    expect(line).toMatchObject({ level: 40, service: 'orders', msg: 'kept' });
    expect(line).not.toHaveProperty('pid');
    expect(typeof line.time).toBe('string');
    expect(Number.isNaN(Date.parse(line.time))).toBe(false);
  });

  it('applies serializers given to a child only to that child', () => {
    const { log, destination } = setup({ base: null, timestamp: false });
    const child = log.child(
      { user: { id: 1, email: 'a@b.c' } },
      { serializers: { user: (u: { id: number }) => ({ id: u.id }) } },
    );
    child.info({ user: { id: 2, email: 'x@y.z' } }, 'child');
    log.info({ user: { id: 3, email: 'p@q.r' } }, 'root');
    const [first, second] = destination.records() as LogLine[];
    expect(first).toMatchObject({ user: { id: 1 }, 'fields.user': { id: 2 } });
    expect(JSON.stringify(first)).not.toContain('@');
    expect(second?.user).toEqual({ id: 3, email: 'p@q.r' });
  });
});
