// A real Nest application for the tests (shared by the Nest 10, 11 and 12 suites, on Express and
// Fastify: everything here is imported from the Nest copy of the workspace running the tests): controllers covering route templates (global prefix, URI
// versioning, RouterModule-free nesting), every rejection path (guard, ValidationPipe, HttpException,
// plain Error, non-Error throws, a custom filter) and @Span/TraceService.
import 'reflect-metadata';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  ArgumentsHost,
  CallHandler,
  CanActivate,
  ExceptionFilter,
  ExecutionContext,
  INestApplication,
  NestInterceptor,
} from '@nestjs/common';
import {
  Body,
  Catch,
  Controller,
  Get,
  HttpCode,
  HttpException,
  Inject,
  Injectable,
  InternalServerErrorException,
  Module,
  NotFoundException,
  Param,
  Post,
  Res,
  SetMetadata,
  UseFilters,
  UseGuards,
  UseInterceptors,
  ValidationPipe,
  VersioningType,
} from '@nestjs/common';
import { HttpAdapterHost, NestFactory, Reflector } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { IsInt, IsString, Min } from 'class-validator';
import { type Observable, of, delay as rxDelay, throwError } from 'rxjs';
import { OtelModule, type OtelModuleOptions, Span, TraceService } from '../src/index.js';

export const SECRET = 'connect ECONNREFUSED 10.1.2.3:5432 user=admin password=hunter2';

export class CreateOrderDto {
  @IsString()
  item!: string;

  @IsInt()
  @Min(1)
  quantity!: number;
}

export const ROLES = 'test:roles';
export const Roles = (...roles: string[]): MethodDecorator & ClassDecorator => SetMetadata(ROLES, roles);

/** Reads @Roles metadata from the handler: proves the metadata survives @Span. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(@Inject(Reflector) private readonly reflector: Reflector) {}
  canActivate(ctx: ExecutionContext): boolean {
    const roles = this.reflector.get<string[] | undefined>(ROLES, ctx.getHandler());
    if (roles === undefined) return true;
    const role = ctx.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-role'];
    return role !== undefined && roles.includes(role);
  }
}

export class UnprocessableError extends Error {}

/** An application's own filter, answering through the platform's adapter (Express or Fastify). */
@Catch(UnprocessableError)
export class UnprocessableFilter implements ExceptionFilter {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}
  catch(_error: UnprocessableError, host: ArgumentsHost): void {
    this.adapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), { custom: true }, 422);
  }
}

