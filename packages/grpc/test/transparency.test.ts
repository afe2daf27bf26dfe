// Transparency: the same calls of all four kinds against the bare grpc-js server and the same server
// with `otelGrpcServerInterceptor()`, from clients with and without `otelGrpcClientInterceptor()`.
// Callers must see exactly the same thing (code, details, error message, response messages, response
// metadata, trailers, event order), and handlers too, except for the one documented addition: the
// `trace-id` trailer of non-OK statuses the handler sent. Every case also has explicit expectations
// on the bare server's answer, so it cannot pass by both sides being wrong.
import * as grpc from '@grpc/grpc-js';
import { SpanKind } from '@opentelemetry/api';
import { createTelemetry } from '@tracewire/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OtelGrpcServerOptions } from '../src/index.js';
import { diagMessages, GRPC_JS_LINE, type OrdersClient } from './harness.js';
import {
  type CallPlan,
  type Observed,
  observe,
  STATUS_DETAILS,
  startTransparencyServer,
  type TransparencyServer,
  transparencyClient,
} from './transparency-app.js';

const telemetry = createTelemetry();

interface Combination {
  name: string;
  server: 'bare' | 'tracewire';
  client: 'plain' | 'tracewire';
}

/** The first one is the reference: bare server, plain client. */
const COMBINATIONS: Combination[] = [
  { name: 'bare server, plain client', server: 'bare', client: 'plain' },
  { name: 'tracewire server, plain client', server: 'tracewire', client: 'plain' },
  { name: 'tracewire server, tracewire client', server: 'tracewire', client: 'tracewire' },
  { name: 'bare server, tracewire client', server: 'bare', client: 'tracewire' },
];

let servers: Record<'bare' | 'tracewire', TransparencyServer>;
let clients: OrdersClient[];

beforeAll(async () => {
  servers = {
    bare: await startTransparencyServer(telemetry, null),
    tracewire: await startTransparencyServer(telemetry, {}),
  };
  clients = COMBINATIONS.map((c) =>
    transparencyClient(telemetry, servers[c.server], c.client === 'tracewire'),
  );
});
afterEach(() => {
  telemetry.reset();
  diagMessages.length = 0;
});
afterAll(async () => {
  for (const c of clients) c.close();
  servers.bare.close();
  servers.tracewire.close();
  await telemetry.shutdown();
});

interface Case {
  name: string;
  plan: Omit<CallPlan, 'callId'>;
  /**
   * Whether the status comes from the handler (through the interceptors), so the tracewire server
   * adds `trace-id` to a non-OK one. False for statuses grpc-js or the client make up (cancel,
   * deadline, unknown method).
   */
  fromHandler: boolean;
  /** Explicit expectations on the bare server's answer, and what its handler saw. */
  expectBare: (o: Observed, seen: string[]) => void;
}

/**
 * A deadline status comes from whichever timer fires first: the client's own ("Deadline exceeded
 * after <timings>", no trailers) or the server's (grpc-js sends "Deadline exceeded" itself, as a
 * trailers-only response when nothing was sent yet). Client and server share one event loop, and
 * `grpc-timeout` is rounded down, so that race is grpc-js's, not the interceptors': both outcomes
 * are made equal (neither passes through an interceptor, so neither has a `trace-id`).
 */
function deadlineOutcome(o: Observed): Observed {
  if (o.code !== status.DEADLINE_EXCEEDED) return o;
  const { 'trace-id': traceId } = o.trailers;
  return {
    ...o,
    details: 'Deadline exceeded',
    errorMessage: '4 DEADLINE_EXCEEDED: Deadline exceeded',
    trailers: traceId === undefined ? {} : { 'trace-id': traceId },
  };
}

const { status } = grpc;
const INITIAL = { 'x-initial': ['yes'] };
const TRAILERS = { 'x-trailer': ['t1'], 'x-blob-bin': [Buffer.from([1, 2, 3])] };
/** What grpc-js sends for a handler that throws: 1.10 includes the message, later lines do not. */
const THROWN_DETAILS =
  GRPC_JS_LINE === '1.10' ? 'Server method handler threw error handler threw: secret' : 'Unknown error';

function expectOk(o: Observed): void {
  expect(o.code).toBe(status.OK);
  expect(o.details).toBe('OK');
  expect(o.errorMessage).toBeNull();
}

