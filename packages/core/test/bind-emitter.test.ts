import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { installContextManager } from '@tracewire/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { bindEmitter } from '../src/internal/bind-emitter.js';

const KEY = createContextKey('test');
const ctx = ROOT_CONTEXT.setValue(KEY, 'bound');
const seen = (): unknown => context.active().getValue(KEY);

beforeAll(() => installContextManager());

describe('bindEmitter', () => {
  it('runs on/addListener/once/prepend listeners in the bound context with this and args intact', () => {
    const e = new EventEmitter();
    bindEmitter(e, ctx);
    const calls: unknown[] = [];
    e.on('x', function (this: unknown, a: number, b: number) {
      calls.push(['on', seen(), this === e, a + b]);
    });
    e.addListener('x', () => calls.push(['add', seen()]));
    e.once('x', () => calls.push(['once', seen()]));
    e.prependListener('x', () => calls.push(['prepend', seen()]));
    e.prependOnceListener('x', () => calls.push(['prependOnce', seen()]));
    e.emit('x', 1, 2);
    e.emit('x', 1, 2);
    expect(calls).toEqual([
      ['prependOnce', 'bound'],
      ['prepend', 'bound'],
      ['on', 'bound', true, 3],
      ['add', 'bound'],
      ['once', 'bound'],
      ['prepend', 'bound'],
      ['on', 'bound', true, 3],
      ['add', 'bound'],
    ]);
  });

  it('removes listeners by their original function, including once listeners', () => {
    const e = new EventEmitter();
    bindEmitter(e, ctx);
    const a = (): void => undefined;
    const b = (): void => undefined;
    e.on('x', a);
    e.once('x', b);
    expect(e.listenerCount('x')).toBe(2);
    e.removeListener('x', a);
    e.off('x', b);
    expect(e.listenerCount('x')).toBe(0);
  });

  it('keeps listeners added before binding as they were and leaves streams working', async () => {
    const s = new PassThrough();
    const before: unknown[] = [];
    s.on('data', () => before.push(seen()));
    bindEmitter(s, ctx);
    const after: unknown[] = [];
    s.on('data', () => after.push(seen()));
    const ended = new Promise((r) => s.on('end', r));
    s.end('chunk');
    await ended;
    expect(before).toEqual([undefined]);
    expect(after).toEqual(['bound']);
  });

  it('delegates to methods another binder installed before it', () => {
    const e = new EventEmitter();
    const theirs: string[] = [];
    const proto = EventEmitter.prototype;
    e.on = function (this: EventEmitter, ev: string | symbol, l: (...args: unknown[]) => void) {
      theirs.push(String(ev));
      return proto.on.call(this, ev, l);
    };
    bindEmitter(e, ctx);
    let v: unknown;
    e.on('y', () => {
      v = seen();
    });
    e.emit('y');
    expect(theirs).toEqual(['y']);
    expect(v).toBe('bound');
  });
});
