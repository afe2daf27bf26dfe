// The state behind `instrumentGrpcChannel`: one hub per meter provider (instruments, the bounded
// `grpc.target` table, the channels it measures), one record per instrumented channel.
import type { ChannelInterface } from '@grpc/grpc-js';
import { connectivityState, getChannelzHandlers } from '@grpc/grpc-js';
import type {
  Attributes,
  Counter,
  Histogram,
  Meter,
  MeterProvider,
  ObservableResult,
  ObservableUpDownCounter,
  UpDownCounter,
} from '@opentelemetry/api';
import { LazyInstruments, RateLimitedDiag } from '@tracewire/core';
import {
  ATTR_GRPC_DISCONNECT_ERROR,
  ATTR_GRPC_TARGET,
  canonicalTarget,
  DISCONNECT_SHUTDOWN,
  DISCONNECT_UNKNOWN,
  MAX_CHANNEL_TARGETS,
  MAX_TARGET_LENGTH,
  METRIC_CHANNEL_ACTIVE_CALLS,
  METRIC_CHANNEL_STREAM_WAIT,
  METRIC_CHANNEL_WAITING_CALLS,
  METRIC_SUBCHANNEL_ATTEMPTS_FAILED,
  METRIC_SUBCHANNEL_ATTEMPTS_SUCCEEDED,
  METRIC_SUBCHANNEL_DISCONNECTIONS,
  METRIC_SUBCHANNEL_OPEN_CONNECTIONS,
  STREAM_WAIT_BUCKETS,
  TARGET_OTHER,
} from '../channel-names.js';
import { SCOPE_NAME, VERSION } from '../version.js';
import {
  type SessionLike,
  type SessionTracker,
  STREAM_CREATED_CHANNEL,
  StreamHub,
  type StreamOwner,
} from './channel-streams.js';
import { cap } from './limits.js';

/** The instruments of one meter. */
export interface ChannelInstruments {
  openConnections: UpDownCounter<Attributes>;
  attemptsSucceeded: Counter<Attributes>;
  attemptsFailed: Counter<Attributes>;
  disconnections: Counter<Attributes>;
  waiting: UpDownCounter<Attributes>;
  streamWait: Histogram<Attributes>;
  activeCalls: ObservableUpDownCounter<Attributes>;
}

/** Shared by every hub: one rate-limited voice for the whole feature. */
export const channelDiag: RateLimitedDiag = new RateLimitedDiag();

/** The process-wide HTTP/2 stream subscription; it asks the live records who owns a session. */
export const streamHub: StreamHub = new StreamHub(channelDiag, ownerOf);
const liveRecords = new Set<ChannelRecord>();

/** The live instrumented channel whose channelz sockets include this TCP connection. */
function ownerOf(session: SessionLike): StreamOwner | undefined {
  let socket: { localPort?: unknown; remotePort?: unknown } | undefined;
  try {
    socket = session.socket;
  } catch {
    return undefined;
  }
  const local = socket?.localPort;
  const remote = socket?.remotePort;
  // Unix domain sockets have no ports: their streams are not attributed to a channel.
  if (typeof local !== 'number' || typeof remote !== 'number') return undefined;
  for (const record of liveRecords) {
    if (record.ownsSocket(local, remote)) return record;
  }
  return undefined;
}

/** One `grpc.target` value and the attribute sets derived from it. */
export class TargetEntry {
  readonly attributes: Attributes;
  readonly #disconnect = new Map<string, Attributes>();

  constructor(target: string) {
    this.attributes = Object.freeze({ [ATTR_GRPC_TARGET]: target });
  }

  /** `{ grpc.target, grpc.disconnect_error }` (the reasons are a fixed, bounded list). */
  disconnectAttributes(reason: string): Attributes {
    let attributes = this.#disconnect.get(reason);
    if (attributes === undefined) {
      attributes = Object.freeze({ ...this.attributes, [ATTR_GRPC_DISCONNECT_ERROR]: reason });
      this.#disconnect.set(reason, attributes);
    }
    return attributes;
  }
}

/** Instruments, targets and live channels of one meter provider (explicit, or the global one). */
export class ChannelHub {
  readonly records: Set<ChannelRecord> = new Set();
  readonly #lazy: LazyInstruments<ChannelInstruments>;
  readonly #targets = new Map<string, TargetEntry>();
  readonly #other = new TargetEntry(TARGET_OTHER);
  #otherUsed = false;
  #current: ChannelInstruments | undefined;

  constructor(provider: MeterProvider | undefined) {
    this.#lazy = new LazyInstruments(provider, SCOPE_NAME, VERSION, (meter) => this.#create(meter));
  }

