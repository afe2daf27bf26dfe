export type {
  ConformanceApp,
  ConformanceHandler,
  ConformanceOptions,
  ConformanceResponder,
  ConformanceRoute,
  HttpAdapterUnderTest,
} from './conformance.js';
export { describeHttpAdapterConformance } from './conformance.js';
export type { RawRequestOptions, RawResponse, TestServer } from './http.js';
export { rawRequest, startServer } from './http.js';
export { jsonLineSink } from './json-lines.js';
export type { CollectedPoint, Telemetry } from './telemetry.js';
export { createTelemetry, installContextManager } from './telemetry.js';
export type {
  ObservedExchange,
  TransparencyAdapter,
  TransparencyApp,
  TransparencyCase,
  TransparencyContext,
  TransparencyMode,
} from './transparency.js';
export {
  describeSeen,
  describeTransparency,
  TRANSPARENCY_CASES,
  TRANSPARENCY_ROUTES,
  TRANSPARENCY_THROWN,
} from './transparency.js';
