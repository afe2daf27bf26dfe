// Nest 12 × {platform-express, platform-fastify}: the application bare and with OtelModule.forRoot()
// answer every standard request identically (tools/testing/src/transparency.ts).
import { PLATFORMS } from './app.js';
import { describeNestTransparency } from './suites/transparency.js';

for (const platform of PLATFORMS) describeNestTransparency(`nest 12 (${platform})`, platform);