function expectError(o: Observed, code: number, details: string): void {
  expect(o.code).toBe(code);
  expect(o.details).toBe(details);
  expect(o.errorMessage).toBe(`${code} ${status[code]}: ${details}`);
}

const CASES: Case[] = [
  // unary
  {
    name: 'unary: OK with response headers and trailers',
    plan: { kind: 'unary', mode: 'ok' },
    fromHandler: true,
    expectBare: (o) => {
      expectOk(o);
      expect(o.responses).toEqual([{ id: 'r1', traceId: '', spanId: '' }]);
      expect(o.headers).toMatchObject(INITIAL);
      expect(o.trailers).toMatchObject(TRAILERS);
    },
  },
  {
    name: 'unary: OK, nothing else',
    plan: { kind: 'unary', mode: 'ok-plain' },
    fromHandler: true,
    expectBare: (o) => {
      expectOk(o);
      expect(o.responses).toHaveLength(1);
    },
  },
  {
    name: 'unary: callback({ code: INTERNAL, details })',
    plan: { kind: 'unary', mode: 'status-internal' },
    fromHandler: true,
    expectBare: (o) => expectError(o, status.INTERNAL, 'db down: replica lag'),
  },
  {
    name: 'unary: callback(new Error)',
    plan: { kind: 'unary', mode: 'error' },
    fromHandler: true,
    expectBare: (o) => expectError(o, status.UNKNOWN, 'boom'),
  },
  {
    name: 'unary: UNAVAILABLE with details and trailers',
    plan: { kind: 'unary', mode: 'unavailable' },
    fromHandler: true,
    expectBare: (o) => {
      expectError(o, status.UNAVAILABLE, 'try later');
      expect(o.trailers).toMatchObject({ 'x-retry-after': ['5'] });
    },
  },
  {
    name: 'unary: thrown in the handler',
    plan: { kind: 'unary', mode: 'throw' },
    fromHandler: true,
    expectBare: (o) => expectError(o, status.UNKNOWN, THROWN_DETAILS),
  },
  {
    name: 'unary: grpc-status-details-bin in the trailers',
    plan: { kind: 'unary', mode: 'status-details' },
    fromHandler: true,
    expectBare: (o) => {
      expectError(o, status.INTERNAL, 'see status details');
      expect(o.trailers).toMatchObject({
        'grpc-status-details-bin': [STATUS_DETAILS],
        'x-debug-id': ['abc-123'],
      });
    },
  },
  {
    name: 'unary: client error, details with characters to escape',
    plan: { kind: 'unary', mode: 'client-error' },
    fromHandler: true,
    expectBare: (o) => expectError(o, status.INVALID_ARGUMENT, 'id must be numeric: «x» 100% /a?b=c'),
  },
  {
    name: 'unary: a code outside 0-16',
    plan: { kind: 'unary', mode: 'non-canonical' },
    fromHandler: true,
    expectBare: (o) => {
      expect(o.code).toBe(42);
      expect(o.details).toBe('what');
    },
  },
  {
    name: 'unary: error after response headers',
    plan: { kind: 'unary', mode: 'error-after-metadata' },
    fromHandler: true,
    expectBare: (o) => {
      expectError(o, status.NOT_FOUND, 'gone');
      expect(o.headers).toMatchObject(INITIAL);
      expect(o.trailers).toMatchObject(TRAILERS);
    },
  },
  {
    name: 'unary: cancelled by the client',
    plan: { kind: 'unary', mode: 'slow', cancel: true },
    fromHandler: false,
    expectBare: (o, seen) => {
      expectError(o, status.CANCELLED, 'Cancelled on client');
      expect(seen).toContain('cancelled');
      expect(seen).toContain('done');
    },
  },
  {
    name: 'unary: deadline exceeded',
    plan: { kind: 'unary', mode: 'slow', deadlineMs: 150 },
    fromHandler: false,
    expectBare: (o, seen) => {
      expect(o.code).toBe(status.DEADLINE_EXCEEDED);
      expect(o.responses).toEqual([]);
      expect(seen).toContain('cancelled');
    },
  },

  // client streaming
  {
    name: 'client stream: OK with trailers',
    plan: { kind: 'client_stream', mode: 'ok', send: 3 },
    fromHandler: true,
    expectBare: (o, seen) => {
      expectOk(o);
      expect(o.responses).toEqual([{ count: 3 }]);
      expect(o.trailers).toMatchObject(TRAILERS);
      expect(seen).toEqual(['end after 3']);
    },
  },
  {
    name: 'client stream: callback({ code: INTERNAL, details })',
    plan: { kind: 'client_stream', mode: 'status-internal' },
    fromHandler: true,
    expectBare: (o) => expectError(o, status.INTERNAL, 'db down: replica lag'),
  },
  {
    name: 'client stream: callback(new Error)',
    plan: { kind: 'client_stream', mode: 'error' },
    fromHandler: true,
    expectBare: (o) => expectError(o, status.UNKNOWN, 'boom'),
  },
  {
    name: 'client stream: thrown in the handler',
    plan: { kind: 'client_stream', mode: 'throw' },
    fromHandler: true,
    expectBare: (o) => expectError(o, status.UNKNOWN, THROWN_DETAILS),
  },
  {
    name: 'client stream: grpc-status-details-bin in the trailers',
    plan: { kind: 'client_stream', mode: 'status-details' },
    fromHandler: true,
    expectBare: (o) => {
      expectError(o, status.INTERNAL, 'see status details');
      expect(o.trailers).toMatchObject({ 'grpc-status-details-bin': [STATUS_DETAILS] });
    },
  },
  {
    name: 'client stream: cancelled by the client',
    plan: { kind: 'client_stream', mode: 'slow', send: 1, cancel: true },
    fromHandler: false,
    expectBare: (o, seen) => {
      expectError(o, status.CANCELLED, 'Cancelled on client');
      expect(seen).toContain('cancelled');
    },
  },
  {
    name: 'client stream: deadline exceeded',
    plan: { kind: 'client_stream', mode: 'slow', send: 1, deadlineMs: 150 },
    fromHandler: false,
    expectBare: (o, seen) => {
      expect(o.code).toBe(status.DEADLINE_EXCEEDED);
      expect(seen).toContain('cancelled');
    },
  },

  // server streaming
  {
    name: 'server stream: ends OK after several messages, with headers and trailers',
    plan: { kind: 'server_stream', mode: 'ok', count: 5 },
    fromHandler: true,
    expectBare: (o) => {
      expectOk(o);
      expect(o.responses.map((r) => (r as { id: string }).id)).toEqual(['0', '1', '2', '3', '4']);
      expect(o.headers).toMatchObject(INITIAL);
      expect(o.trailers).toMatchObject(TRAILERS);
      expect(o.events.filter((e) => e === 'data')).toHaveLength(5);
      expect(o.events).toContain('end');
    },
  },
  {
    name: 'server stream: OK with no messages',
    plan: { kind: 'server_stream', mode: 'ok-plain', count: 0 },
    fromHandler: true,
    expectBare: (o) => {
      expectOk(o);
      expect(o.responses).toEqual([]);
    },
  },
  {
    name: "server stream: emit('error', { code: INTERNAL, details }) after messages",
    plan: { kind: 'server_stream', mode: 'status-internal', count: 2 },
    fromHandler: true,
    expectBare: (o) => {
      expectError(o, status.INTERNAL, 'db down: replica lag');
      expect(o.responses).toHaveLength(2);
    },
  },
  {
    name: "server stream: emit('error', new Error) after messages",
    plan: { kind: 'server_stream', mode: 'error', count: 2 },
    fromHandler: true,
    expectBare: (o) => expectError(o, status.UNKNOWN, 'boom'),
  },
  {
    name: 'server stream: UNAVAILABLE with trailers',
    plan: { kind: 'server_stream', mode: 'unavailable', count: 1 },
    fromHandler: true,
    expectBare: (o) => {
      expectError(o, status.UNAVAILABLE, 'try later');
      expect(o.trailers).toMatchObject({ 'x-retry-after': ['5'] });
    },
  },
  {
    name: 'server stream: thrown in the handler',
    plan: { kind: 'server_stream', mode: 'throw' },
    fromHandler: true,
    expectBare: (o) => expectError(o, status.UNKNOWN, THROWN_DETAILS),
  },
  {
    name: 'server stream: grpc-status-details-bin in the trailers',
    plan: { kind: 'server_stream', mode: 'status-details', count: 1 },
    fromHandler: true,
    expectBare: (o) => {
      expectError(o, status.INTERNAL, 'see status details');
      expect(o.trailers).toMatchObject({ 'grpc-status-details-bin': [STATUS_DETAILS] });
    },
  },
  {
    name: 'server stream: cancelled by the client after two messages',
    plan: { kind: 'server_stream', mode: 'slow', count: 2, cancel: true },
    fromHandler: false,
    expectBare: (o, seen) => {
      expectError(o, status.CANCELLED, 'Cancelled on client');
      expect(o.responses).toHaveLength(2);
      expect(seen).toContain('cancelled');
    },
  },
  {
    name: 'server stream: deadline exceeded after a message',
    plan: { kind: 'server_stream', mode: 'slow', count: 1, deadlineMs: 150 },
    fromHandler: false,
    expectBare: (o) => {
      expect(o.code).toBe(status.DEADLINE_EXCEEDED);
      expect(o.responses).toHaveLength(1);
    },
  },

  // bidi
  {
    name: 'bidi: OK echo with trailers',
    plan: { kind: 'bidi', mode: 'ok', send: 3 },
    fromHandler: true,
    expectBare: (o, seen) => {
      expectOk(o);
      expect(o.responses.map((r) => (r as { id: string }).id)).toEqual(['0', '1', '2']);
      expect(o.trailers).toMatchObject(TRAILERS);
      expect(seen).toEqual(['end after 3']);
    },
  },
  {
    name: "bidi: emit('error', { code: INTERNAL, details }) mid-stream",
    plan: { kind: 'bidi', mode: 'status-internal', send: 2, halfClose: false },
    fromHandler: true,
    expectBare: (o) => {
      expectError(o, status.INTERNAL, 'db down: replica lag');
      expect(o.responses).toHaveLength(2);
    },
  },
  {
    name: "bidi: emit('error', new Error) mid-stream",
    plan: { kind: 'bidi', mode: 'error', send: 2, halfClose: false },
    fromHandler: true,
    expectBare: (o) => expectError(o, status.UNKNOWN, 'boom'),
  },
  {
    name: 'bidi: client error with trailers',
    plan: { kind: 'bidi', mode: 'client-error', send: 2, halfClose: false },
    fromHandler: true,
    expectBare: (o) => {
      expectError(o, status.INVALID_ARGUMENT, 'id must be numeric: «x» 100% /a?b=c');
      expect(o.trailers).toMatchObject({ 'x-retry-after': ['5'] });
    },
  },
  {
    name: 'bidi: thrown in the handler',
    plan: { kind: 'bidi', mode: 'throw', send: 1, halfClose: false },
    fromHandler: true,
    expectBare: (o) => expectError(o, status.UNKNOWN, THROWN_DETAILS),
  },
  {
    name: 'bidi: grpc-status-details-bin in the trailers',
    plan: { kind: 'bidi', mode: 'status-details', send: 2, halfClose: false },
    fromHandler: true,
    expectBare: (o) => {
      expectError(o, status.INTERNAL, 'see status details');
      expect(o.trailers).toMatchObject({ 'grpc-status-details-bin': [STATUS_DETAILS] });
    },
  },
  {
    name: 'bidi: cancelled by the client',
    plan: { kind: 'bidi', mode: 'slow', send: 1, cancel: true },
    fromHandler: false,
    expectBare: (o, seen) => {
      expectError(o, status.CANCELLED, 'Cancelled on client');
      expect(o.responses).toHaveLength(1);
      expect(seen).toContain('cancelled');
    },
  },
  {
    name: 'bidi: deadline exceeded',
    plan: { kind: 'bidi', mode: 'slow', send: 1, deadlineMs: 150 },
    fromHandler: false,
    expectBare: (o) => expect(o.code).toBe(status.DEADLINE_EXCEEDED),
  },

  // methods the server does not have
  {
    name: 'unknown method of a known service (unary)',
    plan: { kind: 'unknown_unary', mode: 'ok' },
    fromHandler: false,
    expectBare: (o) => {
      expect(o.code).toBe(status.UNIMPLEMENTED);
      expect(o.details).toContain('/tracewire.test.Orders/Missing');
    },
  },
  {
    name: 'unknown service (bidi)',
    plan: { kind: 'unknown_bidi', mode: 'ok' },
    fromHandler: false,
    expectBare: (o) => {
      expect(o.code).toBe(status.UNIMPLEMENTED);
      expect(o.details).toContain('/tracewire.nope.Nothing/Chat');
    },
  },
];

