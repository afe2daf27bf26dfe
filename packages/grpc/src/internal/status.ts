import { GrpcCode } from '@tracewire/errors';

/**
 * A client's own deadline timer fires about one network transit before the server's (the
 * `grpc-timeout` header is relative), and then the server only sees the stream being reset. A reset
 * this close to the server's deadline is reported as DEADLINE_EXCEEDED, not CANCELLED.
 */
export const DEADLINE_SLACK_MS = 20;

/** How deep {@link sentStatusCode} looks through the chain of intercepting calls. */
const MAX_CHAIN_DEPTH = 8;

/**
 * The `grpc-status` the server actually wrote on the HTTP/2 stream, read from Node's
 * `Http2Stream.sentTrailers` (normal responses) or `sentHeaders` (trailers-only responses).
 *
 * - a number: the code sent on the wire (this catches statuses grpc-js sends by itself, which no
 *   interceptor sees: its deadline timer, RESOURCE_EXHAUSTED for oversized messages, INTERNAL for
 *   undecodable ones);
 * - `null`: the stream was found and no status was sent (the client cancelled or went away);
 * - `undefined`: the stream could not be found (a grpc-js whose internals differ); the caller then
 *   falls back to the status it saw pass through the interceptor.
 *
 * The stream is a private field of grpc-js's `BaseServerInterceptingCall`, reached through the
 * `nextCall` links of the intercepting calls in between: read only, structurally checked, and
 * never required. Never throws.
 */
export function sentStatusCode(call: unknown): number | null | undefined {
  try {
    let c: unknown = call;
    for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
      if (c === null || typeof c !== 'object') return undefined;
      const stream: unknown = (c as { stream?: unknown }).stream;
      if (stream !== null && typeof stream === 'object' && 'sentHeaders' in stream) {
        const s = stream as { sentTrailers?: Record<string, unknown>; sentHeaders?: Record<string, unknown> };
        return statusIn(s.sentTrailers) ?? statusIn(s.sentHeaders) ?? null;
      }
      c = (c as { nextCall?: unknown }).nextCall;
    }
  } catch {
    // Unexpected shape: fall back.
  }
  return undefined;
}

function statusIn(headers: Record<string, unknown> | undefined): number | undefined {
  if (headers === undefined || headers === null || typeof headers !== 'object') return undefined;
  const raw = headers['grpc-status'];
  if (raw === undefined) return undefined;
  const code = typeof raw === 'number' ? raw : Number(raw);
  return Number.isInteger(code) ? code : undefined;
}

/** Whether the call's deadline (`getDeadline()`) has passed, give or take {@link DEADLINE_SLACK_MS}. */
export function deadlinePassed(call: { getDeadline(): Date | number }): boolean {
  try {
    const d = call.getDeadline();
    const at = typeof d === 'number' ? d : d.getTime();
    return Number.isFinite(at) && Date.now() >= at - DEADLINE_SLACK_MS;
  } catch {
    return false;
  }
}

/** What a call that ended without any status being sent is reported as. */
export function statusWithoutResponse(call: { getDeadline(): Date | number }): number {
  return deadlinePassed(call) ? GrpcCode.DEADLINE_EXCEEDED : GrpcCode.CANCELLED;
}
