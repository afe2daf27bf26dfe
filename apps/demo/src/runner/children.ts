// Starts the four services as child processes (Node 24: the runner's own process.execPath),
// collects their stdout JSON log lines, and stops them all: SIGTERM, then SIGKILL after a grace
// period. The IPC channel doubles as a lifeline: a service exits when the runner goes away.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const SERVICE_NAMES = ['inventory', 'payments', 'orders', 'gateway'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface LogLine {
  readonly service: ServiceName;
  /** epoch ms: the record's `time`, else when the runner read it */
  readonly time: number;
  readonly record: Record<string, unknown>;
}

export interface Child {
  readonly name: ServiceName;
  readonly pid: number;
  readonly port: number;
  readonly prometheusPort: number;
  readonly process: ChildProcess;
  readonly stderr: string[];
  exitCode: number | null;
  signal: string | null;
  exited: boolean;
}

export interface Fleet {
  readonly children: Map<ServiceName, Child>;
  readonly logs: LogLine[];
  /** Non-JSON stdout lines (e.g. the SDK's own console output), kept for the dump. */
  readonly rawStdout: { service: ServiceName; line: string }[];
  stop(graceMs?: number): Promise<void>;
}

/** A port that was free a moment ago (bound to 0 by the OS, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface StartFleetOptions {
  /** Environment shared by every service (telemetry settings). */
  readonly env: NodeJS.ProcessEnv;
  /** Per-service extra environment. */
  readonly settings: Partial<Record<ServiceName, Record<string, string>>>;
  readonly readyTimeoutMs: number;
}

export async function startFleet(options: StartFleetOptions): Promise<Fleet> {
  const ports = {} as Record<ServiceName, number>;
  const prometheusPorts = {} as Record<ServiceName, number>;
  for (const name of SERVICE_NAMES) {
    ports[name] = await freePort();
    prometheusPorts[name] = await freePort();
  }
  const addresses: Record<string, string> = {
    INVENTORY_PORT: String(ports.inventory),
    PAYMENTS_PORT: String(ports.payments),
    ORDERS_PORT: String(ports.orders),
    GATEWAY_PORT: String(ports.gateway),
  };
  const children = new Map<ServiceName, Child>();
  const logs: LogLine[] = [];
  const rawStdout: { service: ServiceName; line: string }[] = [];

  const readiness: Promise<void>[] = [];
  for (const name of SERVICE_NAMES) {
    const script = fileURLToPath(new URL(`../services/${name}.js`, import.meta.url));
    const proc = spawn(process.execPath, [script], {
      env: {
        ...options.env,
        ...addresses,
        ...options.settings[name],
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(prometheusPorts[name]),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const child: Child = {
      name,
      pid: proc.pid ?? -1,
      port: ports[name],
      prometheusPort: prometheusPorts[name],
      process: proc,
      stderr: [],
      exitCode: null,
      signal: null,
      exited: false,
    };
    children.set(name, child);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const record = parseJsonLine(line);
      if (record === undefined) {
        rawStdout.push({ service: name, line });
        return;
      }
      const time = typeof record.time === 'number' ? record.time : Date.now();
      logs.push({ service: name, time, record });
    });
    createInterface({ input: proc.stderr! }).on('line', (line) => child.stderr.push(line));
    proc.on('exit', (code, signal) => {
      child.exited = true;
      child.exitCode = code;
      child.signal = signal;
    });
    readiness.push(
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name} was not ready after ${options.readyTimeoutMs} ms`)),
          options.readyTimeoutMs,
        );
        proc.on('message', (message: { type?: string }) => {
          if (message?.type === 'ready') {
            clearTimeout(timer);
            resolve();
          }
        });
        proc.on('exit', (code, signal) => {
          clearTimeout(timer);
          reject(
            new Error(
              `${name} exited before it was ready (code ${code}, signal ${signal})\n${child.stderr.slice(-20).join('\n')}`,
            ),
          );
        });
      }),
    );
  }

  const fleet: Fleet = {
    children,
    logs,
    rawStdout,
    stop: (graceMs = 8000) => stopAll([...children.values()], graceMs),
  };
  try {
    await Promise.all(readiness);
  } catch (error) {
    await fleet.stop(2000);
    throw error;
  }
  return fleet;
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** SIGTERM every child (front door first), wait, SIGKILL whatever is left; resolves when all exited. */
async function stopAll(children: Child[], graceMs: number): Promise<void> {
  const order: ServiceName[] = ['gateway', 'orders', 'inventory', 'payments'];
  const sorted = [...children].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  const exits = sorted.map((child) => waitExit(child));
  for (const child of sorted) {
    if (!child.exited) child.process.kill('SIGTERM');
  }
  const timer = setTimeout(() => {
    for (const child of sorted) if (!child.exited) child.process.kill('SIGKILL');
  }, graceMs);
  await Promise.all(exits);
  clearTimeout(timer);
  for (const child of sorted) if (child.process.connected) child.process.disconnect();
}

function waitExit(child: Child): Promise<void> {
  if (child.exited || child.process.exitCode !== null || child.process.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => child.process.once('exit', () => resolve()));
}
