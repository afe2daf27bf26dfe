// The HTTP/2 stream accounting behind tracewire.grpc.channel.calls.waiting_for_stream and
// tracewire.grpc.channel.stream.wait_duration, driven through the real diagnostics channel with
// stand-in sessions and streams (deterministic; the end-to-end cases are in channel-metrics.test.ts).
import { channel } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { RateLimitedDiag } from '@tracewire/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type SessionLike,
  type SessionTracker,
  STREAM_CREATED_CHANNEL,
  StreamHub,
  type StreamOwner,
} from '../src/internal/channel-streams.js';

const created = channel(STREAM_CREATED_CHANNEL);

class FakeSession extends EventEmitter {
  socket = { localPort: 40000, remotePort: 50051 };
  remoteSettings: { maxConcurrentStreams?: number } = { maxConcurrentStreams: 2 };
  destroyed = false;
}

class FakeStream extends EventEmitter {
  closed = false;
  rstCode: number | undefined;
  constructor(readonly session: FakeSession) {
    super();
  }
  /** The server's response headers arrived. */
  respond(): void {
    this.emit('response');
  }
  /** Closing requested (grpc-js cancels with RST_STREAM CANCEL); `'close'` may come later. */
  cancel(): void {
    this.closed = true;
    this.rstCode = 8;
  }
  close(code = 0): void {
    this.closed = true;
    this.rstCode ??= code;
    this.emit('close');
  }
}

class Owner implements StreamOwner {
  waiting = 0;
  waits: number[] = [];
  reasons: string[] = [];
  readonly trackers: Set<SessionTracker> = new Set();
  waitingAdd(delta: number): void {
    this.waiting += delta;
  }
  recordWait(seconds: number): void {
    this.waits.push(seconds);
  }
  goaway(reason: string): void {
    this.reasons.push(reason);
  }
}

const hubs: StreamHub[] = [];
afterEach(() => {
  for (const hub of hubs.splice(0)) hub.release();
});

