// Which signals have a destination, decided from the standard OTEL_* variables. The SDK reads the
// variables itself (exporter names, protocol, endpoint, headers, batch sizes); tracewire only
// decides what happens when nothing at all is configured, and keeps console output batched.

export type Env = Readonly<Record<string, string | undefined>>;

function set(env: Env, name: string): boolean {
  const value = env[name];
  return value !== undefined && value.trim() !== '';
}

function list(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '' && s !== 'null');
}

/** What to do for one signal. */
export type SignalPlan =
  /** tracewire's readable console output behind a batch processor */
  | 'console'
  /** let the SDK build exporters from OTEL_* (otlp per protocol, zipkin, prometheus, …) */
  | 'sdk-env'
  /** no provider for this signal */
  | 'off';

function endpointSet(env: Env, signal: 'TRACES' | 'METRICS' | 'LOGS'): boolean {
  return set(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') || set(env, `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`);
}

/** Traces: console when nothing is configured (local development), else the SDK's env handling. */
export function planTraces(env: Env): SignalPlan {
  const names = list(env, 'OTEL_TRACES_EXPORTER');
  if (names.length === 0) return endpointSet(env, 'TRACES') ? 'sdk-env' : 'console';
  if (names.includes('none') && names.length === 1) return 'off';
  // The SDK pairs its console exporter with a simple (synchronous) processor; tracewire batches.
  if (names.length === 1 && names[0] === 'console') return 'console';
  return 'sdk-env';
}

/** Metrics and logs: off when nothing is configured (a periodic console dump is not readable). */
export function planMetrics(env: Env): SignalPlan {
  const names = list(env, 'OTEL_METRICS_EXPORTER');
  if (names.length === 0) return endpointSet(env, 'METRICS') ? 'sdk-env' : 'off';
  if (names.includes('none')) return 'off';
  return 'sdk-env';
}

export function planLogs(env: Env): SignalPlan {
  const names = list(env, 'OTEL_LOGS_EXPORTER');
  if (names.length === 0) return endpointSet(env, 'LOGS') ? 'sdk-env' : 'off';
  if (names.includes('none')) return 'off';
  return 'sdk-env';
}

/** A positive integer from the environment, or `undefined`. */
export function positiveInt(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : undefined;
}

export function propagatorsFromEnvSet(env: Env): boolean {
  return set(env, 'OTEL_PROPAGATORS');
}

/** `OTEL_SDK_DISABLED=true` turns the whole SDK off (the SDK honours it; tracewire too). */
export function sdkDisabled(env: Env): boolean {
  return (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true';
}
