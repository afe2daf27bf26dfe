import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SpanStatusCode } from '@opentelemetry/api';
import { createTelemetry, rawRequest } from '@tracewire/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { OtelExceptionFilter, OtelModule, TraceService } from '../src/index.js';
import { CreateOrderDto, OrdersController, OrdersService } from './app.js';

const telemetry = createTelemetry();

@Injectable()
class ConfigService {
  readonly health = '/health';
}

@Module({ providers: [ConfigService], exports: [ConfigService] })
class ConfigModule {}

@Controller()
class PlainController {
  @Get('health')
  health(): string {
    return 'ok';
  }

  @Get('boom')
  boom(): never {
    throw new Error('secret internals');
  }
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  telemetry.exporter.reset();
});

async function listen(app: import('@nestjs/common').INestApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  closers.push(() => app.close());
  return `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
}

describe('decorator metadata', () => {
  it('the test transformer emits design:paramtypes and design:type (Nest and ValidationPipe need them)', () => {
    expect(Reflect.getMetadata('design:paramtypes', OrdersController)).toEqual([OrdersService, TraceService]);
    expect(Reflect.getMetadata('design:type', CreateOrderDto.prototype, 'quantity')).toBe(Number);
    expect(Reflect.getMetadata('design:paramtypes', OrdersController.prototype, 'create')).toEqual([
      CreateOrderDto,
    ]);
  });

  it('library classes carry explicit @Inject tokens, not only emitted types', () => {
    // Nest stores explicit tokens under "self:paramtypes": present whatever the user's build emits.
    const tokens = Reflect.getMetadata('self:paramtypes', OtelModule) as { index: number; param: unknown }[];
    expect(tokens.map((t) => t.index).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(Reflect.getMetadata('self:paramtypes', OtelExceptionFilter)).toHaveLength(1);
    expect(Reflect.getMetadata('self:paramtypes', TraceService)).toHaveLength(1);
  });
});

describe('nest 12 (express): OtelModule.forRootAsync', () => {
  it('takes options from an injected factory (ignore list from a config service)', async () => {
    @Module({
      imports: [
        OtelModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: async (config: ConfigService) => ({
            tracerProvider: telemetry.tracerProvider,
            meterProvider: telemetry.meterProvider,
            ignore: [config.health],
          }),
          problemDetails: true,
        }),
      ],
      controllers: [PlainController],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false });
    const url = await listen(app);
    expect((await rawRequest(`${url}/health`)).status).toBe(200);
    const boom = await rawRequest(`${url}/boom`);
    expect(boom.status).toBe(500);
    expect(boom.headers['content-type']).toBe('application/problem+json');
    const spans = await telemetry.waitForSpans(1);
    expect(spans.map((s) => s.name)).toEqual(['GET /boom']);
  });

  it('rejects a factory result with a wrong option type at bootstrap', async () => {
    @Module({
      imports: [OtelModule.forRootAsync({ useFactory: () => ({ problemDetails: 'yes' }) as never })],
    })
    class AppModule {}
    await expect(NestFactory.create(AppModule, { logger: false, abortOnError: false })).rejects.toThrow(
      /problemDetails must be a boolean/,
    );
  });
});

describe('nest 12 (express): options', () => {
  it('forRoot validates options with a TypeError', () => {
    expect(() => OtelModule.forRoot({ problemDetails: 1 as never })).toThrow(TypeError);
    expect(() => OtelModule.forRoot({ tracerProvider: {} as never })).toThrow(/tracerProvider/);
    expect(() => OtelModule.forRoot({ unknown: true } as never)).toThrow(/unknown option "unknown"/);
  });

  it.each([
    ['by default', {}],
    ['with problemDetails: false', { problemDetails: false }],
  ])('%s, errors are left to Nest and the wire status is still recorded', async (_name, extra) => {
    @Module({
      imports: [
        OtelModule.forRoot({
          tracerProvider: telemetry.tracerProvider,
          meterProvider: telemetry.meterProvider,
          ...extra,
        }),
      ],
      controllers: [PlainController],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false });
    const url = await listen(app);
    const res = await rawRequest(`${url}/boom`);
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(res.body)).toEqual({ statusCode: 500, message: 'Internal server error' });
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.attributes['http.response.status_code']).toBe(500);
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('a throwing requestHook, responseHook and spanNameFormatter do not affect the request', async () => {
    @Module({
      imports: [
        OtelModule.forRoot({
          tracerProvider: telemetry.tracerProvider,
          meterProvider: telemetry.meterProvider,
          requestHook: () => {
            throw new Error('request hook');
          },
          responseHook: () => {
            throw new Error('response hook');
          },
          spanNameFormatter: () => {
            throw new Error('formatter');
          },
        }),
      ],
      controllers: [PlainController],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false });
    const url = await listen(app);
    const res = await rawRequest(`${url}/health`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok');
    const [span] = await telemetry.waitForSpans(1);
    expect(span?.name).toBe('GET /health');
  });
});
