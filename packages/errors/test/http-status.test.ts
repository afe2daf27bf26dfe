import { describe, expect, it } from 'vitest';
import {
  GrpcCode,
  httpStatusOfError,
  serializeProblemDetails,
  TracedError,
  toProblemDetails,
  toTracedError,
} from '../src/index.js';

const err = (props: Record<string, unknown>, message = 'internal secret'): Error =>
  Object.assign(new Error(message), props);

describe('httpStatusOfError (the finalhandler rule)', () => {
  it('takes status, then statusCode, each only as an integer 400..599', () => {
    expect(httpStatusOfError(err({ status: 403 }))).toBe(403);
    expect(httpStatusOfError(err({ statusCode: 404 }))).toBe(404);
    expect(httpStatusOfError(err({ status: 400, statusCode: 503 }))).toBe(400);
    expect(httpStatusOfError(err({ status: 200, statusCode: 503 }))).toBe(503);
    expect(httpStatusOfError(err({ status: 999, statusCode: 404 }))).toBe(404);
    expect(httpStatusOfError(err({ status: 599 }))).toBe(599);
    expect(httpStatusOfError(err({ status: 400, expose: false }))).toBe(400);
  });

  it('ignores anything that is not an integer 400..599', () => {
    for (const status of [
      399,
      600,
      999,
      200,
      0,
      -404,
      403.5,
      Number.NaN,
      Infinity,
      '404',
      404n,
      null,
      true,
      {},
    ]) {
      expect(httpStatusOfError(err({ status })), String(status)).toBeUndefined();
      expect(httpStatusOfError(err({ statusCode: status })), String(status)).toBeUndefined();
    }
    expect(httpStatusOfError(new Error('x'))).toBeUndefined();
  });

  it('reads Errors only (any realm, subclasses), never throws', () => {
    class AppError extends Error {
      status = 409;
    }
    expect(httpStatusOfError(new AppError('x'))).toBe(409);
    expect(httpStatusOfError(Object.assign(new TypeError('x'), { statusCode: 422 }))).toBe(422);
    const foreign = Object.assign(Object.create(Error.prototype) as object, { status: 401 });
    expect(httpStatusOfError(foreign)).toBe(401);
    // Not Errors: a foreign value does not choose a client-facing status (Koa's rule, the adapter contract).
    expect(httpStatusOfError({ status: 404 })).toBeUndefined();
    expect(httpStatusOfError({ status: 418, message: 'x', expose: true })).toBeUndefined();
    expect(httpStatusOfError(Object.assign(() => {}, { statusCode: 410 }))).toBeUndefined();
    for (const v of [undefined, null, 'oops', 42, Symbol('s'), 1n, true]) {
      expect(httpStatusOfError(v)).toBeUndefined();
    }
    const hostile = new Proxy(new Error('x'), {
      get() {
        throw new Error('trap');
      },
    });
    expect(httpStatusOfError(hostile)).toBeUndefined();
    const { proxy, revoke } = Proxy.revocable(err({ status: 404 }), {});
    revoke();
    expect(httpStatusOfError(proxy)).toBeUndefined();
    const throwingStatus = Object.defineProperty(new Error('x'), 'status', {
      get() {
        throw new Error('getter');
      },
    });
    Object.assign(throwingStatus, { statusCode: 409 });
    expect(httpStatusOfError(throwingStatus)).toBe(409);
  });

  it('reads each property once (a getter cannot answer two different values)', () => {
    let reads = 0;
    const e = Object.defineProperty(new Error('x'), 'status', {
      get() {
        reads++;
        return 403;
      },
    });
    expect(httpStatusOfError(e)).toBe(403);
    expect(reads).toBe(1);
  });
});

describe('toTracedError(err, { httpStatus })', () => {
  it('uses the given status; the code follows it; not exposed without expose: true', () => {
    const e = err({ status: 403 }, 'nope');
    const traced = toTracedError(e, { httpStatus: httpStatusOfError(e) });
    expect(traced).toMatchObject({
      httpStatus: 403,
      code: GrpcCode.PERMISSION_DENIED,
      category: 'forbidden',
      expose: false,
      message: 'nope',
    });
    expect(traced.cause).toBe(e);
    expect(toProblemDetails(traced)).toEqual({
      type: 'about:blank',
      title: 'Forbidden',
      status: 403,
      code: 'PERMISSION_DENIED',
    });
  });

  it('keeps an http-errors classification (expose) when the status agrees', () => {
    const e = err({ status: 400, expose: true }, 'bad input');
    const traced = toTracedError(e, { httpStatus: 400 });
    expect(traced).toMatchObject({ httpStatus: 400, expose: true });
    expect(toProblemDetails(traced).detail).toBe('bad input');
  });

  it('never exposes a 5xx, even when the value said expose: true', () => {
    const e = err({ status: 503, expose: true }, 'down: db at 10.1.2.3');
    const problem = toProblemDetails(e, { httpStatus: httpStatusOfError(e) });
    expect(problem).toEqual({ type: 'about:blank', title: 'Service Unavailable', status: 503 });
    expect(serializeProblemDetails(problem)).not.toContain('10.1.2.3');
  });

  it('keeps the dependency category of a failed call of ours', () => {
    const upstream = err({ status: 404, response: { status: 404 } }, 'Request failed with status code 404');
    const traced = toTracedError(upstream, { httpStatus: 404 });
    expect(traced).toMatchObject({
      httpStatus: 404,
      code: GrpcCode.NOT_FOUND,
      category: 'dependency',
      expose: false,
    });
  });

  it('returns a TracedError with the same status as is, wraps one with another status', () => {
    const original = new TracedError('missing', { code: GrpcCode.NOT_FOUND, details: { id: '1' } });
    expect(toTracedError(original, { httpStatus: 404 })).toBe(original);
    expect(toTracedError(original)).toBe(original);
    const gone = toTracedError(original, { httpStatus: 410 });
    expect(gone).not.toBe(original);
    expect(gone).toMatchObject({
      httpStatus: 410,
      code: GrpcCode.NOT_FOUND,
      expose: true,
      message: 'missing',
    });
    expect(gone.details).toEqual({ id: '1' });
    expect(gone.cause).toBe(original);
  });

  it('ignores an invalid or missing status (the classification rules apply)', () => {
    const e = err({ status: 403 }, 'nope');
    for (const httpStatus of [undefined, 200, 999, 403.5, Number.NaN, '403' as unknown as number]) {
      expect(toTracedError(e, { httpStatus }).httpStatus, String(httpStatus)).toBe(500);
    }
    expect(toTracedError(e, null as unknown as undefined).httpStatus).toBe(500);
    expect(toTracedError('oops', { httpStatus: 502 })).toMatchObject({ httpStatus: 502, expose: false });
  });

  it('never throws on hostile options', () => {
    const options = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    expect(toTracedError(new Error('x'), options).httpStatus).toBe(500);
    expect(toProblemDetails(new Error('x'), options).status).toBe(500);
  });
});