  /** The instruments of the provider as resolved now, or undefined when the provider fails. */
  instruments(): ChannelInstruments | undefined {
    try {
      const instruments = this.#lazy.get();
      this.#current = instruments;
      return instruments;
    } catch (error) {
      channelDiag.error('channel-instruments', 'could not create the gRPC channel instruments', error);
      return undefined;
    }
  }

  /** The entry of a target: the first {@link MAX_CHANNEL_TARGETS} distinct targets, then `_OTHER`. */
  target(raw: string): TargetEntry {
    const target = cap(raw, MAX_TARGET_LENGTH);
    let entry = this.#targets.get(target);
    if (entry !== undefined) return entry;
    if (this.#targets.size >= MAX_CHANNEL_TARGETS) {
      if (!this.#otherUsed) {
        this.#otherUsed = true;
        channelDiag.warn(
          'channel-targets',
          `more than ${MAX_CHANNEL_TARGETS} gRPC channel targets: later ones are reported as grpc.target=${TARGET_OTHER}`,
        );
      }
      return this.#other;
    }
    entry = new TargetEntry(target);
    this.#targets.set(target, entry);
    return entry;
  }

  #create(meter: Meter): ChannelInstruments {
    const activeCalls = meter.createObservableUpDownCounter(METRIC_CHANNEL_ACTIVE_CALLS, {
      description: 'Number of calls started on instrumented gRPC channels and not finished yet (channelz).',
      unit: '{call}',
    });
    const instruments: ChannelInstruments = {
      openConnections: meter.createUpDownCounter(METRIC_SUBCHANNEL_OPEN_CONNECTIONS, {
        description: 'Number of open connections.',
        unit: '{connection}',
      }),
      attemptsSucceeded: meter.createCounter(METRIC_SUBCHANNEL_ATTEMPTS_SUCCEEDED, {
        description: 'Number of successful connection attempts.',
        unit: '{attempt}',
      }),
      attemptsFailed: meter.createCounter(METRIC_SUBCHANNEL_ATTEMPTS_FAILED, {
        description: 'Number of failed connection attempts.',
        unit: '{attempt}',
      }),
      disconnections: meter.createCounter(METRIC_SUBCHANNEL_DISCONNECTIONS, {
        description: 'Number of times the selected subchannel becomes disconnected.',
        unit: '{disconnection}',
      }),
      waiting: meter.createUpDownCounter(METRIC_CHANNEL_WAITING_CALLS, {
        description:
          "Number of HTTP/2 streams (call attempts) created beyond the peer's SETTINGS_MAX_CONCURRENT_STREAMS and not yet given a slot.",
        unit: '{call}',
      }),
      streamWait: meter.createHistogram(METRIC_CHANNEL_STREAM_WAIT, {
        description:
          "Time an HTTP/2 stream (call attempt) waited for a slot under the peer's SETTINGS_MAX_CONCURRENT_STREAMS; 0 when created within the limit.",
        unit: 's',
        advice: { explicitBucketBoundaries: [...STREAM_WAIT_BUCKETS] },
      }),
      activeCalls,
    };
    activeCalls.addCallback((result) => this.#observe(result, instruments));
    return instruments;
  }