const TRACE_ID = /^[0-9a-f]{32}$/;

/** Takes out the one documented difference, after checking it is there exactly when it should be. */
function withoutTraceId(o: Observed, expected: boolean): Observed {
  const { 'trace-id': traceId, ...trailers } = o.trailers;
  if (expected) {
    expect(traceId).toEqual([expect.stringMatching(TRACE_ID)]);
  } else {
    expect(traceId).toBeUndefined();
  }
  return { ...o, trailers };
}

let sequence = 0;

describe(`grpc-js ${GRPC_JS_LINE}: transparency`, () => {
  it.each(CASES)('$name', async ({ plan, fromHandler, expectBare }) => {
    const id = `call-${++sequence}`;
    const results = await Promise.all(
      COMBINATIONS.map((combination, i) =>
        observe(clients[i]!, servers[combination.server], { ...plan, callId: `${id}-${i}` }),
      ),
    );
    for (const r of results) r.observed = deadlineOutcome(r.observed);
    const reference = results[0]!;
    expectBare(reference.observed, reference.seen);
    const known = !plan.kind.startsWith('unknown');
    const sentTraceIds: unknown[] = [];
    for (const [i, combination] of COMBINATIONS.entries()) {
      const { observed, seen } = results[i]!;
      if (observed.trailers['trace-id'] !== undefined)
        sentTraceIds.push(...(observed.trailers['trace-id'] as unknown[]));
      const traceId = combination.server === 'tracewire' && fromHandler && observed.code !== status.OK;
      const comparable = withoutTraceId(observed, traceId);
      expect({ combination: combination.name, ...comparable }).toEqual({
        combination: combination.name,
        ...withoutTraceId(reference.observed, false),
      });
      expect({ combination: combination.name, seen }).toEqual({
        combination: combination.name,
        seen: reference.seen,
      });
    }
    // tracewire really was there: one SERVER span per call the tracewire server handled (grpc-js
    // answers unknown methods before interceptors run), one CLIENT span per tracewire client call.
    const serverSpans = known ? COMBINATIONS.filter((c) => c.server === 'tracewire').length : 0;
    const clientSpans = COMBINATIONS.filter((c) => c.client === 'tracewire').length;
    const spans = await telemetry.waitForSpans(serverSpans + clientSpans);
    const serverSpanList = spans.filter((s) => s.kind === SpanKind.SERVER);
    expect(serverSpanList).toHaveLength(serverSpans);
    // The `trace-id` trailer is the trace of the call's server span.
    const serverTraceIds = serverSpanList.map((s) => s.spanContext().traceId);
    for (const traceId of sentTraceIds) expect(serverTraceIds).toContain(traceId);
    expect(spans.filter((s) => s.kind === SpanKind.CLIENT)).toHaveLength(clientSpans);
    expect(diagMessages).toEqual([]);
  });
});

