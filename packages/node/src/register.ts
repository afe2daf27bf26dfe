// `node --import @tracewire/node/register app.js` or `node -r @tracewire/node/register app.cjs`:
// starts OpenTelemetry before the app loads, configured only by environment variables (OTEL_* and
// TRACEWIRE_*, see the README). Synchronous, no top-level await: `require()` can load it.
import { startSync } from './start.js';

const printWarnings = (process.env.TRACEWIRE_PRINT_WARNINGS ?? '').trim().toLowerCase() === 'true';
try {
  startSync({ printWarnings });
} catch (error) {
  // Telemetry is expendable: a bad configuration must not stop the app from starting.
  if (printWarnings) process.stderr.write(`@tracewire/node/register: not started: ${String(error)}\n`);
}
