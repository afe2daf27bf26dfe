// Public API of the propagation module (explicit list; nothing under ./internal is exported).

export type { HttpHeadersLike } from './carriers.js';
export { httpHeaderGetter, httpHeaderSetter } from './carriers.js';
export {
  BAGGAGE_HEADER,
  BAGGAGE_MAX_BYTES,
  BAGGAGE_MAX_MEMBERS,
  BAGGAGE_MAX_PAIR_BYTES,
  TRACEPARENT_HEADER,
  TRACERESPONSE_HEADER,
  TRACESTATE_HEADER,
  TRACESTATE_MAX_KEY_LENGTH,
  TRACESTATE_MAX_MEMBERS,
  TRACESTATE_MAX_SCAN_BYTES,
  TRACESTATE_MAX_VALUE_LENGTH,
} from './constants.js';
export type { ExtractContextOptions, InjectContextOptions } from './helpers.js';
export { extractContext, injectContext, resolvePropagator } from './helpers.js';
export { traceResponseHeaderValue } from './traceparent.js';
export type { TraceStateParseMode } from './tracestate.js';
export type { W3CPropagatorOptions } from './w3c-propagator.js';
export { hasRandomTraceFlag, w3cPropagator } from './w3c-propagator.js';
