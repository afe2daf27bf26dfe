// Nest 10: packages/nest's shared gRPC suite (hybrid application on each platform, ClientGrpc).
import { PLATFORMS } from '../../../packages/nest/test/app.ts';
import { describeGrpcSuite } from '../../../packages/nest/test/suites/grpc.ts';

for (const platform of PLATFORMS) describeGrpcSuite(`nest 10 (${platform})`, platform);
