// Per-destination live counts behind the outgoing HTTP connection metrics: open connections by
// state and requests waiting for a connection. Plain numbers, read by the observable instruments
// at collection time, so the per-request path never touches the metrics SDK for them.
import type { Attributes } from '@opentelemetry/api';

export const ATTR_HTTP_CONNECTION_STATE = 'http.connection.state';
/** `server.address` of every destination past the cap (and the only attribute it keeps besides `url.scheme`). */
export const OTHER_DESTINATION = '_OTHER';
export const DEFAULT_MAX_DESTINATIONS = 1000;

/** Live counts of one destination (`server.address`, `server.port`, `url.scheme`) or of `_OTHER`. */
export interface DestinationStats {
  /** Metric attributes: `server.address`, `server.port`, `url.scheme` (`_OTHER`: no port). */
  readonly attrs: Attributes;
  readonly activeAttrs: Attributes;
  readonly idleAttrs: Attributes;
  /** Open connections with a request on them. */
  active: number;
  /** Open connections without one. */
  idle: number;
  /** Requests that have no connection yet. */
  pending: number;
  /**
   * Requests `otelUndiciInterceptor()` saw enter a dispatcher whose undici `Request` does not exist
   * yet (waiting in a Pool's own queue): they count as waiting from that moment.
   */
  entered: number;
  /** Of `entered`, those still waiting after their `dispatch()` returned (queued inside a dispatcher). */
  deferred: number;
}

function stats(attrs: Attributes): DestinationStats {
  return {
    attrs,
    activeAttrs: { ...attrs, [ATTR_HTTP_CONNECTION_STATE]: 'active' },
    idleAttrs: { ...attrs, [ATTR_HTTP_CONNECTION_STATE]: 'idle' },
    active: 0,
    idle: 0,
    pending: 0,
    entered: 0,
    deferred: 0,
  };
}

/**
 * At most `max` distinct destinations, kept for the life of the instrumentation (their series
 * report 0 when nothing is open); every destination after them shares one `_OTHER` entry per
 * scheme. Schemes other than `http`/`https` are reported as `_OTHER` too.
 */
export class DestinationTable {
  private readonly max: number;
  private readonly byKey = new Map<string, DestinationStats>();
  private readonly others = new Map<string, DestinationStats>();

  constructor(max: number = DEFAULT_MAX_DESTINATIONS) {
    this.max = max;
  }

  get(scheme: string, hostname: string, port: number): DestinationStats {
    const s = scheme === 'http' || scheme === 'https' ? scheme : OTHER_DESTINATION;
    const host = hostname.toLowerCase();
    const key = `${s}://${host}:${port}`;
    const found = this.byKey.get(key);
    if (found !== undefined) return found;
    if (this.byKey.size >= this.max) return this.other(s);
    const created = stats({ 'server.address': host, 'server.port': port, 'url.scheme': s });
    this.byKey.set(key, created);
    return created;
  }

  private other(scheme: string): DestinationStats {
    let entry = this.others.get(scheme);
    if (entry === undefined) {
      entry = stats({ 'server.address': OTHER_DESTINATION, 'url.scheme': scheme });
      this.others.set(scheme, entry);
    }
    return entry;
  }

  /** Distinct entries, `_OTHER` ones included. */
  get size(): number {
    return this.byKey.size + this.others.size;
  }

  *[Symbol.iterator](): IterableIterator<DestinationStats> {
    yield* this.byKey.values();
    yield* this.others.values();
  }
}

/** One open connection (socket) of a destination; `inflight` requests are on it. */
export interface Connection {
  readonly dest: DestinationStats;
  inflight: number;
  open: boolean;
}

/** A connection that just opened counts as idle until a request is assigned to it. */
export function openConnection(dest: DestinationStats): Connection {
  dest.idle++;
  return { dest, inflight: 0, open: true };
}

/** A request was assigned to the connection: idle → active. */
export function acquireConnection(conn: Connection): void {
  if (!conn.open) return;
  if (conn.inflight++ === 0) {
    conn.dest.idle--;
    conn.dest.active++;
  }
}

/** A request on the connection completed: active → idle when it was the last one. */
export function releaseConnection(conn: Connection): void {
  if (!conn.open || conn.inflight === 0) return;
  if (--conn.inflight === 0) {
    conn.dest.active--;
    conn.dest.idle++;
  }
}

/** The socket closed: no longer counted, whatever its state. Idempotent. */
export function closeConnection(conn: Connection): void {
  if (!conn.open) return;
  conn.open = false;
  if (conn.inflight > 0) conn.dest.active--;
  else conn.dest.idle--;
  conn.inflight = 0;
}
