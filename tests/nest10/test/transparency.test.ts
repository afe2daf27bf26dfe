// Nest 10 × {platform-express, platform-fastify}: bare vs instrumented application.
import { PLATFORMS } from '../../../packages/nest/test/app.ts';
import { describeNestTransparency } from '../../../packages/nest/test/suites/transparency.ts';

for (const platform of PLATFORMS) describeNestTransparency(`nest 10 (${platform})`, platform);
