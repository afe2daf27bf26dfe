// Public API of @tracewire/node. An explicit list: nothing under ./internal is exported.

export type { LineWriter } from './console-exporter.js';
export { formatSpan, ReadableConsoleSpanExporter } from './console-exporter.js';
export type {
  DoctorFinding,
  DoctorOptions,
  DoctorReport,
  DoctorSeverity,
  FormatDoctorOptions,
  InstalledPackage,
} from './doctor.js';
export { apiAccepts, formatDoctorReport, runDoctor } from './doctor.js';
export type {
  HttpClientOptions,
  HttpDestination,
  TrustedDestinations,
  UndiciDispatcherEntry,
  UndiciStatsSource,
} from './http-client.js';
export {
  ATTR_TRACEWIRE_CONNECTION_WAIT_TIME,
  instrumentHttpClient,
  METRIC_HTTP_CLIENT_CONNECTION_WAIT_TIME,
  METRIC_HTTP_CLIENT_OPEN_CONNECTIONS,
  METRIC_HTTP_CLIENT_PENDING_REQUESTS,
  METRIC_HTTP_CLIENT_REQUEST_DURATION,
  trustPredicate,
} from './http-client.js';
export type { RuntimeMetricsOptions } from './runtime-metrics.js';
export { RUNTIME_METRICS, startRuntimeMetrics } from './runtime-metrics.js';
export type { StartOptions, StartStatus, TracewireSdk } from './start.js';
export { enableDiagnostics, start, startSync } from './start.js';
export type { UndiciDispatch, UndiciInterceptor } from './undici-interceptor.js';
export { otelUndiciInterceptor } from './undici-interceptor.js';
export { VERSION } from './version.js';
