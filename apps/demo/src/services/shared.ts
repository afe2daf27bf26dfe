// What every demo service does the same way: start OpenTelemetry with @tracewire/node, log with
// @tracewire/logger (JSON lines on stdout, bridged to the OTel Logs API), tell the runner it is
// ready, and stop cleanly on SIGTERM/SIGINT or when the runner goes away.
import { createLogger, installProcessHandlers, type Logger } from '@tracewire/logger';
import { start, type TracewireSdk } from '@tracewire/node';

export interface Service {
  readonly name: string;
  readonly log: Logger;
  readonly otel: TracewireSdk;
  /** Tells the runner (over IPC) that the service listens; logs it too. */
  ready(details: Record<string, unknown>): void;
  /** Registers what to close on shutdown (servers, pools), in order. */
  onShutdown(close: () => Promise<void> | void): void;
}

/** Starts telemetry and logging for one service. Call it first, before building the app. */
export async function startService(name: string): Promise<Service> {
  const otel = await start({ serviceName: name, serviceVersion: '0.1.0', handleSignals: false });
  // stdout JSON lines (what `jq`/Loki read, and what the demo runner collects), and the same
  // records through the Logs bridge to the OTLP logs exporter when one is configured.
  const log = createLogger({ name, otelLogs: true });
  installProcessHandlers({ logger: log });

  const closers: (() => Promise<void> | void)[] = [];
  let stopping = false;
  const shutdown = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    for (const close of closers) {
      try {
        await close();
      } catch (error) {
        log.warn({ err: error }, 'error while closing');
      }
    }
    await otel.shutdown(); // flushes spans, metrics and log records (bounded)
    log.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // The runner holds the IPC channel: if it dies (even by SIGKILL), the channel closes and this
  // process stops too, so no service outlives the demo.
  process.on('disconnect', () => void shutdown('runner disconnected'));

  return {
    name,
    log,
    otel,
    ready(details) {
      log.info(details, `${name} ready`);
      process.send?.({ type: 'ready', service: name, ...details });
    },
    onShutdown(close) {
      closers.push(close);
    },
  };
}

/** A required integer from the environment (the runner passes ports and settings this way). */
export function envInt(name: string, fallback?: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(`${name} is not set`);
  }
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got ${raw}`);
  return value;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
