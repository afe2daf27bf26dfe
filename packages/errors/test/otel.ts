// Real OpenTelemetry SDK wiring for the tests: an AsyncLocalStorage context manager registered
// globally and a tracer provider exporting to memory. Call `shutdown` in afterAll.
import { context, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

export interface TestOtel {
  readonly tracer: Tracer;
  readonly exporter: InMemorySpanExporter;
  shutdown(): Promise<void>;
}

export function setupOtel(): TestOtel {
  const contextManager = new AsyncLocalStorageContextManager();
  contextManager.enable();
  if (!context.setGlobalContextManager(contextManager))
    throw new Error('a context manager is already registered');
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return {
    tracer: provider.getTracer('@tracewire/errors-test'),
    exporter,
    async shutdown() {
      await provider.shutdown();
      context.disable();
    },
  };
}

/** Runs `fn` inside a new active span and ends the span afterwards. */
export function inSpan<T>(
  tracer: Tracer,
  name: string,
  fn: (ids: { traceId: string; spanId: string }) => T,
): T {
  return tracer.startActiveSpan(name, (span) => {
    try {
      const { traceId, spanId } = span.spanContext();
      return fn({ traceId, spanId });
    } finally {
      span.end();
    }
  });
}

/** A Proxy for which every trap throws (its handler is itself a Proxy answering every trap). */
export function hostileProxy(target: object = {}): object {
  const handler = new Proxy(
    {},
    {
      get: () => () => {
        throw new Error('trap');
      },
    },
  );
  return new Proxy(target, handler);
}

/** An object whose interesting properties all throw on read. */
export function throwingGetters<T extends object>(target: T): T {
  for (const key of [
    'message',
    'name',
    'code',
    'status',
    'statusCode',
    'expose',
    'details',
    'metadata',
    'cause',
    'stack',
  ]) {
    Object.defineProperty(target, key, {
      get() {
        throw new Error(`getter ${key}`);
      },
      configurable: true,
    });
  }
  return target;
}
