import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';

/**
 * The part of grpc-js's `Metadata` the carrier uses. Structural, so the carrier works with any copy
 * of `@grpc/grpc-js` and needs no runtime import of it.
 */
export interface MetadataLike {
  get(key: string): unknown[];
  set(key: string, value: string): void;
  getMap(): Record<string, unknown>;
}

/**
 * grpc-js `Metadata.set` throws on keys outside `[0-9a-z_.-]` and on non-binary values outside
 * printable ASCII (grpc-js src/metadata.ts); checking first keeps the throw (and its cost) away.
 */
function isLegalKey(key: string): boolean {
  if (key.length === 0 || key.endsWith('-bin')) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x2d;
    if (!ok) return false;
  }
  return true;
}

function isLegalValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/**
 * Reads propagation fields from grpc-js `Metadata`. A key sent once gives a string, a key sent
 * several times gives all its values (so the W3C propagator sees a repeated `traceparent` and
 * restarts the trace). Binary (`-bin`) values are never returned. Never throws.
 *
 * @example
 * const parent = propagation.extract(ROOT_CONTEXT, call.metadata, grpcMetadataGetter);
 */
export const grpcMetadataGetter: TextMapGetter<MetadataLike> = {
  keys(carrier: MetadataLike): string[] {
    try {
      return Object.keys(carrier.getMap());
    } catch {
      return [];
    }
  },
  get(carrier: MetadataLike, key: string): string | string[] | undefined {
    let values: unknown[];
    try {
      values = carrier.get(key);
    } catch {
      return undefined;
    }
    if (!Array.isArray(values) || values.length === 0) return undefined;
    if (values.length === 1) return typeof values[0] === 'string' ? values[0] : undefined;
    const out: string[] = [];
    for (const v of values) if (typeof v === 'string') out.push(v);
    return out.length === 0 ? undefined : out;
  },
};

/**
 * Writes propagation fields into grpc-js `Metadata`, replacing any value already there. Keys and
 * values grpc-js would reject (and anything with CR, LF or non-ASCII) are skipped, so it never
 * throws.
 *
 * @example
 * const copy = metadata.clone();
 * propagation.inject(context.active(), copy, grpcMetadataSetter);
 */
export const grpcMetadataSetter: TextMapSetter<MetadataLike> = {
  set(carrier: MetadataLike, key: string, value: string): void {
    if (typeof key !== 'string' || typeof value !== 'string') return;
    const k = key.toLowerCase();
    if (!isLegalKey(k) || !isLegalValue(value)) return;
    try {
      carrier.set(k, value);
    } catch {
      // A carrier that is not a grpc-js Metadata: the field is skipped.
    }
  },
};
