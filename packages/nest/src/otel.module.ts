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
import {
  Global,
  Inject,
  Module,
  Optional,
  RequestMethod,
  VERSION_NEUTRAL,
  VersioningType,
} from '@nestjs/common';
import { APP_FILTER, ApplicationConfig, HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import type { HttpInstrumentationOptions } from '@tracewire/core';
import { HttpServerInstrumentation, isSharedHttpOption } from '@tracewire/core';
import { OtelExceptionFilter } from './exception.filter.js';
import { instrumentNestFastify } from './internal/fastify.js';
import {
  nestHandlerAttributes,
  registerNestContainer,
  unregisterNestContainer,
} from './internal/handler-names.js';
import { createHttpHandler } from './internal/http-handler.js';
import { OtelHttpMiddleware } from './internal/http-middleware.js';
import { nestRoute } from './internal/route.js';
import { NestRouteTable } from './internal/route-table.js';
import { setDefaultTracerProvider } from './internal/tracer.js';
import type { OtelModuleOptions } from './options.js';
import { validateModuleOptions } from './options.js';
import { OTEL_HTTP_INSTRUMENTATION, OTEL_MODULE_OPTIONS, OTEL_ROUTE_TABLE } from './tokens.js';
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
   * @default false
   */
  problemDetails?: boolean;
}

function instrumentationFactory(
  options: OtelModuleOptions,
  table: NestRouteTable,
): HttpServerInstrumentation {
  const shared: HttpInstrumentationOptions<IncomingMessage, ServerResponse> = {};
  for (const [key, value] of Object.entries(options)) {
    if (isSharedHttpOption(key)) (shared as Record<string, unknown>)[key] = value;
  }
  return new HttpServerInstrumentation(shared, {
    name: SCOPE_NAME,
    version: VERSION,
    resolveRoute: (request) => nestRoute(request, table),
    resolveAttributes: (request) => nestHandlerAttributes(request, table),
  });
}

/** The application's route table (built on first use, after the routes are registered). */
function routeTableFactory(
  modules: ModulesContainer,
  adapterHost: HttpAdapterHost | undefined,
  config: ApplicationConfig | undefined,
): NestRouteTable {
  return new NestRouteTable({
    modules,
    config,
    requestMethods: RequestMethod as unknown as Record<number, string>,
    versionNeutral: VERSION_NEUTRAL,
    uriVersioning: VersioningType.URI,
    normalizePath: (path) => {
      const adapter = adapterHost?.httpAdapter as { normalizePath?: (p: string) => string } | undefined;
      return typeof adapter?.normalizePath === 'function' ? adapter.normalizePath(path) : path;
    },
  });
}

function commonProviders(problemDetails: boolean): Provider[] {
  const providers: Provider[] = [
    {
      provide: OTEL_ROUTE_TABLE,
      useFactory: routeTableFactory,
      inject: [
        ModulesContainer,
        { token: HttpAdapterHost, optional: true },
        { token: ApplicationConfig, optional: true },
      ],
    },
    {
      provide: OTEL_HTTP_INSTRUMENTATION,
      useFactory: instrumentationFactory,
      inject: [OTEL_MODULE_OPTIONS, OTEL_ROUTE_TABLE],
    },
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
  readonly #instrumentation: HttpServerInstrumentation;
  readonly #options: OtelModuleOptions;
  readonly #adapterHost: HttpAdapterHost | undefined;
  readonly #table: NestRouteTable;
  readonly #modules: ModulesContainer | undefined;
  /** Whether the HTTP platform is instrumented (early Express middleware, or the Fastify hooks). */
  #installed = false;

  constructor(
    @Inject(OTEL_HTTP_INSTRUMENTATION) instrumentation: HttpServerInstrumentation,
    @Inject(OTEL_MODULE_OPTIONS) options: OtelModuleOptions,
    @Inject(HttpAdapterHost) adapterHost: HttpAdapterHost,
    @Inject(ModulesContainer) modules: ModulesContainer,
    @Optional() @Inject(OTEL_ROUTE_TABLE) table?: NestRouteTable,
  ) {
    this.#instrumentation = instrumentation;
    this.#options = options;
    this.#adapterHost = adapterHost;
    this.#table = table ?? routeTableFactory(modules, adapterHost, undefined);
    setDefaultTracerProvider(options.tracerProvider);
    // For `withOtelGrpcServer`: the gRPC methods' controllers, scanned on the first call.
    registerNestContainer(modules);
    this.#modules = modules;
    // NestFactory.create() hands the HTTP adapter to the container before it creates modules, so
    // what is installed here runs before the body parser and everything Nest registers at init().
    // Test.createTestingModule() creates modules first: configure() installs it then.
    this.#installed = this.#install();
  }

  /**
   * Instruments the HTTP platform, if the adapter is known: on Express, a middleware on the
   * application (unless `earlyMiddleware: false`); on Fastify, `@tracewire/fastify`'s hooks on the
   * instance Nest created. Never throws: the Nest middleware of configure() is the fallback.
   */
  #install(): boolean {
    try {
      const adapter = this.#adapterHost?.httpAdapter;
      if (adapter === undefined || adapter === null) return false;
      const type = adapter.getType();
      if (type === 'fastify') {
        instrumentNestFastify(adapter.getInstance(), this.#options, this.#table);
        return true;
      }
      if (type !== 'express' || this.#options.earlyMiddleware === false) return false;
      adapter.use(createHttpHandler(this.#instrumentation, this.#options.tracerProvider));
      return true;
    } catch (error) {
      this.#instrumentation.diag.warn(
        'install',
        'could not instrument the HTTP platform (on Express the Nest middleware takes over)',
        error,
      );
      return false;
    }
  }

  /** The application is closing: its gRPC controllers are no longer looked up. */
  onModuleDestroy(): void {
    unregisterNestContainer(this.#modules);
  }

  /**
   * Instruments the HTTP platform now if the adapter was not known when the module was created
   * (a testing module), else binds the span-starting Nest middleware to every route.
   */
  configure(consumer: MiddlewareConsumer): void {
    // With the platform instrumented every request already has its span; a second, no-op route
    // layer on every path would only cost path matching on every request.
    if (this.#installed) return;
    this.#installed = this.#install();
    if (this.#installed) return;
    const adapter = this.#adapterHost?.httpAdapter as
      | { getType?: () => string; normalizePath?: unknown }
      | undefined;
    // Fastify: Nest middleware see a rewritten URL and no route; only the hooks above can trace it.
    if (adapter?.getType?.() === 'fastify') {
      this.#instrumentation.diag.error(
        'install',
        'platform-fastify could not be instrumented: no HTTP spans',
      );
      return;
    }
    // Express 5 (Nest >= 11, whose Express adapter normalizes paths) needs a named wildcard.
    const path = typeof adapter?.normalizePath === 'function' ? '{*path}' : '*';
    consumer.apply(OtelHttpMiddleware).forRoutes({ path, method: RequestMethod.ALL });
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
        ...commonProviders(validated.problemDetails === true),
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
        ...commonProviders(options.problemDetails === true),
      ],
      exports: [OTEL_MODULE_OPTIONS, TraceService],
    };
  }
}