  /** `tracewire.grpc.channel.calls.active`: every known target (0 once its channels are closed). */
  #observe(result: ObservableResult<Attributes>, instruments: ChannelInstruments): void {
    // Instruments of a meter provider that is no longer the resolved one report nothing.
    if (instruments !== this.#current) return;
    try {
      const sums = new Map<TargetEntry, number>();
      for (const entry of this.#targets.values()) sums.set(entry, 0);
      if (this.#otherUsed) sums.set(this.#other, 0);
      let started = false;
      for (const record of this.records) {
        const calls = record.activeCalls();
        if (calls.started) started = true;
        sums.set(record.target, (sums.get(record.target) ?? 0) + calls.active);
      }
      for (const [entry, value] of sums) result.observe(value, entry.attributes);
      if (started && !streamHub.seenAny && !unsupportedReported) {
        unsupportedReported = true;
        channelDiag.warn(
          'channel-streams-unsupported',
          `this Node.js does not publish the ${STREAM_CREATED_CHANNEL} diagnostics channel: ${METRIC_CHANNEL_WAITING_CALLS} and ${METRIC_CHANNEL_STREAM_WAIT} are not recorded`,
        );
      }
    } catch (error) {
      channelDiag.error('channel-observe', `could not observe ${METRIC_CHANNEL_ACTIVE_CALLS}`, error);
    }
  }
}

/** The "this Node.js does not publish" notice is given once per process. */
let unsupportedReported = false;

const GLOBAL = {};
const hubs = new WeakMap<object, ChannelHub>();

/** The hub of an explicit meter provider, or of the global one (resolved on each use). */
export function hubFor(provider: MeterProvider | undefined): ChannelHub {
  const key = provider ?? GLOBAL;
  let hub = hubs.get(key);
  if (hub === undefined) {
    hub = new ChannelHub(provider);
    hubs.set(key, hub);
  }
  return hub;
}

/** A channelz handler called in process (they answer synchronously). */
type ChannelzHandler = (
  call: { request: Record<string, string> },
  callback: (error: unknown, value?: Record<string, unknown>) => void,
) => void;

let handlers: Record<string, ChannelzHandler> | undefined;

/** Calls a channelz handler of the application's grpc-js; undefined when it fails or answers NOT_FOUND. */
function channelz(method: string, request: Record<string, string>): Record<string, unknown> | undefined {
  handlers ??= getChannelzHandlers() as unknown as Record<string, ChannelzHandler>;
  const handler = handlers[method];
  if (typeof handler !== 'function') return undefined;
  let out: Record<string, unknown> | undefined;
  handler({ request }, (error, value) => {
    if (error === null || error === undefined) out = value;
  });
  return out;
}

interface RefMessage {
  subchannel_id?: unknown;
  socket_id?: unknown;
}
interface AddressMessage {
  tcpip_address?: { port?: unknown } | null;
}

const { IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN } = connectivityState;

/** One instrumented channel. */
export class ChannelRecord implements StreamOwner {
  readonly channel: ChannelInterface;
  readonly hub: ChannelHub;
  readonly target: TargetEntry;
  readonly trackers: Set<SessionTracker> = new Set();
  readonly #channelzId: string | undefined;
  #state: number;
  #open: { instruments: ChannelInstruments } | undefined;
  #closed = false;
  #reason: string | undefined;

  constructor(channel: ChannelInterface, hub: ChannelHub) {
    this.channel = channel;
    this.hub = hub;
    this.target = hub.target(canonicalTarget(String(channel.getTarget())));
    this.#state = channel.getConnectivityState(false);
    if (this.#state === SHUTDOWN) {
      this.#closed = true;
      this.#channelzId = undefined;
      return;
    }
    // channelz is on by default; `grpc.enable_channelz: 0` leaves the channel out of the registry.
    let id: string | undefined;
    try {
      id = String(channel.getChannelzRef().id);
      if (channelz('GetChannel', { channel_id: id }) === undefined) id = undefined;
    } catch {
      id = undefined;
    }
    this.#channelzId = id;
    if (id === undefined) {
      channelDiag.warn(
        'channelz-disabled',
        `channelz is disabled on a gRPC channel (grpc.enable_channelz: 0): ${METRIC_CHANNEL_ACTIVE_CALLS}, ${METRIC_CHANNEL_WAITING_CALLS} and ${METRIC_CHANNEL_STREAM_WAIT} are not recorded for it`,
      );
    }
    hub.records.add(this);
    liveRecords.add(this);
    streamHub.acquire();
    // Created now, so that calls.active is observed from the start.
    hub.instruments();
    // A connection already open when the channel is instrumented is counted as open (no attempt).
    if (this.#state === READY) this.#openConnection();
    this.#watch();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops measuring: takes back the open connection and the waiting calls this channel reported. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop();
    for (const tracker of this.trackers) tracker.detach();
    this.trackers.clear();
  }

  /** Leaves the live set; streams already tracked keep reporting unless detached. */
  #stop(): void {
    this.hub.records.delete(this);
    liveRecords.delete(this);
    streamHub.release();
    this.#closeConnection();
  }

  #openConnection(): void {
    if (this.#open !== undefined) return;
    const instruments = this.hub.instruments();
    if (instruments === undefined) return;
    try {
      instruments.openConnections.add(1, this.target.attributes);
      this.#open = { instruments };
    } catch (error) {
      channelDiag.error('channel-state', `could not record ${METRIC_SUBCHANNEL_OPEN_CONNECTIONS}`, error);
    }
  }

  #closeConnection(): void {
    const open = this.#open;
    this.#open = undefined;
    if (open === undefined) return;
    try {
      open.instruments.openConnections.add(-1, this.target.attributes);
    } catch (error) {
      channelDiag.error('channel-state', `could not record ${METRIC_SUBCHANNEL_OPEN_CONNECTIONS}`, error);
    }
  }

  #watch(): void {
    try {
      this.channel.watchConnectivityState(this.#state, Number.POSITIVE_INFINITY, () => this.#changed());
    } catch (error) {
      // grpc-js throws when the channel is already shut down: record that, and stop watching.
      let state: number | undefined;
      try {
        state = this.channel.getConnectivityState(false);
      } catch {
        state = undefined;
      }
      if (state === SHUTDOWN) this.#changed();
      else
        channelDiag.error(
          'channel-watch',
          'could not watch a gRPC channel; its connection metrics stop',
          error,
        );
    }
  }

  /** Runs inside grpc-js's state update: never throws. */
  #changed(): void {
    if (this.#closed) return;
    let next = this.#state;
    try {
      const previous = this.#state;
      next = this.channel.getConnectivityState(false);
      this.#state = next;
      if (previous !== next) this.#transition(previous, next);
    } catch (error) {
      channelDiag.error('channel-state', 'could not record a gRPC channel state change', error);
    }
    if (next === SHUTDOWN) {
      // Streams still in flight keep reporting to this record until they close.
      this.#closed = true;
      try {
        this.#stop();
      } catch (error) {
        channelDiag.error('channel-state', 'could not release a closed gRPC channel', error);
      }
      return;
    }
    this.#watch();
  }

  /**
   * The channel's state machine (gRFC A94's meaning, observed at the channel): entering READY is a
   * successful connection attempt and opens a connection; CONNECTING/IDLE → TRANSIENT_FAILURE is a
   * failed attempt; leaving READY closes the connection and is a disconnection.
   */
  #transition(previous: number, next: number): void {
    const instruments = this.hub.instruments();
    if (instruments === undefined) return;
    const attributes = this.target.attributes;
    if (next === READY) {
      this.#reason = undefined;
      this.#openConnection();
      instruments.attemptsSucceeded.add(1, attributes);
      return;
    }
    if (previous === READY) {
      this.#closeConnection();
      // Recorded one turn later: the GOAWAY that caused it reaches this record just after grpc-js
      // has already left READY (grpc-js's own listener runs first).
      setImmediate(() => {
        try {
          const reason = this.#reason ?? (next === SHUTDOWN ? DISCONNECT_SHUTDOWN : DISCONNECT_UNKNOWN);
          this.#reason = undefined;
          instruments.disconnections.add(1, this.target.disconnectAttributes(reason));
        } catch (error) {
          channelDiag.error('channel-state', `could not record ${METRIC_SUBCHANNEL_DISCONNECTIONS}`, error);
        }
      });
      return;
    }
    if (next === TRANSIENT_FAILURE && (previous === CONNECTING || previous === IDLE)) {
      instruments.attemptsFailed.add(1, attributes);
    }
  }

