import { safeGet } from './safe.js';

/**
 * How many `cause` links we follow. Real chains are a handful deep; the limit keeps a 10k-deep or
 * adversarial chain from costing more than a few property reads.
 */
export const MAX_CAUSE_DEPTH = 16;

/**
 * The object values of a cause chain: `start` first, then `start.cause`, `start.cause.cause`...
 * Stops at the first non-object cause, at a cycle (an object seen before), or after
 * {@link MAX_CAUSE_DEPTH} links. Reads are guarded, so it never throws.
 */
export function causeChain(start: unknown): unknown[] {
  const chain: unknown[] = [];
  const seen = new Set<unknown>();
  let node = start;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH; depth++) {
    if ((typeof node !== 'object' || node === null) && typeof node !== 'function') break;
    if (seen.has(node)) break;
    seen.add(node);
    chain.push(node);
    node = safeGet(node, 'cause');
  }
  return chain;
}
