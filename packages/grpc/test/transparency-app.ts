// The gRPC transparency app: one Orders service whose handlers behave as the `x-mode` request
// metadata says, started either bare or with `otelGrpcServerInterceptor()`, built by the same code
// so that the interceptor is the only difference. Clients observe everything a caller can see:
// status code, details, error message, response messages, response metadata (headers) and
// trailers, and the order of the call's events. Handlers record what they saw (cancellation, a
// late callback...) under the call's `x-call-id`.
import * as grpc from '@grpc/grpc-js';
import type { Telemetry } from '@tracewire/testing';
import {
  type OtelGrpcServerOptions,
  otelGrpcClientInterceptor,
  otelGrpcServerInterceptor,
} from '../src/index.js';
import {
  type Order,
  type OrderRequest,
  Orders,
  type OrdersClient,
  passthrough,
  type Summary,
} from './harness.js';

/** Binary status details, as `google.rpc.Status` bytes would be (the content does not matter). */
export const STATUS_DETAILS = Buffer.from([0x08, 0x0d, 0x12, 0x04, 0x64, 0x6f, 0x77, 0x6e, 0xff, 0x00]);
/** How long the `slow` handlers wait before answering (client deadlines are shorter). */
export const SLOW_MS = 400;

function initialMetadata(): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('x-initial', 'yes');
  return m;
}

function trailers(): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('x-trailer', 't1');
  m.set('x-blob-bin', Buffer.from([1, 2, 3]));
  return m;
}

function detailsTrailers(): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('grpc-status-details-bin', STATUS_DETAILS);
  m.set('x-debug-id', 'abc-123');
  return m;
}

function retryTrailers(): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('x-retry-after', '5');
  return m;
}

/** The error statuses handlers send, by mode (shared by every call kind). */
function errorFor(mode: string): Partial<grpc.StatusObject> | Error | undefined {
  switch (mode) {
    case 'status-internal':
      return { code: grpc.status.INTERNAL, details: 'db down: replica lag' };
    case 'error':
      return new Error('boom');
    case 'unavailable':
      return { code: grpc.status.UNAVAILABLE, details: 'try later', metadata: retryTrailers() };
    case 'status-details':
      return { code: grpc.status.INTERNAL, details: 'see status details', metadata: detailsTrailers() };
    case 'client-error':
      return {
        code: grpc.status.INVALID_ARGUMENT,
        details: 'id must be numeric: «x» 100% /a?b=c',
        metadata: retryTrailers(),
      };
    case 'non-canonical':
      return { code: 42 as grpc.status, details: 'what' };
    default:
      return undefined;
  }
}

type Seen = Map<string, string[]>;

function record(seen: Seen, call: { metadata: grpc.Metadata }, event: string): void {
  const id = String(call.metadata.get('x-call-id')[0] ?? '');
  let list = seen.get(id);
  if (list === undefined) {
    list = [];
    seen.set(id, list);
  }
  list.push(event);
}

function modeOf(call: { metadata: grpc.Metadata }): string {
  return String(call.metadata.get('x-mode')[0] ?? 'ok');
}

/** Tries a late answer after the call ended and records whether grpc-js threw. */
function late(seen: Seen, call: { metadata: grpc.Metadata; cancelled: boolean }, answer: () => void): void {
  record(seen, call, `late cancelled=${call.cancelled}`);
  try {
    answer();
    record(seen, call, 'late answer ok');
  } catch (error) {
    record(seen, call, `late answer threw ${(error as Error).message}`);
  }
  record(seen, call, 'done');
}

