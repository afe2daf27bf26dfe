// Type-level use of every published package, so the consumer's compiler reads each package's
// declarations (and their peers') under the consumer's settings. Koa is left out: @types/koa's
// current release does not compile with skipLibCheck off (its content-disposition import).
import type { HttpServerInstrumentation } from '@tracewire/core';
import { GrpcCode, TracedError } from '@tracewire/errors';
import type { otelFastify } from '@tracewire/fastify';
import type { otelGrpcServerInterceptor } from '@tracewire/grpc';
import type { createLogger } from '@tracewire/logger';
import type { OtelModule } from '@tracewire/nest';
import type { tracePg } from '@tracewire/pg';

export type Everything = [
  typeof HttpServerInstrumentation,
  typeof otelFastify,
  typeof otelGrpcServerInterceptor,
  typeof createLogger,
  typeof OtelModule,
  typeof tracePg,
];
export const notFound: number = GrpcCode.NOT_FOUND;
export const isTraced = (e: unknown): boolean => e instanceof TracedError;
