// Nest 12 × {platform-express, platform-fastify}: the shared HTTP suite (tests/nest10 and
// tests/nest11 run the same suite against their own Nest copies).
import { PLATFORMS } from './app.js';
import { describeHttpSuite } from './suites/http.js';

for (const platform of PLATFORMS) describeHttpSuite(`nest 12 (${platform})`, platform);
