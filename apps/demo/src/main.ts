// tracewire demo: set up telemetry, start the app, send it a few requests, print what was recorded.
import { createApp, startServer } from './app.js';
import {
  printExchanges,
  printHeading,
  printMetrics,
  printNote,
  printTelemetryResult,
  printTraces,
} from './print.js';
import { setupTelemetry } from './telemetry.js';
import { driveTraffic } from './traffic.js';

const telemetry = setupTelemetry();
const server = await startServer(createApp());
printNote(`demo-gateway listening on ${server.url}`);

try {
  printHeading('Responses');
  printExchanges(await driveTraffic(server.url));
} finally {
  await server.close(); // every server span has ended once the connections are closed
}

if (telemetry.mode === 'embedded') {
  printHeading('Traces');
  printTraces(await telemetry.finishedSpans());
  printHeading('Metrics');
  printMetrics(await telemetry.collectMetrics());
}
printTelemetryResult(telemetry.endpoint, await telemetry.shutdown());
