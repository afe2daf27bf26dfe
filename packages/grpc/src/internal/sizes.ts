// Message sizes for the gRFC A66 `*_total_compressed_message_size` histograms. grpc-js gives
// interceptors messages, not bytes, so each direction is measured where grpc-js leaves the bytes
// within reach; see the README (Metrics, gRPC names) for what each one is exactly.

/** How deep {@link serverDecoder} looks through the chain of intercepting calls. */
const MAX_CHAIN_DEPTH = 8;

/** The part of grpc-js's per-call `StreamDecoder` that is read: the last message's length prefix. */
export interface MessageDecoder {
  readMessageSize: number;
}

/**
 * The request decoder of a server call: the per-call `StreamDecoder` of grpc-js's
 * `BaseServerInterceptingCall` (grpc-js >= 1.10), reached through the `nextCall` links of the
 * intercepting calls in between. Read only, structurally checked, optional (`undefined` when the
 * internals differ: the received size is then not recorded). Never throws.
 */
export function serverDecoder(call: unknown): MessageDecoder | undefined {
  try {
    let c: unknown = call;
    for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
      if (c === null || typeof c !== 'object') return undefined;
      const decoder: unknown = (c as { decoder?: unknown }).decoder;
      if (
        decoder !== null &&
        typeof decoder === 'object' &&
        typeof (decoder as MessageDecoder).readMessageSize === 'number'
      ) {
        return decoder as MessageDecoder;
      }
      c = (c as { nextCall?: unknown }).nextCall;
    }
  } catch {
    // Unexpected shape: not measured.
  }
  return undefined;
}

/** The byte length of a serialized message (a Buffer / Uint8Array), or -1. */
export function byteLength(serialized: unknown): number {
  if (serialized instanceof Uint8Array) return serialized.byteLength;
  return -1;
}
