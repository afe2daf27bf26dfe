import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { type Attributes, trace } from '@opentelemetry/api';
import { getServerRequest } from '@tracewire/core';
import { nestRoute } from './route.js';

/** Span attributes naming the Nest handler of a request. */
export const ATTR_CODE_FUNCTION_NAME = 'code.function.name';
export const ATTR_NEST_CONTROLLER = 'nest.controller';
export const ATTR_NEST_HANDLER = 'nest.handler';

function handlerAttributes(ctx: ExecutionContext): Attributes {
  const controller = ctx.getClass()?.name;
  const handler = ctx.getHandler()?.name;
  if (typeof controller !== 'string' || typeof handler !== 'string') return {};
  return {
    [ATTR_CODE_FUNCTION_NAME]: `${controller}.${handler}`,
    [ATTR_NEST_CONTROLLER]: controller,
    [ATTR_NEST_HANDLER]: handler,
  };
}

/**
 * A global guard that never rejects: it is the first place where Nest tells which controller and
 * method handle the request, and it runs before interceptors, pipes and controller- or
 * method-scoped guards, so the names are on the span even when one of those rejects. It also
 * sets `http.route` from the route Nest registered for that handler.
 */
@Injectable()
export class OtelContextGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    try {
      const type = ctx.getType();
      if (type === 'rpc') {
        // The call's SERVER span, active when @tracewire/grpc's server interceptor is installed.
        const span = trace.getActiveSpan();
        if (span?.isRecording() === true) span.setAttributes(handlerAttributes(ctx));
        return true;
      }
      if (type !== 'http') return true;
      const req: object = ctx.switchToHttp().getRequest();
      const server = getServerRequest(req);
      if (server === undefined || server.ended) return true;
      if (server.span.isRecording()) server.span.setAttributes(handlerAttributes(ctx));
      server.setRoute(nestRoute(req));
    } catch {
      // Telemetry never decides whether a request may run.
    }
    return true;
  }
}
