// Reading facts from errors without trusting them: every property read is guarded (a Proxy or a
// getter may throw) and every value that leaves here comes from a bounded set.

import { ERROR_TYPE_OTHER, ERROR_TYPE_POOL_TIMEOUT } from '../semconv.js';

const SQLSTATE = /^[0-9A-Z]{5}$/;
const NODE_CODE = /^E[A-Z0-9_]{2,40}$/;
const CLASS_NAME = /^[A-Za-z_$][\w$.]{0,63}$/;

/** pg-pool's messages when it gives up on a connection (it sets no code). */
const POOL_TIMEOUT_MESSAGES: readonly string[] = [
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
];

export function read(o: unknown, key: string): unknown {
  if ((typeof o !== 'object' && typeof o !== 'function') || o === null) return undefined;
  try {
    return (o as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** The SQLSTATE of a PostgreSQL server error (pg's DatabaseError), if it is one. */
export function sqlStateOf(error: unknown): string | undefined {
  const code = read(error, 'code');
  if (typeof code !== 'string' || !SQLSTATE.test(code)) return undefined;
  // A DatabaseError always carries the server's severity; a 5-character code alone is not enough.
  return typeof read(error, 'severity') === 'string' ? code : undefined;
}

/** Whether pg-pool failed to hand out a connection within `connectionTimeoutMillis`. */
export function isPoolTimeout(error: unknown): boolean {
  const message = read(error, 'message');
  return typeof message === 'string' && POOL_TIMEOUT_MESSAGES.some((m) => message.startsWith(m));
}

/**
 * `error.type`: the SQLSTATE, a Node system error code (`ECONNREFUSED`), `timeout` for a pool
 * timeout, the error's class name, or `_OTHER`. Never the message.
 */
export function errorTypeOf(error: unknown): string {
  const state = sqlStateOf(error);
  if (state !== undefined) return state;
  if (isPoolTimeout(error)) return ERROR_TYPE_POOL_TIMEOUT;
  const code = read(error, 'code');
  if (typeof code === 'string' && NODE_CODE.test(code)) return code;
  if (error instanceof Error) {
    const name = read(error, 'name');
    if (typeof name === 'string' && CLASS_NAME.test(name)) return name;
  }
  return ERROR_TYPE_OTHER;
}

/**
 * What goes into the span's exception event. A server error's message can quote the offending
 * value (`invalid input syntax for type integer: "4111 1111"`) and its `detail` the row, so for
 * those only the SQLSTATE is kept (the stack's first line, which repeats the message, too).
 * Other errors (network, pool, TypeError from bad arguments) keep name, message and stack, capped.
 */
export function exceptionOf(error: unknown): { name: string; message: string; stack?: string } {
  const state = sqlStateOf(error);
  const rawName = read(error, 'name');
  const name = typeof rawName === 'string' && CLASS_NAME.test(rawName) ? rawName : 'Error';
  const rawStack = read(error, 'stack');
  const stack = typeof rawStack === 'string' ? rawStack : undefined;
  if (state !== undefined) {
    const message = `SQLSTATE ${state}`;
    const at = stack?.indexOf('\n    at ') ?? -1;
    const out: { name: string; message: string; stack?: string } = { name, message };
    if (stack !== undefined && at >= 0) out.stack = `${name}: ${message}${stack.slice(at, at + 4096)}`;
    return out;
  }
  if (!(error instanceof Error)) {
    return { name: 'non-error thrown', message: error === null ? 'null' : typeof error };
  }
  const rawMessage = read(error, 'message');
  const out: { name: string; message: string; stack?: string } = {
    name,
    message: typeof rawMessage === 'string' ? rawMessage.slice(0, 512) : '',
  };
  if (stack !== undefined) out.stack = stack.slice(0, 4096);
  return out;
}