/** One call of a mode against a tracewire server with these options; the client is plain. */
async function callWith(options: OtelGrpcServerOptions, plan: Omit<CallPlan, 'callId'>): Promise<Observed> {
  const server = await startTransparencyServer(telemetry, options);
  const client = transparencyClient(telemetry, server, false);
  try {
    return (await observe(client, server, { ...plan, callId: `redact-${++sequence}` })).observed;
  } finally {
    client.close();
    server.close();
  }
}

describe(`grpc-js ${GRPC_JS_LINE}: redactErrorDetails`, () => {
  const internal = { kind: 'unary', mode: 'status-internal' } as const;

  it('true: server-error details become the code name; code and trailers are kept', async () => {
    const o = await callWith({ redactErrorDetails: true }, { kind: 'unary', mode: 'status-details' });
    expect(o.code).toBe(status.INTERNAL);
    expect(o.details).toBe('INTERNAL');
    expect(o.errorMessage).not.toContain('see status details');
    expect(o.trailers).toMatchObject({
      'grpc-status-details-bin': [STATUS_DETAILS],
      'x-debug-id': ['abc-123'],
    });
    expect(o.trailers['trace-id']).toEqual([expect.stringMatching(TRACE_ID)]);
    // The span is internal telemetry: it keeps the real details.
    const [span] = (await telemetry.waitForSpans(1)).filter((s) => s.kind === SpanKind.SERVER);
    expect(span?.status.message).toBe('see status details');
  });

  it('true: every server-error code and call kind, and never client errors or OK', async () => {
    const redact = { redactErrorDetails: true };
    expect((await callWith(redact, { kind: 'unary', mode: 'error' })).details).toBe('UNKNOWN');
    expect((await callWith(redact, { kind: 'unary', mode: 'unavailable' })).details).toBe('UNAVAILABLE');
    expect((await callWith(redact, { kind: 'unary', mode: 'throw' })).details).toBe('UNKNOWN');
    expect((await callWith(redact, { kind: 'unary', mode: 'non-canonical' })).details).toBe('UNKNOWN');
    expect((await callWith(redact, { kind: 'client_stream', mode: 'status-internal' })).details).toBe(
      'INTERNAL',
    );
    expect((await callWith(redact, { kind: 'server_stream', mode: 'error', count: 2 })).details).toBe(
      'UNKNOWN',
    );
    expect((await callWith(redact, { kind: 'bidi', mode: 'error', send: 2, halfClose: false })).details).toBe(
      'UNKNOWN',
    );
    expect((await callWith(redact, { kind: 'unary', mode: 'client-error' })).details).toBe(
      'id must be numeric: «x» 100% /a?b=c',
    );
    const ok = await callWith(redact, { kind: 'server_stream', mode: 'ok', count: 2 });
    expect(ok.code).toBe(status.OK);
    expect(ok.responses).toHaveLength(2);
  });

  it('default: off for calls that are not public', async () => {
    expect((await callWith({}, internal)).details).toBe('db down: replica lag');
    expect((await callWith({ publicEndpoint: false }, internal)).details).toBe('db down: replica lag');
    expect((await callWith({ publicEndpoint: () => false }, internal)).details).toBe('db down: replica lag');
  });

  it('default: on for calls publicEndpoint marks public', async () => {
    expect((await callWith({ publicEndpoint: true }, internal)).details).toBe('INTERNAL');
    const perCall = {
      publicEndpoint: (r: { metadata: grpc.Metadata }) => r.metadata.get('x-mode')[0] === 'error',
    };
    expect((await callWith(perCall, { kind: 'unary', mode: 'error' })).details).toBe('UNKNOWN');
    expect((await callWith(perCall, internal)).details).toBe('db down: replica lag');
    // Client errors are the application's deliberate answer: kept for public callers too.
    expect((await callWith({ publicEndpoint: true }, { kind: 'unary', mode: 'client-error' })).details).toBe(
      'id must be numeric: «x» 100% /a?b=c',
    );
  });

  it('an explicit value wins over publicEndpoint', async () => {
    expect((await callWith({ publicEndpoint: true, redactErrorDetails: false }, internal)).details).toBe(
      'db down: replica lag',
    );
    expect((await callWith({ publicEndpoint: false, redactErrorDetails: true }, internal)).details).toBe(
      'INTERNAL',
    );
  });

  it('a predicate decides per call; a throwing one redacts and is reported', async () => {
    const seen: string[] = [];
    const predicate = (r: { path: string; method: string; kind: string; metadata: grpc.Metadata }) => {
      seen.push(`${r.kind} ${r.method}`);
      return r.metadata.get('x-mode')[0] === 'error';
    };
    expect(
      (await callWith({ redactErrorDetails: predicate }, { kind: 'unary', mode: 'error' })).details,
    ).toBe('UNKNOWN');
    expect((await callWith({ redactErrorDetails: predicate }, internal)).details).toBe(
      'db down: replica lag',
    );
    // Asked only when a server error is sent.
    await callWith({ redactErrorDetails: predicate }, { kind: 'unary', mode: 'ok' });
    await callWith({ redactErrorDetails: predicate }, { kind: 'unary', mode: 'client-error' });
    expect(seen).toEqual(['unary tracewire.test.Orders/GetOrder', 'unary tracewire.test.Orders/GetOrder']);

    const throwing = () => {
      throw new Error('predicate bug');
    };
    expect((await callWith({ redactErrorDetails: throwing }, internal)).details).toBe('INTERNAL');
    expect(diagMessages.filter((m) => m.includes('redactErrorDetails predicate threw'))).toHaveLength(1);
  });
});
