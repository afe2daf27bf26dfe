// How one record is built: pino's `hooks.logMethod` and `hooks.streamWrite`, and the cleaning of
// child bindings. Shared by every logger of a createLogger() tree.
import { type Context, context, type SpanContext, trace } from '@opentelemetry/api';
import type { LogFn, Logger as PinoLogger } from 'pino';
import type { LogSerializer } from '../create-logger.js';
import type { LogLimits } from '../limits.js';
import type { OtelLogsBridge } from '../otel-logs.js';
import { fieldsOf, type TraceFields } from '../trace-fields.js';
import { logDiag } from './diag.js';
import { isError, ownKeys, read, readValue } from './safe.js';
import { capString, newState, type SanitizeState, sanitize } from './sanitize.js';
import { FALLBACK_CONTEXT, TRACE_OVERRIDE } from './symbols.js';

/** Keys this package writes itself; an application value with one of these names is moved. */
const RESERVED = new Set(['level', 'time', 'trace_id', 'span_id', 'trace_flags']);
/** Binding keys pino drops silently; they are moved instead, so nothing is lost. */
const BINDING_RESERVED = new Set([...RESERVED, 'msg', 'serializers', 'formatters', 'customLevels']);
/** Where a colliding application key is written (logrus' `fields.<key>` convention). */
const MOVED_PREFIX = 'fields.';

// Per-logger data; children inherit it through their prototype chain and override it when their
// bindings or serializers differ.
/** The keys a logger's line already carries before the merging object (base and bindings). */
export const BOUND_KEYS: unique symbol = Symbol('tracewire.logger.boundKeys');
/** The serializers by top-level key. */
export const SERIALIZERS: unique symbol = Symbol('tracewire.logger.serializers');
/** The {@link Tree} of the logger. */
export const TREE: unique symbol = Symbol('tracewire.logger.tree');

/** What all loggers of one `createLogger` call share. */
export interface Tree {
  readonly limits: Readonly<Required<LogLimits>>;
  readonly bridge: OtelLogsBridge | undefined;
  readonly mixin: ((level: number) => Record<string, unknown>) | undefined;
  readonly redactDefaults: boolean;
  /** Records that could not be written as they were (a fallback record, or nothing, was). */
  failures: number;
}

/** A logger as seen from inside the package. */
export interface Internal {
  [BOUND_KEYS]: ReadonlySet<string>;
  [SERIALIZERS]: Readonly<Record<string, LogSerializer>>;
  [TREE]: Tree;
  [FALLBACK_CONTEXT]?: unknown;
  levels: { labels: Record<number, string> };
}

export type Internals = PinoLogger & Internal;

/** The line being written by the innermost log call, for the Logs bridge (calls are synchronous). */
let capture: { line: string | undefined } | undefined;

export interface PreparedBindings {
  clean: Record<string, unknown>;
  keys: ReadonlySet<string>;
}

/** Cleans child bindings: serializers, bounds, and keys already bound (or reserved) moved. */
export function prepareBindings(
  bindings: unknown,
  bound: ReadonlySet<string>,
  serializers: Readonly<Record<string, LogSerializer>>,
  limits: Readonly<Required<LogLimits>>,
): PreparedBindings {
  const clean: Record<string, unknown> = {};
  const keys = new Set(bound);
  if (typeof bindings !== 'object' || bindings === null) return { clean, keys };
  const state = newState(limits);
  state.path.push(bindings);
  const names = ownKeys(bindings) ?? [];
  const kept = Math.min(names.length, limits.maxObjectKeys);
  for (let i = 0; i < kept; i++) {
    const key = names[i] as string;
    const value = sanitize(serialize(serializers, key, readValue(bindings, key)), 0, state);
    if (value === undefined) continue;
    const target = BINDING_RESERVED.has(key) || keys.has(key) ? MOVED_PREFIX + key : key;
    if (keys.has(target)) continue;
    define(clean, target, value);
    keys.add(target);
  }
  return { clean, keys };
}

