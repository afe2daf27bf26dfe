import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GrpcCode,
  PROBLEM_JSON_CONTENT_TYPE,
  type ProblemDetails,
  serializeProblemDetails,
  TracedError,
  toProblemDetails,
} from '../src/index.js';
import { hostileProxy, inSpan, setupOtel, type TestOtel, throwingGetters } from './otel.js';

let otel: TestOtel;
beforeAll(() => {
  otel = setupOtel();
});
afterAll(async () => {
  await otel.shutdown();
});

const FALLBACK = '{"type":"about:blank","title":"Internal Server Error","status":500}';

/** A database driver error full of things that must never reach a client. */
function leakyError(): Error {
  const cause = new Error('pg: password authentication failed for user "admin"');
  return Object.assign(
    new Error('connect ECONNREFUSED 10.1.2.3:5432 user=admin password=hunter2', { cause }),
    {
      detail: 'Key (email)=(alice@example.com) already exists.',
      where: 'PL/pgSQL function secret_fn() line 3 at RAISE',
      hint: 'Check pg_hba.conf for host 10.1.2.3',
      routine: 'auth_failed',
      statusCode: 502,
      response: { status: 502, body: 'upstream-body-marker' },
    },
  );
}

const SECRETS = [
  'ECONNREFUSED',
  '10.1.2.3',
  'hunter2',
  'admin',
  'password',
  'alice@example.com',
  'PL/pgSQL',
  'secret_fn',
  'pg_hba',
  'auth_failed',
  'upstream-body-marker',
  'Error:',
  '.ts:',
  'node_modules',
];

describe('toProblemDetails: 5xx', () => {
  it('contains only type/title/status/instance/traceId for a leaky driver error', () => {
    const err = leakyError();
    const { problem, traceId } = inSpan(otel.tracer, 'GET /users/:id', ({ traceId }) => ({
      problem: toProblemDetails(err, { instance: '/users/42' }),
      traceId,
    }));
    expect(problem).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      instance: '/users/42',
      traceId,
    });
    const body = serializeProblemDetails(problem);
    expect(Object.keys(JSON.parse(body)).sort()).toEqual(['instance', 'status', 'title', 'traceId', 'type']);
    for (const secret of SECRETS) expect(body).not.toContain(secret);
    expect(JSON.parse(body).status).toBe(500);
  });

  it('sends 503 for the same error with a system code, still without any of its text', () => {
    const err = Object.assign(leakyError(), { code: 'ECONNREFUSED' });
    const problem = toProblemDetails(err);
    expect(problem).toEqual({ type: 'about:blank', title: 'Service Unavailable', status: 503 });
    const body = serializeProblemDetails(problem);
    for (const secret of SECRETS) expect(body).not.toContain(secret);
  });

  it('never exposes a 5xx message even when expose is forced', () => {
    const err = new TracedError('stack trace: db at 10.1.2.3', {
      code: GrpcCode.UNAVAILABLE,
      expose: true,
      details: { host: '10.1.2.3' },
    });
    expect(toProblemDetails(err)).toEqual({ type: 'about:blank', title: 'Service Unavailable', status: 503 });
  });

  it('does not forward an upstream gRPC status or details', () => {
    const upstream = Object.assign(new Error('5 NOT_FOUND: user 42 in shard-7'), {
      code: GrpcCode.NOT_FOUND,
      details: 'user 42 in shard-7',
      metadata: {},
    });
    const problem = toProblemDetails(upstream);
    expect(problem).toEqual({ type: 'about:blank', title: 'Internal Server Error', status: 500 });
  });

  it('uses the trace id captured at creation, else the active span', () => {
    const err = inSpan(otel.tracer, 'origin', () => new TracedError('x', { code: GrpcCode.INTERNAL }));
    const later = inSpan(otel.tracer, 'handler', () => toProblemDetails(err));
    expect(later.traceId).toBe(err.traceId);
    const plain = inSpan(otel.tracer, 'handler', ({ traceId }) => ({ p: toProblemDetails('boom'), traceId }));
    expect(plain.p.traceId).toBe(plain.traceId);
    expect(toProblemDetails('boom')).not.toHaveProperty('traceId');
  });
});

