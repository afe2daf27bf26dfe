import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NestMiddleware } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import type { HttpServerInstrumentation } from '@tracewire/core';
import type { OtelModuleOptions } from '../options.js';
import { OTEL_HTTP_INSTRUMENTATION, OTEL_MODULE_OPTIONS } from '../tokens.js';
import { createHttpHandler, type NestHttpHandler } from './http-handler.js';

/** The Nest middleware `OtelModule` binds to every route (see `OtelModule.configure`). */
@Injectable()
export class OtelHttpMiddleware implements NestMiddleware {
  readonly #handler: NestHttpHandler;

  constructor(
    @Inject(OTEL_HTTP_INSTRUMENTATION) instrumentation: HttpServerInstrumentation,
    @Inject(OTEL_MODULE_OPTIONS) options: OtelModuleOptions,
  ) {
    this.#handler = createHttpHandler(instrumentation, options.tracerProvider);
  }

  use(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void {
    this.#handler(req, res, next);
  }
}