function implementation(seen: Seen): grpc.UntypedServiceImplementation {
  return {
    getOrder(call: grpc.ServerUnaryCall<OrderRequest, Order>, callback: grpc.sendUnaryData<Order>) {
      const mode = modeOf(call);
      if (mode === 'slow') call.on('cancelled', () => record(seen, call, 'cancelled'));
      const failure = errorFor(mode);
      if (failure !== undefined) return callback(failure as grpc.ServiceError);
      switch (mode) {
        case 'ok':
          call.sendMetadata(initialMetadata());
          return callback(null, { id: call.request.id ?? '', traceId: '', spanId: '' }, trailers());
        case 'ok-plain':
          return callback(null, { id: call.request.id ?? '', traceId: '', spanId: '' });
        case 'error-after-metadata':
          call.sendMetadata(initialMetadata());
          return callback({ code: grpc.status.NOT_FOUND, details: 'gone', metadata: trailers() });
        case 'throw':
          throw new Error('handler threw: secret');
        case 'slow':
          record(seen, call, 'started');
          setTimeout(
            () => late(seen, call, () => callback(null, { id: 'late', traceId: '', spanId: '' })),
            SLOW_MS,
          );
          return;
        default:
          return callback({ code: grpc.status.INTERNAL, details: `no mode ${mode}` });
      }
    },

    uploadOrders(
      call: grpc.ServerReadableStream<OrderRequest, Summary>,
      callback: grpc.sendUnaryData<Summary>,
    ) {
      const mode = modeOf(call);
      if (mode === 'slow') call.on('cancelled', () => record(seen, call, 'cancelled'));
      if (mode === 'throw') throw new Error('handler threw: secret');
      let count = 0;
      call.on('data', () => {
        count++;
        if (mode === 'slow' && count === 1) {
          record(seen, call, 'started');
          setTimeout(() => late(seen, call, () => callback(null, { count })), SLOW_MS);
        }
      });
      call.on('end', () => {
        // After a deadline, whether the request stream still ends is a race inside grpc-js.
        if (mode === 'slow') return;
        record(seen, call, `end after ${count}`);
        const failure = errorFor(mode);
        if (failure !== undefined) callback(failure as grpc.ServiceError);
        else if (mode === 'ok') callback(null, { count }, trailers());
      });
    },

    watchOrders(call: grpc.ServerWritableStream<OrderRequest, Order>) {
      const mode = modeOf(call);
      if (mode === 'slow') call.on('cancelled', () => record(seen, call, 'cancelled'));
      if (mode === 'throw') throw new Error('handler threw: secret');
      const count = call.request.count ?? 0;
      if (mode === 'ok') call.sendMetadata(initialMetadata());
      for (let i = 0; i < count; i++) call.write({ id: String(i), traceId: '', spanId: '' });
      const failure = errorFor(mode);
      if (failure !== undefined) {
        call.emit('error', failure);
      } else if (mode === 'ok') {
        call.end(trailers());
      } else if (mode === 'ok-plain') {
        call.end();
      } else if (mode === 'slow') {
        record(seen, call, 'started');
        setTimeout(
          () =>
            late(seen, call, () => {
              call.write({ id: 'late', traceId: '', spanId: '' });
              call.end();
            }),
          SLOW_MS,
        );
      }
    },

    chat(call: grpc.ServerDuplexStream<OrderRequest, Order>) {
      const mode = modeOf(call);
      if (mode === 'slow') call.on('cancelled', () => record(seen, call, 'cancelled'));
      if (mode === 'throw') throw new Error('handler threw: secret');
      let count = 0;
      call.on('data', (request: OrderRequest) => {
        count++;
        call.write({ id: request.id ?? '', traceId: '', spanId: '' });
        const failure = errorFor(mode);
        if (failure !== undefined && count === 2) call.emit('error', failure);
        if (mode === 'slow' && count === 1) {
          record(seen, call, 'started');
          setTimeout(() => late(seen, call, () => call.end()), SLOW_MS);
        }
      });
      call.on('end', () => {
        if (mode === 'slow') return;
        record(seen, call, `end after ${count}`);
        if (mode === 'ok') call.end(trailers());
      });
    },
  };
}

export interface TransparencyServer {
  port: number;
  target: string;
  /** What the handlers recorded for a call id. */
  seen(callId: string): string[];
  close(): void;
}

/**
 * Starts the Orders service on 127.0.0.1:0, bare (`server: null`) or with the tracewire server
 * interceptor and these options (merged over the telemetry's providers).
 */
