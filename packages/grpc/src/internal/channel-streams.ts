// HTTP/2 stream accounting for the channel metrics: which streams of a client connection are
// beyond the peer's SETTINGS_MAX_CONCURRENT_STREAMS, and how long they waited for a slot.
//
// Source: Node's `http2.client.stream.created` diagnostics channel (published synchronously by
// `ClientHttp2Session#request()`, which grpc-js calls once per call attempt), the stream's own
// `'close'` event, and `session.remoteSettings.maxConcurrentStreams`. Nothing is patched: the
// only things added to grpc-js's objects are `'close'` / `'goaway'` listeners.
//
// What is measured: Node hands every request to nghttp2 at once; nghttp2 sends the HEADERS of at
// most `maxConcurrentStreams` streams and keeps the others in its outbound queue (FIFO) until a
// stream closes. Neither Node nor grpc-js reports when a queued stream's HEADERS leave, so a
// stream counts as waiting from its creation until, in creation order, an earlier stream of the
// same connection closes and frees a slot. The recorded wait is that interval (0 for a stream
// created within the limit).

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { RateLimitedDiag } from '@tracewire/core';
import { goawayReason } from '../channel-names.js';

export const STREAM_CREATED_CHANNEL = 'http2.client.stream.created';

/** The parts of a `ClientHttp2Stream` used here. */
interface StreamLike {
  session?: SessionLike;
  /** True once the stream is closing (e.g. cancelled), possibly before nghttp2 sent anything. */
  closed?: boolean;
  /** The RST_STREAM code it was closed with. */
  rstCode?: number;
  once(event: 'close' | 'response', listener: () => void): unknown;
}

/** HTTP/2 REFUSED_STREAM: the server did not process the stream (grpc-js retries it as a new one). */
const REFUSED_STREAM = 7;

/** The parts of a `ClientHttp2Session` used here. */
export interface SessionLike {
  socket?: { localPort?: unknown; remotePort?: unknown } | undefined;
  remoteSettings?: { maxConcurrentStreams?: unknown } | undefined;
  destroyed?: boolean;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Where a connection's measurements go: the instrumented channel that owns the connection. */
export interface StreamOwner {
  /** Adds to the waiting-calls counter of the owner's target. */
  waitingAdd(delta: number): void;
  /** Records one stream wait, in seconds. */
  recordWait(seconds: number): void;
  /** A GOAWAY arrived on one of the owner's connections (`grpc.disconnect_error` of the next disconnection). */
  goaway(reason: string): void;
  /** The trackers of the owner's live connections (detached when the owner is closed). */
  readonly trackers: Set<SessionTracker>;
}

/** Finds the instrumented channel owning a session, or undefined. */
export type OwnerResolver = (session: SessionLike) => StreamOwner | undefined;

interface StreamEntry {
  readonly stream: StreamLike;
  readonly createdAt: number;
  waiting: boolean;
  done: boolean;
  /** Whether its wait was recorded (or will never be). */
  recorded: boolean;
}

/** Waits kept while the owner of a connection is not known yet (the first tick of a connection). */
const MAX_PENDING_WAITS = 1024;

/** Whether the owner of a session is known yet. */
const PENDING = 0;
const RESOLVED = 1;
const IGNORED = 2;

/** Stream accounting of one HTTP/2 client session. */
export class SessionTracker {
  readonly #session: SessionLike;
  readonly #hub: StreamHub;
  #ownership: number = PENDING;
  #owner: StreamOwner | undefined;
  #active = 0;
  #waiting = 0;
  #queue: StreamEntry[] = [];
  #head = 0;
  #limit = Number.POSITIVE_INFINITY;
  #pendingWaits: number[] = [];
  /** The hub's generation when this session was last found to have no owner. */
  #ignoredAt = -1;

  constructor(session: SessionLike, hub: StreamHub) {
    this.#session = session;
    this.#hub = hub;
    session.once('goaway', (code: unknown) => {
      try {
        this.#owner?.goaway(goawayReason(code));
      } catch (error) {
        hub.diag.error('channel-streams', 'could not record a GOAWAY', error);
      }
    });
    session.once('close', () => {
      this.#owner?.trackers.delete(this);
    });
  }

