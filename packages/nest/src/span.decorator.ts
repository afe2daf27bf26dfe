import type { Attributes } from '@opentelemetry/api';
import { context } from '@opentelemetry/api';
import { runInSpan } from './internal/run-in-span.js';
import { resolveTracer } from './internal/tracer.js';

/** Options of {@link Span}. */
export interface SpanOptions {
  /** Attributes set when the span starts (static values only: no arguments are recorded). */
  attributes?: Attributes;
}

interface MetadataReflect {
  getOwnMetadataKeys?: (target: object) => unknown[];
  getOwnMetadata?: (key: unknown, target: object) => unknown;
  defineMetadata?: (key: unknown, value: unknown, target: object) => void;
}

/**
 * Copies every own `reflect-metadata` entry of `from` to `to`, so decorators applied before
 * `@Span` (route, `@OnEvent`, `SetMetadata`, Swagger...) still find their metadata on the method.
 */
function copyMetadata(from: object, to: object): void {
  const r = Reflect as unknown as MetadataReflect;
  if (typeof r.getOwnMetadataKeys !== 'function' || typeof r.defineMetadata !== 'function') return;
  for (const key of r.getOwnMetadataKeys(from)) {
    r.defineMetadata(key, r.getOwnMetadata?.(key, from), to);
  }
}

/**
 * Method decorator: every call runs inside an INTERNAL child span of the active span, named
 * `name` or `ClassName.method`, with `code.function.name` = `ClassName.method`. Works for sync
 * methods, async methods (the span ends when the promise settles) and methods returning an
 * Observable (the span ends on complete, error or unsubscribe). A throw or rejection is recorded
 * (`exception` event, `error.type` = the error's class name, status ERROR) and passed on
 * unchanged. Every metadata already on the method is copied to the wrapper, and decorators
 * applied after `@Span` write to the wrapper, so the order of decorators does not matter.
 *
 * The tracer comes from the `tracerProvider` given to `OtelModule.forRoot()` (carried by the
 * request context), else the global provider.
 *
 * @example
 * @Injectable()
 * class OrdersService {
 *   @Span()
 *   async load(id: string): Promise<Order> { return this.repo.find(id); }
 *
 *   @Span('orders.price', { attributes: { 'orders.currency': 'EUR' } })
 *   price(order: Order): number { return order.total; }
 * }
 */
export function Span(name?: string, options?: SpanOptions): MethodDecorator {
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw new TypeError('@tracewire/nest: @Span(name) must be a non-empty string');
  }
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError('@tracewire/nest: @Span options must be an object');
  }
  return function spanDecorator<T>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T> {
    const original = descriptor.value;
    if (typeof original !== 'function') {
      throw new TypeError(`@tracewire/nest: @Span can only decorate methods (${String(propertyKey)})`);
    }
    const owner = typeof target === 'function' ? target : target.constructor;
    const className = typeof owner?.name === 'string' && owner.name !== '' ? owner.name : 'anonymous';
    const functionName = `${className}.${String(propertyKey)}`;
    const spanName = name ?? functionName;
    const attributes: Attributes = { ...options?.attributes, 'code.function.name': functionName };
    const fn = original as (this: unknown, ...args: unknown[]) => unknown;
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      return runInSpan(resolveTracer(context.active()), spanName, attributes, fn, this, args);
    };
    copyMetadata(fn, wrapped);
    Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true });
    Object.defineProperty(wrapped, 'length', { value: fn.length, configurable: true });
    descriptor.value = wrapped as T;
    return descriptor;
  };
}