function serialize(
  serializers: Readonly<Record<string, LogSerializer>>,
  key: string,
  value: unknown,
): unknown {
  const serializer = Object.hasOwn(serializers, key) ? serializers[key] : undefined;
  if (serializer === undefined) return value;
  try {
    return serializer(value);
  } catch (error) {
    logDiag.warn(`serializer:${key}`, `the serializer for "${key.slice(0, 50)}" threw`, error);
    return '[Unserializable]';
  }
}

function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

interface Prepared {
  args: unknown[];
  context: Context;
  fields: TraceFields | undefined;
}

/**
 * pino's `hooks.logMethod`: runs on the calling thread, in the caller's context, before pino
 * serializes anything. It rebuilds the merging object (trace fields first, application keys
 * cleaned and de-duplicated), so neither pino's merge order nor `mixinMergeStrategy` matters.
 */
export function logMethod(this: PinoLogger, args: Parameters<LogFn>, method: LogFn, level: number): void {
  const self = this as Internals;
  const tree = self[TREE];
  let prepared: Prepared | undefined;
  try {
    prepared = prepare(self, tree, args as unknown[], level);
  } catch (error) {
    logDiag.warn('prepare', 'a log record could not be prepared; a fallback record was written', error);
  }
  const previous = capture;
  const slot = tree.bridge !== undefined ? { line: undefined } : undefined;
  capture = slot;
  try {
    if (prepared === undefined) throw new Error('record not prepared');
    (method as (...a: unknown[]) => void).apply(self, prepared.args);
  } catch (error) {
    tree.failures++;
    if (prepared !== undefined) logDiag.warn('write', 'a log record could not be written', error);
    capture = previous;
    writeFallback(self, method, args as unknown[], prepared, error);
    return;
  } finally {
    capture = previous;
  }
  if (slot?.line !== undefined && tree.bridge !== undefined && prepared !== undefined) {
    tree.bridge.emit(slot.line, self.levels.labels[level] ?? String(level), prepared.context);
  }
}

/** The record written when the real one failed: the trace fields, the message if it is a string. */
function writeFallback(
  self: Internals,
  method: LogFn,
  args: unknown[],
  prepared: Prepared | undefined,
  error: unknown,
): void {
  try {
    const record: Record<string, unknown> = {};
    const fields = prepared?.fields;
    if (fields !== undefined) Object.assign(record, fields);
    let type = 'Error';
    try {
      type = error instanceof Error ? error.name.slice(0, 100) : typeof error;
    } catch {}
    record.log_error = `the log record could not be written (${type})`;
    const message = typeof args[0] === 'string' ? args[0] : typeof args[1] === 'string' ? args[1] : undefined;
    const text = message === undefined ? undefined : capString(message, newState(self[TREE].limits));
    (method as (...a: unknown[]) => void).call(self, record, text);
  } catch (second) {
    logDiag.warn('fallback', 'the fallback log record could not be written either', second);
  }
}