function setup(resolve: (session: SessionLike) => StreamOwner | undefined) {
  const hub = new StreamHub(new RateLimitedDiag(), resolve);
  hub.acquire();
  hubs.push(hub);
  const openOn = (session: FakeSession) => (): FakeStream => {
    const stream = new FakeStream(session);
    created.publish({ stream, headers: {} });
    return stream;
  };
  const session = new FakeSession();
  return { hub, session, open: openOn(session), openOn };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('HTTP/2 stream accounting', () => {
  it('counts the streams beyond maxConcurrentStreams and gives freed slots in creation order', async () => {
    const owner = new Owner();
    const { open } = setup(() => owner);
    const streams = Array.from({ length: 5 }, open);
    expect(owner.waiting).toBe(3);
    // The wait of a stream within the limit (0) is recorded when the server answers.
    expect(owner.waits).toEqual([]);
    streams[0]!.respond();
    streams[1]!.respond();
    streams[1]!.respond();
    expect(owner.waits).toEqual([0, 0]);
    await sleep(30);
    streams[0]!.close();
    expect(owner.waiting).toBe(2);
    expect(owner.waits).toHaveLength(3);
    expect(owner.waits[2]).toBeGreaterThanOrEqual(0.02);
    // A waiting stream that closes (cancelled) leaves the count and records no wait.
    streams[4]!.close();
    expect(owner.waiting).toBe(1);
    expect(owner.waits).toHaveLength(3);
    streams[1]!.close();
    expect(owner.waiting).toBe(0);
    expect(owner.waits).toHaveLength(4);
    // Closing twice counts once.
    streams[1]!.close();
    for (const s of streams) s.close();
    expect(owner.waiting).toBe(0);
    expect(owner.waits).toHaveLength(4);
    expect(owner.trackers.size).toBe(1);
  });

  it('uses the limit the peer sends, read again on each event', () => {
    const owner = new Owner();
    const { session, open } = setup(() => owner);
    session.remoteSettings = { maxConcurrentStreams: 1 };
    const a = open();
    open();
    open();
    expect(owner.waiting).toBe(2);
    session.remoteSettings = { maxConcurrentStreams: 3 };
    a.close();
    expect(owner.waiting).toBe(0);
    // No settings known (a destroyed session answers {}): the last known limit stays.
    session.remoteSettings = {};
    open();
    open();
    expect(owner.waiting).toBe(1);
  });

  it('a destroyed session gives no slots: its waiting streams close unopened', () => {
    const owner = new Owner();
    const { session, open } = setup(() => owner);
    const streams = Array.from({ length: 4 }, open);
    session.destroyed = true;
    for (const s of streams) s.close();
    expect(owner.waiting).toBe(0);
    expect(owner.waits).toEqual([0, 0]);
  });

  it('finds the owner one turn later when grpc-js lists the connection after its first streams', async () => {
    const owner = new Owner();
    let known = false;
    const { open } = setup(() => (known ? owner : undefined));
    const streams = Array.from({ length: 4 }, open);
    streams[0]!.respond();
    streams[1]!.respond();
    expect(owner.waiting).toBe(0);
    known = true;
    await tick();
    expect(owner.waiting).toBe(2);
    expect(owner.waits).toEqual([0, 0]);
    streams[0]!.close();
    expect(owner.waiting).toBe(1);
    expect(owner.waits).toHaveLength(3);
  });

  it('ignores sessions of channels that are not instrumented, and looks again after a new channel', async () => {
    const owner = new Owner();
    let known = false;
    const { hub, open } = setup(() => (known ? owner : undefined));
    open();
    open();
    open();
    await tick();
    known = true;
    // Still ignored: no channel was instrumented since.
    open();
    expect(owner.trackers.size).toBe(0);
    hub.acquire();
    hubs.push(hub);
    open();
    // Found, starting from the connection's current state: 3 of the 5 streams wait.
    expect(owner.waiting).toBe(3);
    expect(owner.waits).toEqual([]);
  });

  it('detach takes back the waiting streams and stops reporting', () => {
    const owner = new Owner();
    const { open } = setup(() => owner);
    const streams = Array.from({ length: 4 }, open);
    expect(owner.waiting).toBe(2);
    for (const tracker of owner.trackers) tracker.detach();
    expect(owner.waiting).toBe(0);
    streams[0]!.close();
    expect(owner.waiting).toBe(0);
    expect(owner.waits).toEqual([]);
  });

  it('a stream the server refuses records no wait; its retry is a new stream', () => {
    const owner = new Owner();
    const { open } = setup(() => owner);
    const streams = Array.from({ length: 4 }, open);
    expect(owner.waiting).toBe(2);
    streams[0]!.close(7); // REFUSED_STREAM
    expect(owner.waits).toHaveLength(1); // stream 2 got the slot
    streams[1]!.close(0);
    expect(owner.waits).toHaveLength(3); // stream 1 (0 s) and stream 3
    expect(owner.waits[1]).toBe(0);
  });

  it('a call cancelled while queued stops waiting at the next free slot and records no wait', () => {
    const owner = new Owner();
    const { open } = setup(() => owner);
    const streams = Array.from({ length: 4 }, open);
    streams[0]!.respond();
    streams[1]!.respond();
    expect(owner.waiting).toBe(2);
    // nghttp2 keeps a cancelled queued stream until a slot frees; its 'close' comes after that.
    streams[2]!.cancel();
    streams[0]!.close();
    expect(owner.waiting).toBe(0);
    expect(owner.waits).toHaveLength(3); // 0, 0, and stream 3's wait; none for stream 2
    streams[2]!.close();
    streams[3]!.close();
    streams[1]!.close();
    expect(owner.waiting).toBe(0);
    expect(owner.waits).toHaveLength(3);
    // Every slot is free again: two new streams open at once.
    open();
    open();
    expect(owner.waiting).toBe(0);
  });

  it('records the GOAWAY code of a session as its disconnect reason', () => {
    const owner = new Owner();
    const { session, open, openOn } = setup(() => owner);
    open();
    session.emit('goaway', 0);
    const other = new FakeSession();
    openOn(other)();
    other.emit('goaway', 99);
    expect(owner.reasons).toEqual(['GOAWAY NO_ERROR', 'unknown']);
    // A closed session leaves its owner.
    session.emit('close');
    expect(owner.trackers.size).toBe(1);
  });

  it('a throwing owner or odd messages never escape the subscriber', async () => {
    const boom = () => {
      throw new Error('boom');
    };
    const owner = Object.assign(new Owner(), { waitingAdd: boom, recordWait: boom, goaway: boom });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const { session, open } = setup(() => owner);
      const streams = Array.from({ length: 4 }, open);
      for (const s of streams) s.close();
      session.emit('goaway', 0);
      created.publish(undefined);
      created.publish({ stream: null });
      created.publish({ stream: { session: {} } });
      const bad = new FakeSession();
      Object.defineProperty(bad, 'remoteSettings', { get: boom });
      created.publish({ stream: new FakeStream(bad) });
      await tick();
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
  });

  it('unsubscribes when the last user releases', () => {
    const owner = new Owner();
    const hub = new StreamHub(new RateLimitedDiag(), () => owner);
    hub.acquire();
    hub.acquire();
    hub.release();
    created.publish({ stream: new FakeStream(new FakeSession()) });
    expect(owner.trackers.size).toBe(1);
    hub.release();
    created.publish({ stream: new FakeStream(new FakeSession()) });
    expect(owner.trackers.size).toBe(1);
    hub.release();
  });
});