  /** Streams of this connection currently waiting for a slot. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Looks for the owner now; the first streams of a connection may come before grpc-js lists it in channelz. */
  resolve(): boolean {
    const owner = this.#hub.resolver(this.#session);
    if (owner === undefined) return false;
    const waits = this.#ownership === PENDING ? this.#pendingWaits : [];
    this.#ownership = RESOLVED;
    this.#owner = owner;
    this.#pendingWaits = [];
    owner.trackers.add(this);
    // The owner starts from the connection's current state: streams waiting now count from now on.
    if (this.#waiting !== 0) owner.waitingAdd(this.#waiting);
    for (const seconds of waits) owner.recordWait(seconds);
    return true;
  }

  /** Gives up on finding an owner for now: not a connection of an instrumented channel. */
  ignore(): void {
    this.#ownership = IGNORED;
    this.#ignoredAt = this.#hub.generation;
    this.#pendingWaits = [];
  }

  get pending(): boolean {
    return this.#ownership === PENDING;
  }

  /** Whether to look for an owner again: ignored, and channels were instrumented since. */
  get retry(): boolean {
    return this.#ownership === IGNORED && this.#ignoredAt !== this.#hub.generation;
  }

  /** The owner stops measuring: its waiting calls are taken back, later events are not reported. */
  detach(): void {
    const owner = this.#owner;
    this.#owner = undefined;
    this.ignore();
    if (owner !== undefined && this.#waiting !== 0) owner.waitingAdd(-this.#waiting);
  }

  onCreated(stream: StreamLike): void {
    const entry: StreamEntry = {
      stream,
      createdAt: performance.now(),
      waiting: false,
      done: false,
      recorded: false,
    };
    // Listen first: whatever happens below, the stream's end is accounted for.
    stream.once('close', () => {
      try {
        this.#onClose(entry);
      } catch (error) {
        this.#hub.diag.error('channel-streams', 'could not account for a closed HTTP/2 stream', error);
      }
    });
    if (this.#active < this.#currentLimit()) {
      this.#active++;
      // A stream within the limit waited 0. Recorded when the server answers (or when the stream
      // ends without being refused): a stream the server refuses before the connection's SETTINGS
      // arrived was never processed, and grpc-js retries it as a new stream.
      stream.once('response', () => this.#recordImmediate(entry));
    } else {
      entry.waiting = true;
      this.#queue.push(entry);
      this.#waiting++;
      this.#emitWaiting(1);
    }
  }

  #recordImmediate(entry: StreamEntry): void {
    if (entry.recorded) return;
    entry.recorded = true;
    try {
      this.#emitWait(0);
    } catch (error) {
      this.#hub.diag.error('channel-streams', 'could not record a stream wait', error);
    }
  }

  #onClose(entry: StreamEntry): void {
    if (entry.done) return;
    entry.done = true;
    if (entry.waiting) {
      // Closed before it got a slot (cancelled, deadline, connection lost): no wait is recorded.
      entry.waiting = false;
      entry.recorded = true;
      this.#waiting--;
      this.#emitWaiting(-1);
    } else {
      this.#active--;
      if (!entry.recorded && entry.stream.rstCode !== REFUSED_STREAM) this.#recordImmediate(entry);
    }
    this.#promote();
  }

  /** Gives freed slots to the oldest waiting streams (nghttp2's outbound queue is FIFO). */
  #promote(): void {
    const limit = this.#currentLimit();
    const queue = this.#queue;
    const now = performance.now();
    while (this.#head < queue.length) {
      const next = queue[this.#head]!;
      if (next.done || !next.waiting) {
        this.#head++;
        continue;
      }
      // Closed while queued (a cancelled call): nghttp2 drops it when it reaches the front of its
      // queue, without using a slot. It stops waiting now and records no wait.
      if (next.stream.closed === true) {
        this.#head++;
        next.waiting = false;
        next.recorded = true;
        next.done = true;
        this.#waiting--;
        this.#emitWaiting(-1);
        continue;
      }
      // A destroyed session sends nothing: its queued streams are about to close unopened.
      if (this.#active >= limit || this.#session.destroyed === true) break;
      this.#head++;
      next.waiting = false;
      next.recorded = true;
      this.#active++;
      this.#waiting--;
      this.#emitWaiting(-1);
      this.#emitWait((now - next.createdAt) / 1000);
    }
    if (this.#head === queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS (the last known value once the session is gone). */
  #currentLimit(): number {
    let settings: { maxConcurrentStreams?: unknown } | undefined;
    try {
      settings = this.#session.remoteSettings;
    } catch {
      settings = undefined;
    }
    const value = settings?.maxConcurrentStreams;
    if (typeof value === 'number' && value >= 0) this.#limit = value;
    return this.#limit;
  }

  #emitWaiting(delta: number): void {
    // Pending and ignored sessions keep their count; an owner found later adds it at once.
    if (this.#ownership === RESOLVED) this.#owner?.waitingAdd(delta);
  }

  #emitWait(seconds: number): void {
    if (this.#ownership === RESOLVED) this.#owner?.recordWait(seconds);
    else if (this.#ownership === PENDING && this.#pendingWaits.length < MAX_PENDING_WAITS) {
      this.#pendingWaits.push(seconds);
    }
  }
}

/**
 * The process-wide subscription to `http2.client.stream.created`, held while at least one channel
 * is instrumented. Every client session seen gets a tracker (kept in a WeakMap, so it goes away with
 * the session); sessions that belong to no instrumented channel are ignored after one look.
 */
export class StreamHub {
  readonly diag: RateLimitedDiag;
  readonly resolver: OwnerResolver;
  /** Whether any client stream was ever seen (Node lines without the channel publish nothing). */
  seenAny: boolean = false;
  /** Incremented whenever a channel is instrumented: ignored sessions may have an owner now. */
  generation: number = 0;
  readonly #trackers = new WeakMap<object, SessionTracker>();
  #users = 0;
  readonly #onCreated = (message: unknown): void => this.#created(message);

  constructor(diag: RateLimitedDiag, resolver: OwnerResolver) {
    this.diag = diag;
    this.resolver = resolver;
  }

  acquire(): void {
    this.generation++;
    if (this.#users++ === 0) {
      try {
        subscribe(STREAM_CREATED_CHANNEL, this.#onCreated);
      } catch (error) {
        this.diag.warn(
          'channel-streams',
          `could not subscribe to ${STREAM_CREATED_CHANNEL}: no stream wait metrics`,
          error,
        );
      }
    }
  }

  release(): void {
    if (this.#users > 0 && --this.#users === 0) {
      try {
        unsubscribe(STREAM_CREATED_CHANNEL, this.#onCreated);
      } catch {
        // Nothing to undo.
      }
    }
  }

  #created(message: unknown): void {
    // A subscriber that throws would surface as an uncaught exception: contain everything.
    try {
      const stream = (message as { stream?: StreamLike } | null)?.stream;
      const session = stream?.session;
      if (session === undefined || session === null || typeof stream?.once !== 'function') return;
      this.seenAny = true;
      let tracker = this.#trackers.get(session);
      if (tracker === undefined) {
        tracker = new SessionTracker(session, this);
        this.#trackers.set(session, tracker);
        let found = false;
        try {
          found = tracker.resolve();
        } catch (error) {
          this.diag.error('channel-streams', 'could not find the channel of an HTTP/2 session', error);
        }
        if (!found) {
          // grpc-js lists a new connection in channelz just after the streams queued for it were
          // created: look again once this tick is over.
          const t = tracker;
          setImmediate(() => {
            try {
              if (t.pending && !t.resolve()) t.ignore();
            } catch (error) {
              t.ignore();
              this.diag.error('channel-streams', 'could not find the channel of an HTTP/2 session', error);
            }
          });
        }
      } else if (tracker.retry) {
        try {
          if (!tracker.resolve()) tracker.ignore();
        } catch (error) {
          tracker.ignore();
          this.diag.error('channel-streams', 'could not find the channel of an HTTP/2 session', error);
        }
      }
      tracker.onCreated(stream);
    } catch (error) {
      this.diag.error('channel-streams', 'could not account for a new HTTP/2 stream', error);
    }
  }
}
