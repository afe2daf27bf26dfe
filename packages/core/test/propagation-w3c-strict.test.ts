// The W3C Trace Context test suite (w3c/trace-context test/test.py) at STRICT_LEVEL 2, one test per
// suite case, mirrored here because the suite is Python and cannot run in this repository's CI.
// As in the suite, a service (a real node:http server with core's server lifecycle and the default
// tracewire propagator) receives the harness's headers and calls the harness back once per
// requested callback, each from a CLIENT span of its own; the assertions read the callbacks' headers.
import http from 'node:http';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { createTelemetry, rawRequest, startServer, type TestServer } from '@tracewire/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpServerInstrumentation, injectContext } from '../src/index.js';

const telemetry = createTelemetry();
const TRACE_ID = '12345678901234567890123456789012';
const PARENT_ID = '1234567890123456';
const TP = (flags = '00') => `00-${TRACE_ID}-${PARENT_ID}-${flags}`;

interface Callback {
  traceparents: string[];
  tracestate: string[];
}
interface Traceparent {
  version: string;
  traceId: string;
  parentId: string;
  flags: number;
}

let service: TestServer;
let harness: TestServer;
let callbacks: Callback[] = [];
let lastTraceresponse: string | undefined;

beforeAll(async () => {
  harness = await startServer((req, res) => {
    const traceparents: string[] = [];
    const tracestate: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]?.toLowerCase();
      if (name === 'traceparent') traceparents.push(req.rawHeaders[i + 1] ?? '');
      if (name === 'tracestate') tracestate.push(req.rawHeaders[i + 1] ?? '');
    }
    callbacks.push({ traceparents, tracestate });
    res.end('ok');
  });
  const instrumentation = new HttpServerInstrumentation(
    { tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider },
    { name: 'w3c-test-service', version: '1.0.0' },
  );
  const tracer = telemetry.tracerProvider.getTracer('w3c-test-service');
  service = await startServer((req, res) => {
    const handle = instrumentation.start(req, res);
    context.with(handle?.context ?? context.active(), async () => {
      const count = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('callbacks') ?? '1');
      for (let i = 0; i < count; i++) {
        const span = tracer.startSpan('callback', { kind: SpanKind.CLIENT });
        const headers: Record<string, string> = {};
        injectContext(headers, { context: trace.setSpan(context.active(), span) });
        await new Promise<void>((resolve, reject) => {
          http
            .get(`${harness.url}/${i}`, { headers, agent: false }, (r) => {
              r.resume();
              r.on('end', resolve);
            })
            .on('error', reject);
        });
        span.end();
      }
      res.end('done');
    });
  });
});

afterEach(() => {
  callbacks = [];
  telemetry.reset();
});
afterAll(async () => {
  await service.close();
  await harness.close();
  await telemetry.shutdown();
});

/** Sends the harness's headers to the service and returns what the service sent back to the harness. */
async function send(headers: [string, string][], count = 1): Promise<Callback[]> {
  callbacks = [];
  const res = await rawRequest(`${service.url}/test?callbacks=${count}`, { headers });
  expect(res.status).toBe(200);
  lastTraceresponse = res.headers.traceresponse as string | undefined;
  expect(callbacks).toHaveLength(count);
  return callbacks;
}

/** Exactly one traceparent, in the format of the suite's regular expression. */
function traceparentOf(cb: Callback | undefined): Traceparent {
  expect(cb?.traceparents).toHaveLength(1);
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(cb?.traceparents[0] ?? '');
  expect(m).not.toBeNull();
  return { version: m![1]!, traceId: m![2]!, parentId: m![3]!, flags: Number.parseInt(m![4]!, 16) };
}

/** The tracestate members the service sent, as the suite's Tracestate parses them. */
function tracestateOf(cb: Callback | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of cb?.tracestate ?? []) {
    for (const member of line.split(',')) {
      const m = member.trim();
      if (m === '') continue;
      const eq = m.indexOf('=');
      out.set(m.slice(0, eq), m.slice(eq + 1));
    }
  }
  return out;
}

