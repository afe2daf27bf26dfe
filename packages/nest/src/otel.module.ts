import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  DynamicModule,
  InjectionToken,
  MiddlewareConsumer,
  ModuleMetadata,
  NestModule,
  OnModuleDestroy,
  OptionalFactoryDependency,
  Provider,
} from '@nestjs/common';
import { Global, Inject, Module, RequestMethod } from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import type { HttpInstrumentationOptions } from '@tracewire/core';
import { HttpServerInstrumentation, isSharedHttpOption } from '@tracewire/core';
import { OtelExceptionFilter } from './exception.filter.js';
import {
  nestHandlerAttributes,
  registerNestContainer,
  unregisterNestContainer,
} from './internal/handler-names.js';
import { createHttpHandler } from './internal/http-handler.js';
import { OtelHttpMiddleware } from './internal/http-middleware.js';
import { nestRoute } from './internal/route.js';
import { setDefaultTracerProvider } from './internal/tracer.js';
import type { OtelModuleOptions } from './options.js';
import { validateModuleOptions } from './options.js';
import { OTEL_HTTP_INSTRUMENTATION, OTEL_MODULE_OPTIONS } from './tokens.js';
import { TraceService } from './trace.service.js';
import { SCOPE_NAME, VERSION } from './version.js';

/** Options of {@link OtelModule.forRootAsync}. */
export interface OtelModuleAsyncOptions {
  /** Modules whose providers `useFactory` injects. */
  imports?: ModuleMetadata['imports'];
  /** Returns the module options (may be async). */
  useFactory: (...args: any[]) => OtelModuleOptions | undefined | Promise<OtelModuleOptions | undefined>;
  /** Tokens injected into `useFactory`. */
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  /**
   * Whether to register the problem+json exception filter. It is decided here rather than by the
   * factory's result because Nest registers global filters before factories run.
   * @default true
   */
  problemDetails?: boolean;
}

function instrumentationFactory(options: OtelModuleOptions): HttpServerInstrumentation {
  const shared: HttpInstrumentationOptions<IncomingMessage, ServerResponse> = {};
  for (const [key, value] of Object.entries(options)) {
    if (isSharedHttpOption(key)) (shared as Record<string, unknown>)[key] = value;
  }
  return new HttpServerInstrumentation(shared, {
    name: SCOPE_NAME,
    version: VERSION,
    resolveRoute: nestRoute,
    resolveAttributes: nestHandlerAttributes,
  });
}

function commonProviders(problemDetails: boolean): Provider[] {
  const providers: Provider[] = [
    { provide: OTEL_HTTP_INSTRUMENTATION, useFactory: instrumentationFactory, inject: [OTEL_MODULE_OPTIONS] },
    TraceService,
  ];
  if (problemDetails) providers.push({ provide: APP_FILTER, useClass: OtelExceptionFilter });
  return providers;
}

/**
 * OpenTelemetry for a NestJS application, in one import: a SERVER span per HTTP request (started
 * before guards, pipes and interceptors) with the route template, the controller and handler, the
 * stable HTTP metrics, W3C propagation, and `application/problem+json` errors carrying the trace
 * id. Global: import it once, in the root module.
 *
 * @example
 * @Module({ imports: [OtelModule.forRoot()], controllers: [OrdersController] })
 * export class AppModule {}
 */
@Global()
@Module({})
export class OtelModule implements NestModule, OnModuleDestroy {
  /** Whether the early Express middleware was installed (then the Nest middleware is not needed). */
  readonly #early: boolean = false;
  readonly #modules: ModulesContainer | undefined;

  constructor(
    @Inject(OTEL_HTTP_INSTRUMENTATION) instrumentation: HttpServerInstrumentation,
    @Inject(OTEL_MODULE_OPTIONS) options: OtelModuleOptions,
    @Inject(HttpAdapterHost) adapterHost: HttpAdapterHost,
    @Inject(ModulesContainer) modules: ModulesContainer,
  ) {
    setDefaultTracerProvider(options.tracerProvider);
    // For `withOtelGrpcServer`: the gRPC methods' controllers, scanned on the first call.
    registerNestContainer(modules);
    this.#modules = modules;
    if (options.earlyMiddleware === false) return;
    // NestFactory.create() hands the HTTP adapter to the container before it creates modules, so
    // a middleware registered here runs before the body parser and everything Nest registers at
    // init(). Test.createTestingModule() creates modules first: the Nest middleware covers that.
    try {
      const adapter = adapterHost?.httpAdapter;
      if (adapter === undefined || adapter === null || adapter.getType() !== 'express') return;
      adapter.use(createHttpHandler(instrumentation, options.tracerProvider));
      this.#early = true;
    } catch {
      // The Nest middleware below still starts the span.
    }
  }

  /** The application is closing: its gRPC controllers are no longer looked up. */
  onModuleDestroy(): void {
    unregisterNestContainer(this.#modules);
  }

  /** Binds the span-starting middleware to every route when the early middleware could not be installed. */
  configure(consumer: MiddlewareConsumer): void {
    // With the early middleware in place every request already has its span; a second, no-op
    // route layer on '{*path}' would only cost path matching on every request.
    if (this.#early) return;
    consumer.apply(OtelHttpMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }

  /**
   * The module with static options (validated here: a wrong type throws a `TypeError`).
   *
   * @example
   * OtelModule.forRoot({ tracerProvider, meterProvider, ignore: ['/health'] })
   */
  static forRoot(options?: OtelModuleOptions): DynamicModule {
    const validated = validateModuleOptions(options);
    return {
      module: OtelModule,
      global: true,
      providers: [
        { provide: OTEL_MODULE_OPTIONS, useValue: validated },
        ...commonProviders(validated.problemDetails !== false),
      ],
      exports: [OTEL_MODULE_OPTIONS, TraceService],
    };
  }

  /**
   * The module with options from a factory (validated when it resolves).
   *
   * @example
   * OtelModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ ignore: [config.get('HEALTH_PATH')] }),
   * })
   */
  static forRootAsync(options: OtelModuleAsyncOptions): DynamicModule {
    if (options === null || typeof options !== 'object' || typeof options.useFactory !== 'function') {
      throw new TypeError(`${SCOPE_NAME}: forRootAsync needs { useFactory }`);
    }
    if (options.problemDetails !== undefined && typeof options.problemDetails !== 'boolean') {
      throw new TypeError(`${SCOPE_NAME}: forRootAsync options.problemDetails must be a boolean`);
    }
    const factory = options.useFactory;
    return {
      module: OtelModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        {
          provide: OTEL_MODULE_OPTIONS,
          useFactory: async (...args: unknown[]) => validateModuleOptions(await factory(...args)),
          inject: options.inject ?? [],
        },
        ...commonProviders(options.problemDetails !== false),
      ],
      exports: [OTEL_MODULE_OPTIONS, TraceService],
    };
  }
}
