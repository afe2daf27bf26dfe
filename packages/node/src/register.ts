// `node --import @tracewire/node/register app.js`: starts OpenTelemetry before the app loads,
// configured only by environment variables (OTEL_* and TRACEWIRE_*, see the README).
import { start } from './start.js';

const printWarnings = (process.env.TRACEWIRE_PRINT_WARNINGS ?? '').trim().toLowerCase() === 'true';
try {
  await start({ printWarnings });
} catch (error) {
  // Telemetry is expendable: a bad configuration must not stop the app from starting.
  if (printWarnings) process.stderr.write(`@tracewire/node/register: not started: ${String(error)}\n`);
}
