// Nest 11 × {platform-express, platform-fastify}: packages/nest's shared HTTP suite.
import { PLATFORMS } from '../../../packages/nest/test/app.ts';
import { describeHttpSuite } from '../../../packages/nest/test/suites/http.ts';

for (const platform of PLATFORMS) describeHttpSuite(`nest 11 (${platform})`, platform);