function prepare(self: Internals, tree: Tree, args: unknown[], level: number): Prepared {
  const state = newState(tree.limits);
  const first = args[0];
  let source: object | undefined;
  let rest: unknown[];
  if (typeof first === 'object' && first !== null) {
    source = first;
    rest = args.slice(1);
  } else {
    rest = args.slice();
  }
  const hasMessage = rest.length > 0 && rest[0] !== undefined;
  if (hasMessage) {
    rest[0] = message(rest[0], state);
    for (let i = 1; i < rest.length; i++) rest[i] = sanitize(rest[i], 0, state);
  }

  // The trace of the call site: the active span, else the logger's fallback context (request
  // loggers used where the context was lost), unless a privileged override says otherwise.
  let ctx = context.active();
  let fields = fieldsOf(trace.getSpanContext(ctx));
  if (fields === undefined) {
    const fallback = self[FALLBACK_CONTEXT];
    if (isContext(fallback)) {
      const spanContext = trace.getSpanContext(fallback);
      fields = fieldsOf(spanContext);
      if (fields !== undefined) ctx = fallback;
    }
  }
  if (source !== undefined) {
    const override = traceOverride(read(source, TRACE_OVERRIDE));
    if (override !== undefined) {
      fields = fieldsOf(override);
      if (fields !== undefined && !override.hasFlags) delete fields.trace_flags;
      ctx = trace.setSpanContext(ctx, override);
    }
  }

  const out: Record<string, unknown> = {};
  if (fields !== undefined) Object.assign(out, fields);
  const bound = self[BOUND_KEYS];
  const serializers = self[SERIALIZERS];
  const add = (key: string, raw: unknown): void => {
    const value = sanitize(serialize(serializers, key, raw), 0, state);
    if (value === undefined) return;
    state.budget -= key.length;
    const taken = RESERVED.has(key) || bound.has(key) || (hasMessage && key === 'msg');
    define(out, taken ? MOVED_PREFIX + key : key, value);
  };

  if (tree.mixin !== undefined) {
    let extra: unknown;
    try {
      extra = tree.mixin(level);
    } catch (error) {
      logDiag.warn('mixin', 'the mixin threw; the record was written without its fields', error);
    }
    if (typeof extra === 'object' && extra !== null) addAll(extra, add, state);
  }
  if (source !== undefined) addAll(wrapSpecial(source), add, state);
  return { args: [out, ...rest], context: ctx, fields };
}

function addAll(source: object, add: (key: string, raw: unknown) => void, state: SanitizeState): void {
  const keys = ownKeys(source) ?? [];
  const kept = Math.min(keys.length, state.limits.maxObjectKeys);
  state.path.push(source);
  try {
    for (let i = 0; i < kept; i++) {
      const key = keys[i] as string;
      add(key, readValue(source, key));
    }
    if (keys.length > kept) add('...', `${keys.length - kept} more keys`);
  } finally {
    state.path.pop();
  }
}

/** As pino does: an Error becomes `{ err }`, a Node request `{ req }`, a response `{ res }`. */
function wrapSpecial(source: object): object {
  if (isError(source)) return { err: source };
  if (read(source, 'method') && read(source, 'headers') && read(source, 'socket')) return { req: source };
  if (typeof read(source, 'setHeader') === 'function') return { res: source };
  return source;
}

function message(value: unknown, state: SanitizeState): unknown {
  if (typeof value === 'string') return capString(value, state);
  return sanitize(value, 0, state);
}

function isContext(value: unknown): value is Context {
  return typeof value === 'object' && value !== null && typeof (value as Context).getValue === 'function';
}

const HEX_TRACE_ID = /^[0-9a-f]{32}$/i;
const HEX_SPAN_ID = /^[0-9a-f]{16}$/i;

function traceOverride(value: unknown): (SpanContext & { hasFlags: boolean }) | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const traceId = read(value, 'traceId');
  const spanId = read(value, 'spanId');
  const flags = read(value, 'traceFlags');
  if (typeof traceId !== 'string' || !HEX_TRACE_ID.test(traceId)) return undefined;
  if (typeof spanId !== 'string' || !HEX_SPAN_ID.test(spanId)) return undefined;
  const hasFlags = typeof flags === 'number' && Number.isInteger(flags) && flags >= 0 && flags <= 255;
  return { traceId, spanId, traceFlags: hasFlags ? flags : 0, isRemote: false, hasFlags };
}

const SEPARATOR = /[\u0085\u2028\u2029]/;
const SEPARATORS = /[\u0085\u2028\u2029]/g;

/**
 * pino's `hooks.streamWrite`. pino's JSON escapes CR, LF and every other control character, but
 * writes U+2028, U+2029 and U+0085 raw: valid JSON, yet line breaks to many readers (Python's
 * splitlines, some log shippers and viewers). They can only occur inside JSON strings, where the
 * `\uXXXX` escape parses back to the same character.
 */
export function streamWrite(line: string): string {
  const out = SEPARATOR.test(line)
    ? line.replace(SEPARATORS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : line;
  if (capture !== undefined) capture.line = out;
  return out;
}