export async function startTransparencyServer(
  telemetry: Telemetry,
  server: OtelGrpcServerOptions | null,
): Promise<TransparencyServer> {
  const seen: Seen = new Map();
  const interceptors =
    server === null
      ? []
      : [
          otelGrpcServerInterceptor({
            tracerProvider: telemetry.tracerProvider,
            meterProvider: telemetry.meterProvider,
            ...server,
          }),
        ];
  const grpcServer = new grpc.Server({ interceptors });
  grpcServer.addService(Orders.service, implementation(seen));
  const port = await new Promise<number>((resolve, reject) => {
    grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    );
  });
  return {
    port,
    target: `127.0.0.1:${port}`,
    seen: (callId) => seen.get(callId) ?? [],
    close: () => grpcServer.forceShutdown(),
  };
}

/** A client of `server`, plain or with the tracewire client interceptor. */
export function transparencyClient(
  telemetry: Telemetry,
  server: TransparencyServer,
  instrumented: boolean,
): OrdersClient {
  const interceptors = instrumented
    ? [
        otelGrpcClientInterceptor({
          tracerProvider: telemetry.tracerProvider,
          meterProvider: telemetry.meterProvider,
          target: server.target,
        }),
      ]
    : [];
  return new Orders(server.target, grpc.credentials.createInsecure(), { interceptors });
}

/** Everything the caller saw of one call. */
export interface Observed {
  code: number;
  details: string;
  /** The `message` of the error the caller got, or null on OK. */
  errorMessage: string | null;
  /** Response messages (unary: the one response, if any). */
  responses: unknown[];
  /** The response headers (`metadata` event), or null when none were emitted. */
  headers: Record<string, unknown> | null;
  /** The trailing metadata of the status. */
  trailers: Record<string, unknown>;
  /** The call's events in order (`metadata`, `data`, `error`, `end`, `status`, `callback`). */
  events: string[];
}

export type CallKind =
  | 'unary'
  | 'client_stream'
  | 'server_stream'
  | 'bidi'
  | 'unknown_unary'
  | 'unknown_bidi';

export interface CallPlan {
  kind: CallKind;
  mode: string;
  callId: string;
  /** Server-stream messages the handler writes. */
  count?: number;
  /** Client-stream / bidi messages the client writes before half-closing (`cancel`: before cancelling). */
  send?: number;
  /** Client deadline, in ms from now. */
  deadlineMs?: number;
  /** Cancel the call once the handler reports `started`. */
  cancel?: boolean;
  /** Half-close after sending (default true unless `cancel` or a deadline). */
  halfClose?: boolean;
}

/**
 * Details made comparable across two servers and runs: the client's own deadline status lists
 * timings of its call stages (which stages appear depends on timing too) and the server's port.
 */
function stable(text: string): string {
  return text.replace(/Deadline exceeded after .*$/, 'Deadline exceeded after <timings>');
}

/** Metadata as a plain object, without the per-response `date` header. */
function metadataObject(metadata: grpc.Metadata | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!metadata) return out;
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    if (key === 'date') continue;
    out[key] = values;
  }
  return out;
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate() && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
}