async function single(headers: [string, string][]): Promise<{ tp: Traceparent; ts: Map<string, string> }> {
  const [cb] = await send(headers);
  return { tp: traceparentOf(cb), ts: tracestateOf(cb) };
}

async function expectRestart(traceparent: string): Promise<void> {
  const { tp } = await single([['traceparent', traceparent]]);
  expect(tp.traceId).not.toBe(TRACE_ID);
}

async function expectDiscarded(lines: string[], key: string): Promise<void> {
  const { tp, ts } = await single([
    ['traceparent', TP()],
    ...lines.map((l): [string, string] => ['tracestate', l]),
  ]);
  expect(tp.traceId).toBe(TRACE_ID);
  expect(ts.has(key)).toBe(false);
  expect(ts.size).toBe(0);
}

describe('W3C Trace Context test suite, strict level 2 (TraceContextTest)', () => {
  it('test_both_traceparent_and_tracestate_missing', async () => {
    const { tp } = await single([]);
    expect(tp.version).toBe('00');
  });

  it('test_traceparent_included_tracestate_missing', async () => {
    const { tp } = await single([['traceparent', TP('01')]]);
    expect(tp.traceId).toBe(TRACE_ID);
    expect(tp.parentId).not.toBe(PARENT_ID);
  });

  it('test_traceparent_duplicated', async () => {
    const { tp } = await single([
      ['traceparent', `00-${TRACE_ID.slice(0, -1)}1-${PARENT_ID}-01`],
      ['traceparent', TP('01')],
    ]);
    expect(tp.traceId).not.toBe(`${TRACE_ID.slice(0, -1)}1`);
    expect(tp.traceId).not.toBe(TRACE_ID);
  });

  it('test_traceparent_header_name', async () => {
    for (const name of ['trace-parent', 'trace.parent']) {
      const { tp } = await single([[name, TP('01')]]);
      expect(tp.traceId).not.toBe(TRACE_ID);
    }
  });

  it('test_traceparent_header_name_valid_casing', async () => {
    for (const name of ['TraceParent', 'TrAcEpArEnT', 'TRACEPARENT']) {
      const { tp } = await single([[name, TP('01')]]);
      expect(tp.traceId).toBe(TRACE_ID);
    }
  });

  it('test_traceparent_version_0x00', async () => {
    await expectRestart(`${TP('01')}.`);
    await expectRestart(`${TP('01')}-what-the-future-will-be-like`);
  });

  it('test_traceparent_version_0xcc', async () => {
    for (const value of [
      `cc-${TRACE_ID}-${PARENT_ID}-01`,
      `cc-${TRACE_ID}-${PARENT_ID}-01-what-the-future-will-be-like`,
    ]) {
      const { tp } = await single([['traceparent', value]]);
      expect(tp.traceId).toBe(TRACE_ID);
      expect(tp.version).toBe('00');
    }
    await expectRestart(`cc-${TRACE_ID}-${PARENT_ID}-01.what-the-future-will-be-like`);
  });

  it('test_traceparent_version_0xff', async () => {
    await expectRestart(`ff-${TRACE_ID}-${PARENT_ID}-01`);
  });

  it('test_traceparent_version_illegal_characters', async () => {
    await expectRestart(`.0-${TRACE_ID}-${PARENT_ID}-01`);
    await expectRestart(`0.-${TRACE_ID}-${PARENT_ID}-01`);
  });

  it('test_traceparent_version_too_long', async () => {
    await expectRestart(`000-${TRACE_ID}-${PARENT_ID}-01`);
    await expectRestart(`0000-${TRACE_ID}-${PARENT_ID}-01`);
  });

  it('test_traceparent_version_too_short', async () => {
    await expectRestart(`0-${TRACE_ID}-${PARENT_ID}-01`);
  });

  it('test_traceparent_trace_id_all_zero', async () => {
    const { tp } = await single([['traceparent', `00-${'0'.repeat(32)}-${PARENT_ID}-01`]]);
    expect(tp.traceId).not.toBe('0'.repeat(32));
  });

  it('test_traceparent_trace_id_illegal_characters', async () => {
    await expectRestart(`00-.${TRACE_ID.slice(1)}-${PARENT_ID}-01`);
    await expectRestart(`00-${TRACE_ID.slice(0, -1)}.-${PARENT_ID}-01`);
  });

  it('test_traceparent_trace_id_too_long', async () => {
    const { tp } = await single([['traceparent', `00-${TRACE_ID}3-${PARENT_ID}-01`]]);
    expect(tp.traceId).not.toBe(TRACE_ID);
    expect(tp.traceId).not.toBe(`${TRACE_ID.slice(1)}3`);
  });

  it('test_traceparent_trace_id_too_short', async () => {
    await expectRestart(`00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`);
  });

  it('test_traceparent_parent_id_all_zero', async () => {
    await expectRestart(`00-${TRACE_ID}-${'0'.repeat(16)}-01`);
  });

  it('test_traceparent_parent_id_illegal_characters', async () => {
    await expectRestart(`00-${TRACE_ID}-.${PARENT_ID.slice(1)}-01`);
    await expectRestart(`00-${TRACE_ID}-${PARENT_ID.slice(0, -1)}.-01`);
  });

  it('test_traceparent_parent_id_too_long', async () => {
    await expectRestart(`00-${TRACE_ID}-${PARENT_ID}7-01`);
  });

  it('test_traceparent_parent_id_too_short', async () => {
    await expectRestart(`00-${TRACE_ID}-${PARENT_ID.slice(1)}-01`);
  });

  it('test_traceparent_trace_flags_illegal_characters', async () => {
    await expectRestart(`00-${TRACE_ID}-${PARENT_ID}-.0`);
    await expectRestart(`00-${TRACE_ID}-${PARENT_ID}-0.`);
  });

  it('test_traceparent_trace_flags_too_long', async () => {
    await expectRestart(`00-${TRACE_ID}-${PARENT_ID}-001`);
  });

  it('test_traceparent_trace_flags_too_short', async () => {
    await expectRestart(`00-${TRACE_ID}-${PARENT_ID}-1`);
  });

  it('test_traceparent_ows_handling', async () => {
    for (const value of [
      ` ${TP('01')}`,
      `\t${TP('01')}`,
      `${TP('01')} `,
      `${TP('01')}\t`,
      `\t ${TP('01')} \t`,
    ]) {
      const { tp } = await single([['traceparent', value]]);
      expect(tp.traceId).toBe(TRACE_ID);
    }
  });

  it('test_tracestate_included_traceparent_missing', async () => {
    const a = await single([['tracestate', 'foo=1']]);
    const b = await single([['tracestate', 'foo=1,bar=2']]);
    expect(a.ts.size).toBe(b.ts.size);
    expect(a.ts.size).toBe(0);
  });

  it('test_tracestate_included_traceparent_included', async () => {
    const { tp, ts } = await single([
      ['traceparent', TP()],
      ['tracestate', 'foo=1,bar=2'],
    ]);
    expect(tp.traceId).toBe(TRACE_ID);
    expect(Object.fromEntries(ts)).toEqual({ foo: '1', bar: '2' });
  });

  it('test_tracestate_header_name', async () => {
    for (const name of ['trace-state', 'trace.state']) {
      const { ts } = await single([
        ['traceparent', TP()],
        [name, 'foo=1'],
      ]);
      expect(ts.has('foo')).toBe(false);
    }
  });

  it('test_tracestate_header_name_valid_casing', async () => {
    for (const name of ['TraceState', 'TrAcEsTaTe', 'TRACESTATE']) {
      const { ts } = await single([
        ['traceparent', TP()],
        [name, 'foo=1'],
      ]);
      expect(ts.get('foo')).toBe('1');
    }
  });

  it('test_tracestate_empty_header', async () => {
    const empty = await send([
      ['traceparent', TP()],
      ['tracestate', ''],
    ]);
    expect(traceparentOf(empty[0]).traceId).toBe(TRACE_ID);
    expect(empty[0]?.tracestate).toEqual([]);
    for (const lines of [
      ['foo=1', ''],
      ['', 'foo=1'],
    ]) {
      const { tp, ts } = await single([
        ['traceparent', TP()],
        ...lines.map((l): [string, string] => ['tracestate', l]),
      ]);
      expect(tp.traceId).toBe(TRACE_ID);
      expect(ts.get('foo')).toBe('1');
    }
  });

  it('test_tracestate_multiple_headers_different_keys', async () => {
    const [cb] = await send([
      ['traceparent', TP()],
      ['tracestate', 'foo=1,bar=2'],
      ['tracestate', 'rojo=1,congo=2'],
      ['tracestate', 'baz=3'],
    ]);
    expect(traceparentOf(cb).traceId).toBe(TRACE_ID);
    expect(cb?.tracestate.join(',')).toBe('foo=1,bar=2,rojo=1,congo=2,baz=3');
  });

  it('test_tracestate_duplicated_keys (strict: the whole tracestate is discarded)', async () => {
    await expectDiscarded(['foo=1,foo=1'], 'foo');
    await expectDiscarded(['foo=1,foo=2'], 'foo');
    await expectDiscarded(['foo=1', 'foo=1'], 'foo');
    await expectDiscarded(['foo=1', 'foo=2'], 'foo');
  });

  it('test_tracestate_all_allowed_characters', async () => {
    const key = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/';
    const vendorKey = `${key}@a-z0-9_-*/`;
    let value = '';
    for (let c = 0x20; c <= 0x7e; c++) if (c !== 0x2c && c !== 0x3d) value += String.fromCharCode(c);
    for (const k of [key, vendorKey]) {
      const { ts } = await single([
        ['traceparent', TP()],
        ['tracestate', `${k}=${value}`],
      ]);
      expect(ts.get(k)).toBe(value);
    }
  });

  it('test_tracestate_ows_handling', async () => {
    for (const line of ['foo=1 \t , \t bar=2, \t baz=3', 'foo=1\t \t,\t \tbar=2,\t \tbaz=3']) {
      const { ts } = await single([
        ['traceparent', TP()],
        ['tracestate', line],
      ]);
      expect(Object.fromEntries(ts)).toEqual({ foo: '1', bar: '2', baz: '3' });
    }
    for (const line of [' foo=1', '\tfoo=1', 'foo=1 ', 'foo=1\t', '\t foo=1 \t']) {
      const { tp, ts } = await single([
        ['traceparent', TP()],
        ['tracestate', line],
      ]);
      expect(tp.traceId).toBe(TRACE_ID);
      expect(ts.get('foo')).toBe('1');
    }
  });

  it('test_tracestate_key_illegal_characters (strict: discarded)', async () => {
    await expectDiscarded(['foo =1'], 'foo ');
    await expectDiscarded(['FOO=1'], 'FOO');
    await expectDiscarded(['foo.bar=1'], 'foo.bar');
    // Strict means the valid neighbours go too.
    await expectDiscarded(['ok=1,FOO=1'], 'ok');
  });

  it('test_tracestate_key_illegal_vendor_format (strict: discarded)', async () => {
    for (const bad of ['foo@=1,bar=2', '@foo=1,bar=2', 'foo@@bar=1,bar=2', 'foo@bar@baz=1,bar=2']) {
      await expectDiscarded([bad], 'bar');
    }
  });

  it('test_tracestate_member_count_limit (strict: 32 kept, 33 discarded)', async () => {
    const member = (i: number) => `bar${String(i).padStart(2, '0')}=${String(i).padStart(2, '0')}`;
    const lines = (n: number): string[] => {
      const all = Array.from({ length: n }, (_, i) => member(i + 1));
      return [all.slice(0, 10), all.slice(10, 20), all.slice(20, 30), all.slice(30)].map((l) => l.join(','));
    };
    const kept = await single([
      ['traceparent', TP()],
      ...lines(32).map((l): [string, string] => ['tracestate', l]),
    ]);
    expect(kept.ts.get('bar01')).toBe('01');
    expect(kept.ts.size).toBe(32);
    await expectDiscarded(lines(33), 'bar01');
  });

  it('test_tracestate_key_length_limit (strict)', async () => {
    const keep = async (line: string) => {
      const { ts } = await single([
        ['traceparent', TP()],
        ['tracestate', 'foo=1'],
        ['tracestate', line],
      ]);
      expect(ts.get('foo')).toBe('1');
    };
    await keep(`${'z'.repeat(256)}=1`);
    await keep(`${'t'.repeat(241)}@${'v'.repeat(14)}=1`);
    await expectDiscarded(['foo=1', `${'z'.repeat(257)}=1`], 'foo');
    await expectDiscarded(['foo=1', `${'t'.repeat(242)}@v=1`], 'foo');
    await expectDiscarded(['foo=1', `t@${'v'.repeat(15)}=1`], 'foo');
  });

  it('test_tracestate_value_illegal_characters (strict: discarded)', async () => {
    await expectDiscarded(['foo=bar=baz'], 'foo');
    await expectDiscarded(['foo=,bar=3'], 'bar');
  });
});