describe('toProblemDetails: 4xx', () => {
  it('shows detail, code and JSON-safe details for an exposed client error', () => {
    const err = new TracedError('email must contain @', {
      code: GrpcCode.INVALID_ARGUMENT,
      details: { field: 'email', at: new Date(0), fn: () => 1, big: 12n },
    });
    expect(toProblemDetails(err, { instance: '/signup' })).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'email must contain @',
      instance: '/signup',
      code: 'INVALID_ARGUMENT',
      details: { field: 'email', at: '1970-01-01T00:00:00.000Z', big: '12' },
    });
  });

  it('hides detail and details of a non-exposed client error but keeps the code', () => {
    const err = new TracedError('policy 7b denied', {
      code: GrpcCode.PERMISSION_DENIED,
      expose: false,
      details: { policy: '7b' },
    });
    expect(toProblemDetails(err)).toEqual({
      type: 'about:blank',
      title: 'Forbidden',
      status: 403,
      code: 'PERMISSION_DENIED',
    });
  });

  it('uses the status phrase for about:blank and 499 Client Closed Request', () => {
    expect(toProblemDetails(new TracedError('x', { code: GrpcCode.CANCELLED }))).toMatchObject({
      status: 499,
      title: 'Client Closed Request',
      code: 'CANCELLED',
    });
    expect(toProblemDetails(new TracedError('x', { httpStatus: 413 })).title).toBe('Content Too Large');
    expect(toProblemDetails(new TracedError('x', { httpStatus: 460 })).title).toBe('Bad Request');
    expect(toProblemDetails(new TracedError('x', { httpStatus: 560 })).title).toBe('Internal Server Error');
    expect(toProblemDetails(new TracedError('x', { code: GrpcCode.NOT_FOUND, title: 'ignored' })).title).toBe(
      'Not Found',
    );
  });

  it('uses a custom type and title, resolving a relative type against typeBaseUri', () => {
    const err = new TracedError('balance is 30, cost is 50', {
      code: GrpcCode.FAILED_PRECONDITION,
      httpStatus: 403,
      type: 'out-of-credit',
      title: 'You do not have enough credit.',
    });
    expect(toProblemDetails(err, { typeBaseUri: 'https://errors.example.com/probs/' })).toMatchObject({
      type: 'https://errors.example.com/probs/out-of-credit',
      title: 'You do not have enough credit.',
      status: 403,
      detail: 'balance is 30, cost is 50',
    });
    expect(toProblemDetails(err).type).toBe('out-of-credit');
    const invalidType = new TracedError('x', {
      code: GrpcCode.NOT_FOUND,
      type: 'has spaces in it',
      title: 'T',
    });
    expect(toProblemDetails(invalidType)).toMatchObject({ type: 'about:blank', title: 'Not Found' });
  });

  it('keeps a trusted http-errors 4xx message', () => {
    const koa = Object.assign(new Error('Order 7 not found'), { status: 404, statusCode: 404, expose: true });
    expect(toProblemDetails(koa)).toMatchObject({
      status: 404,
      title: 'Not Found',
      detail: 'Order 7 not found',
    });
  });

  it('caps instance at 1024 characters and ignores non-strings', () => {
    const problem = toProblemDetails(new TracedError('x', { code: GrpcCode.NOT_FOUND }), {
      instance: `/${'a'.repeat(5000)}`,
    });
    expect(problem.instance).toHaveLength(1024);
    expect(toProblemDetails('x', { instance: 42 as unknown as string })).not.toHaveProperty('instance');
    expect(toProblemDetails('x', hostileProxy() as never)).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
    });
  });

  it('bounds and sanitizes details', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 50; i++) deep = { deep };
    const many = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]));
    const err = new TracedError('x', {
      code: GrpcCode.INVALID_ARGUMENT,
      details: {
        cyclic,
        deep,
        sym: Symbol('s'),
        nan: Number.NaN,
        arr: [1, undefined, () => 1],
        long: 'y'.repeat(5000),
        many,
      },
    });
    const details = toProblemDetails(err).details ?? {};
    expect(details.cyclic).toEqual({ name: 'loop' });
    expect(details.nan).toBeNull();
    expect(details).not.toHaveProperty('sym');
    expect(details.arr).toEqual([1, null, null]);
    expect(details.long).toHaveLength(1024);
    expect(Object.keys(details.many as object).length).toBeLessThan(256);
    expect(JSON.stringify(details.deep).split('deep').length - 1).toBeLessThan(10);
    const body = serializeProblemDetails(toProblemDetails(err));
    expect(body.length).toBeLessThan(20_000);
    expect(() => JSON.parse(body)).not.toThrow();
  });
});