/** Runs one call as planned against `server` with `client` and returns what the caller saw. */
export async function observe(
  client: OrdersClient,
  server: TransparencyServer,
  plan: CallPlan,
): Promise<{ observed: Observed; seen: string[] }> {
  const metadata = new grpc.Metadata();
  metadata.set('x-mode', plan.mode);
  metadata.set('x-call-id', plan.callId);
  const options: grpc.CallOptions =
    plan.deadlineMs === undefined ? {} : { deadline: Date.now() + plan.deadlineMs };
  const events: string[] = [];
  const responses: unknown[] = [];
  let headers: Record<string, unknown> | null = null;
  let error: grpc.ServiceError | null = null;
  let status: grpc.StatusObject | undefined;
  let settled = false;
  const halfClose = plan.halfClose ?? !(plan.cancel || plan.deadlineMs !== undefined);

  const call = await new Promise<grpc.Call>((resolve) => {
    const onCallback = (e: grpc.ServiceError | null, response?: unknown) => {
      events.push('callback');
      error = e;
      if (response !== undefined) responses.push(response);
    };
    let c: grpc.Call;
    switch (plan.kind) {
      case 'unary':
        c = client.getOrder({ id: 'r1' }, metadata, options, onCallback);
        break;
      case 'client_stream': {
        const s = client.uploadOrders(metadata, options, onCallback);
        for (let i = 0; i < (plan.send ?? 3); i++) s.write({ id: String(i) });
        if (halfClose) s.end();
        c = s;
        break;
      }
      case 'server_stream':
        c = client.watchOrders({ id: 'r1', count: plan.count ?? 0 }, metadata, options);
        break;
      case 'bidi': {
        const s = client.chat(metadata, options);
        for (let i = 0; i < (plan.send ?? 3); i++) s.write({ id: String(i) });
        if (halfClose) s.end();
        c = s;
        break;
      }
      case 'unknown_unary':
        c = client.makeUnaryRequest(
          '/tracewire.test.Orders/Missing',
          passthrough,
          passthrough,
          Buffer.from('x'),
          metadata,
          options,
          onCallback,
        );
        break;
      case 'unknown_bidi': {
        const s = client.makeBidiStreamRequest(
          '/tracewire.nope.Nothing/Chat',
          passthrough,
          passthrough,
          metadata,
          options,
        );
        s.write(Buffer.from('x'));
        s.end();
        c = s;
        break;
      }
    }
    resolve(c);
  });
  call.on('metadata', (m: grpc.Metadata) => {
    events.push('metadata');
    headers = metadataObject(m);
  });
  call.on('status', (s: grpc.StatusObject) => {
    events.push('status');
    status = s;
  });
  const streaming = plan.kind === 'server_stream' || plan.kind === 'bidi' || plan.kind === 'unknown_bidi';
  if (streaming) {
    const readable = call as grpc.ClientReadableStream<unknown>;
    readable.on('data', (m: unknown) => {
      events.push('data');
      responses.push(Buffer.isBuffer(m) ? m.toString('hex') : m);
    });
    readable.on('error', (e: grpc.ServiceError) => {
      events.push('error');
      error = e;
      settled = true;
    });
    readable.on('end', () => {
      events.push('end');
      settled = true;
    });
  }
  if (plan.cancel) {
    // Once the handler runs and every message it answers before waiting reached the client, so the
    // messages seen before the cancel do not depend on timing.
    const before =
      plan.kind === 'server_stream' ? (plan.count ?? 0) : plan.kind === 'bidi' ? (plan.send ?? 3) : 0;
    await waitFor(() => server.seen(plan.callId).includes('started') && responses.length >= before, 2000);
    call.cancel();
  }
  const callbackKind = !streaming;
  await waitFor(() => status !== undefined && (callbackKind ? events.includes('callback') : settled), 3000);
  // Let late events (a second status, an end after error) show up if they ever would.
  await new Promise((r) => setTimeout(r, 10));
  // What the handler saw: wait for it to finish its late answer, if it has one.
  if (server.seen(plan.callId).includes('started')) {
    await waitFor(() => server.seen(plan.callId).includes('done'), SLOW_MS + 2000);
  }
  const s = status as grpc.StatusObject | undefined;
  const e = error as grpc.ServiceError | null;
  const observed: Observed = {
    code: s?.code ?? -1,
    details: stable(s?.details ?? '<no status>'),
    errorMessage: e === null ? null : stable(e.message),
    responses,
    headers,
    trailers: metadataObject(s?.metadata),
    events,
  };
  // The error's metadata must be the status' trailers.
  if (e !== null && s !== undefined) {
    if (JSON.stringify(metadataObject(e.metadata)) !== JSON.stringify(observed.trailers)) {
      observed.events.push('error metadata differs from status metadata');
    }
    if (e.code !== s.code || e.details !== s.details) observed.events.push('error differs from status');
  }
  return { observed, seen: [...server.seen(plan.callId)] };
}