/** Records what status an interceptor sees (Nest interceptors run before filters). */
@Injectable()
export class PassThroughInterceptor implements NestInterceptor {
  intercept(_ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

@Injectable()
export class OrdersService {
  @Span()
  async load(id: string): Promise<{ id: string }> {
    await new Promise((r) => setTimeout(r, 1));
    if (id === 'missing') throw new NotFoundException(`order ${id} not found`);
    return { id };
  }

  @Span('orders.price')
  price(quantity: number): number {
    if (quantity < 0) throw new RangeError('negative quantity');
    return quantity * 3;
  }

  @Span()
  stream(fail: boolean): Observable<number> {
    return fail ? throwError(() => new Error('stream failed')) : of(1, 2, 3).pipe(rxDelay(1));
  }
}

@Controller({ path: 'orders', version: '1' })
export class OrdersController {
  constructor(
    @Inject(OrdersService) private readonly orders: OrdersService,
    @Inject(TraceService) private readonly traces: TraceService,
  ) {}

  @Get(':id')
  async get(@Param('id') id: string): Promise<{ id: string; traceId: string | undefined }> {
    const order = await this.orders.load(id);
    return { ...order, traceId: this.traces.getTraceId() };
  }

  @Post()
  create(@Body(new ValidationPipe()) dto: CreateOrderDto): { total: number } {
    return { total: this.orders.price(dto.quantity) };
  }

  @Get(':id/stream')
  stream(@Param('id') id: string): Observable<number> {
    return this.orders.stream(id === 'fail');
  }
}

@Controller('admin')
@UseGuards(RolesGuard)
export class AdminController {
  // @Span above and below other decorators: route, roles and HttpCode metadata must survive.
  @Span()
  @Roles('admin')
  @Get('report')
  report(): { ok: true } {
    return { ok: true };
  }

  @Post('jobs')
  @HttpCode(202)
  @Roles('admin')
  @Span('admin.jobs')
  jobs(): { accepted: true } {
    return { accepted: true };
  }
}

@Controller('errors')
@UseInterceptors(PassThroughInterceptor)
export class ErrorsController {
  @Get('plain')
  plain(): never {
    throw new Error(SECRET, { cause: new Error('inner cause text') });
  }

  @Get('number')
  number(): never {
    throw 42;
  }

  @Get('undefined')
  undef(): never {
    throw undefined;
  }

  @Get('http-500')
  http500(): never {
    throw new InternalServerErrorException(SECRET);
  }

  @Get('teapot')
  teapot(): never {
    throw new HttpException('short and stout', 418);
  }

  @Get('throwing-response')
  throwingResponse(): never {
    const ex = new HttpException('x', 409);
    Object.defineProperty(ex, 'getResponse', {
      value: () => {
        throw new Error('getResponse exploded');
      },
    });
    throw ex;
  }

  @Get('throwing-status')
  throwingStatus(): never {
    const ex = new HttpException('x', 409);
    Object.defineProperty(ex, 'getStatus', {
      value: () => {
        throw new Error('getStatus exploded');
      },
    });
    throw ex;
  }

  @Get('circular')
  circular(): never {
    const response: Record<string, unknown> = { message: 'loop' };
    response.self = response;
    throw new HttpException(response, 400);
  }

  @Get('unprocessable')
  @UseFilters(UnprocessableFilter)
  unprocessable(): never {
    throw new UnprocessableError('custom');
  }

  @Get('after-headers')
  async afterHeaders(
    @Res() reply: { raw?: ServerResponse; hijack?: () => void } & ServerResponse,
  ): Promise<void> {
    // The Node response: an Express response is one, a Fastify reply has it as `raw` (and is taken
    // over first, Fastify's idiom for writing to it).
    reply.hijack?.();
    const res = reply.raw ?? reply;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('partial');
    await new Promise((r) => setTimeout(r, 5));
    throw new Error('failed after the headers');
  }
}

@Module({
  controllers: [OrdersController, AdminController, ErrorsController],
  providers: [OrdersService, RolesGuard],
})
export class FeatureModule {}

export interface StartedApp {
  app: INestApplication;
  url: string;
  close(): Promise<void>;
}

/** The HTTP platforms every suite runs on. */
export type Platform = 'express' | 'fastify';
export const PLATFORMS: readonly Platform[] = ['express', 'fastify'];

/** Creates a Nest HTTP application on the platform (the Nest copy the importer resolves). */
export function createApp(module: unknown, platform: Platform): Promise<INestApplication> {
  const root = module as Parameters<typeof NestFactory.create>[0];
  if (platform === 'fastify') {
    return NestFactory.create(root, new FastifyAdapter() as never, { logger: false });
  }
  return NestFactory.create(root, { logger: false });
}

/** Listens on a free port of 127.0.0.1 and returns the base URL. */
export async function listen(app: INestApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  return `http://127.0.0.1:${port}`;
}

export interface AppOptions {
  platform?: Platform;
  otel?: OtelModuleOptions;
  /** Mount `otelExpress()` (or another middleware) on the Express app before Nest's. */
  before?: (app: INestApplication) => void;
  prefix?: string;
  versioning?: boolean;
}

export async function startApp(options: AppOptions): Promise<StartedApp> {
  @Module({ imports: [OtelModule.forRoot(options.otel), FeatureModule] })
  class AppModule {}
  const app = await createApp(AppModule, options.platform ?? 'express');
  options.before?.(app);
  if (options.prefix !== undefined) app.setGlobalPrefix(options.prefix);
  if (options.versioning !== false) app.enableVersioning({ type: VersioningType.URI });
  const url = await listen(app);
  return { app, url, close: () => app.close() };
}

export type { MeterProvider, TracerProvider };