describe('W3C Trace Context test suite (AdvancedTest)', () => {
  it('test_multiple_requests_with_valid_traceparent', async () => {
    const cbs = await send([['traceparent', TP('01')]], 3);
    const tps = cbs.map(traceparentOf);
    expect(new Set(tps.map((t) => t.traceId))).toEqual(new Set([TRACE_ID]));
    expect(new Set(tps.map((t) => t.parentId)).size).toBe(3);
  });

  it('test_multiple_requests_without_traceparent', async () => {
    const tps = (await send([], 3)).map(traceparentOf);
    expect(new Set(tps.map((t) => t.parentId)).size).toBe(3);
    expect(new Set(tps.map((t) => t.traceId)).size).toBe(1);
  });

  it('test_multiple_requests_with_illegal_traceparent', async () => {
    const tps = (await send([['traceparent', `00-${'0'.repeat(32)}-${PARENT_ID}-01`]], 3)).map(traceparentOf);
    expect(tps.some((t) => t.traceId === '0'.repeat(32))).toBe(false);
    expect(new Set(tps.map((t) => t.parentId)).size).toBe(3);
  });
});

describe('W3C Trace Context Level 2: the random flag (0x02)', () => {
  it('survives on every outgoing traceparent of the trace and on traceresponse, sampled or not', async () => {
    for (const [incoming, outgoing] of [
      ['03', 0x03],
      ['02', 0x02],
    ] as const) {
      const cbs = await send([['traceparent', TP(incoming)]], 3);
      for (const tp of cbs.map(traceparentOf)) {
        expect(tp.traceId).toBe(TRACE_ID);
        expect(tp.flags).toBe(outgoing);
      }
      // The service's own spans carry only the sampled bit (the SDK's rule): the flag is ours.
      const spans = await telemetry.waitForSpans(incoming === '03' ? 4 : 0);
      for (const s of spans) expect(s.spanContext().traceFlags & 0x02).toBe(0);
      if (incoming === '03')
        expect(lastTraceresponse).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-03$`));
      telemetry.reset();
    }
  });

  it('is not invented: a trace that arrived without it, or a new trace, goes out without it', async () => {
    for (const headers of [[['traceparent', TP('01')]], []] as [string, string][][]) {
      const [cb] = await send(headers);
      expect(traceparentOf(cb).flags & 0x02).toBe(0);
    }
  });
});