  /** Calls started and not finished, from the channel's channelz call counters. */
  activeCalls(): { active: number; started: boolean } {
    const id = this.#channelzId;
    if (id === undefined || this.#closed) return { active: 0, started: false };
    const data = (channelz('GetChannel', { channel_id: id })?.channel as { data?: Record<string, unknown> })
      ?.data;
    if (data === undefined) return { active: 0, started: false };
    const started = Number(data.calls_started);
    const active = started - Number(data.calls_succeeded) - Number(data.calls_failed);
    return { active: Number.isFinite(active) && active > 0 ? active : 0, started: started > 0 };
  }

  /** Whether a TCP connection (local and remote port) is one of this channel's (channelz sockets). */
  ownsSocket(localPort: number, remotePort: number): boolean {
    const id = this.#channelzId;
    if (id === undefined || this.#closed) return false;
    const channel = channelz('GetChannel', { channel_id: id })?.channel as
      | { subchannel_ref?: RefMessage[] }
      | undefined;
    for (const subchannelRef of channel?.subchannel_ref ?? []) {
      const subchannel = channelz('GetSubchannel', { subchannel_id: String(subchannelRef.subchannel_id) })
        ?.subchannel as { socket_ref?: RefMessage[] } | undefined;
      for (const socketRef of subchannel?.socket_ref ?? []) {
        const socket = channelz('GetSocket', { socket_id: String(socketRef.socket_id) })?.socket as
          | { local?: AddressMessage | null; remote?: AddressMessage | null }
          | undefined;
        if (
          socket?.local?.tcpip_address?.port === localPort &&
          socket.remote?.tcpip_address?.port === remotePort
        ) {
          return true;
        }
      }
    }
    return false;
  }

  waitingAdd(delta: number): void {
    try {
      this.hub.instruments()?.waiting.add(delta, this.target.attributes);
    } catch (error) {
      channelDiag.error('channel-streams', `could not record ${METRIC_CHANNEL_WAITING_CALLS}`, error);
    }
  }

  recordWait(seconds: number): void {
    try {
      this.hub.instruments()?.streamWait.record(seconds, this.target.attributes);
    } catch (error) {
      channelDiag.error('channel-streams', `could not record ${METRIC_CHANNEL_STREAM_WAIT}`, error);
    }
  }

  goaway(reason: string): void {
    this.#reason ??= reason;
  }
}