describe('toProblemDetails: never throws', () => {
  it('for hostile and arbitrary values, with a valid status', () => {
    for (const value of [
      hostileProxy(),
      throwingGetters(new Error('x')),
      throwingGetters({}),
      undefined,
      null,
    ]) {
      const problem = toProblemDetails(value);
      expect(problem.status).toBe(500);
      expect(problem).not.toHaveProperty('detail');
    }
    fc.assert(
      fc.property(fc.anything({ withBigInt: true }), (value) => {
        const problem = toProblemDetails(value);
        expect(Number.isInteger(problem.status) && problem.status >= 400 && problem.status <= 599).toBe(true);
        expect(problem.type).toBe('about:blank');
        JSON.parse(serializeProblemDetails(problem));
      }),
    );
  });
});

describe('serializeProblemDetails', () => {
  it('exports the problem+json media type', () => {
    expect(PROBLEM_JSON_CONTENT_TYPE).toBe('application/problem+json');
  });

  it('never throws on BigInt and cyclic details', () => {
    const cyclic: Record<string, unknown> = { id: 1n };
    cyclic.again = cyclic;
    const problem: ProblemDetails = {
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      details: { big: 2n ** 70n, cyclic, nested: [cyclic, { n: 3n }] },
    };
    const body = serializeProblemDetails(problem);
    expect(JSON.parse(body)).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      details: { big: '1180591620717411303424', cyclic: { id: '1' }, nested: [{ id: '1' }, { n: '3' }] },
    });
  });

  it('escapes U+2028 and U+2029', () => {
    const body = serializeProblemDetails({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'line\u2028separator\u2029paragraph',
    });
    expect(body).not.toMatch(/[\u2028\u2029]/);
    expect(body).toContain('\\u2028');
    expect(JSON.parse(body).detail).toBe('line\u2028separator\u2029paragraph');
  });

  it('falls back to a minimal 500 document when the core members are invalid or unreadable', () => {
    expect(serializeProblemDetails(null as never)).toBe(FALLBACK);
    expect(serializeProblemDetails({ type: 'about:blank', title: 'x', status: 200 })).toBe(FALLBACK);
    expect(serializeProblemDetails({ type: 1, title: 'x', status: 400 } as never)).toBe(FALLBACK);
    expect(serializeProblemDetails(hostileProxy() as never)).toBe(FALLBACK);
    expect(serializeProblemDetails(throwingGetters({}) as never)).toBe(FALLBACK);
    expect(JSON.parse(FALLBACK)).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
    });
  });

  it('drops invalid optional members and keeps a __proto__ key as data', () => {
    const details = JSON.parse('{"__proto__":{"polluted":true},"ok":1}') as Record<string, unknown>;
    const body = serializeProblemDetails({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 5 as unknown as string,
      traceId: 'not-a-trace-id',
      code: 'not valid',
      details,
    });
    expect(JSON.parse(body)).toEqual(
      JSON.parse(
        '{"type":"about:blank","title":"Bad Request","status":400,"details":{"__proto__":{"polluted":true},"ok":1}}',
      ),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('always produces parseable JSON (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          type: fc.oneof(fc.constant('about:blank'), fc.string()),
          title: fc.string(),
          status: fc.integer({ min: 0, max: 1000 }),
          detail: fc.option(fc.string({ unit: 'binary' }), { nil: undefined }),
          details: fc.option(fc.object({ withBigInt: true }), { nil: undefined }),
        }),
        (problem) => {
          const body = serializeProblemDetails(problem as ProblemDetails);
          expect(() => JSON.parse(body)).not.toThrow();
          expect(body).not.toMatch(/[\u2028\u2029]/);
        },
      ),
    );
  });
});
