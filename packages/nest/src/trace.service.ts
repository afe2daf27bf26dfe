import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import { context, trace } from '@opentelemetry/api';
import { runInSpan } from './internal/run-in-span.js';
import { resolveTracer } from './internal/tracer.js';
import type { OtelModuleOptions } from './options.js';
import { OTEL_MODULE_OPTIONS } from './tokens.js';

/**
 * Injectable access to the current trace: the active span (the request's SERVER span, or a
 * `@Span` child), its trace and span ids, and a tracer for manual spans.
 *
 * @example
 * @Controller('orders')
 * class OrdersController {
 *   constructor(@Inject(TraceService) private readonly traces: TraceService) {}
 *   @Get(':id')
 *   get(): { traceId: string | undefined } { return { traceId: this.traces.getTraceId() }; }
 * }
 */
@Injectable()
export class TraceService {
  readonly #options: OtelModuleOptions | undefined;

  constructor(@Optional() @Inject(OTEL_MODULE_OPTIONS) options?: OtelModuleOptions) {
    this.#options = options;
  }

  /** The active span, if any. */
  getActiveSpan(): Span | undefined {
    return trace.getActiveSpan();
  }

  /** The 32-hex trace id of the active span, or `undefined` outside a valid span context. */
  getTraceId(): string | undefined {
    const sc = trace.getActiveSpan()?.spanContext();
    return sc !== undefined && trace.isSpanContextValid(sc) ? sc.traceId : undefined;
  }

  /** The 16-hex span id of the active span, or `undefined` outside a valid span context. */
  getSpanId(): string | undefined {
    const sc = trace.getActiveSpan()?.spanContext();
    return sc !== undefined && trace.isSpanContextValid(sc) ? sc.spanId : undefined;
  }

  /** The tracewire tracer (the module's `tracerProvider`, else the global one). */
  getTracer(): Tracer {
    return resolveTracer(context.active(), this.#options?.tracerProvider);
  }

  /**
   * Runs `fn` in an INTERNAL child span, like `@Span` (sync, promise or Observable results).
   *
   * @example
   * const total = await traces.withSpan('orders.total', () => computeTotal(order));
   */
  withSpan<T>(name: string, fn: () => T, attributes?: Attributes): T {
    return runInSpan(this.getTracer(), name, { ...attributes }, fn, undefined, []);
  }
}
