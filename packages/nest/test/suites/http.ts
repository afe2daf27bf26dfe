// The HTTP suite of @tracewire/nest, run for every Nest major (12 here, 10 and 11 from tests/nest10
// and tests/nest11) on both HTTP platforms. Everything Nest-related is imported through ../app.js
// and ../../src, so the Nest copy is the one of the workspace that runs the suite.
import 'reflect-metadata';
import { Controller, Get, Module, Param, VersioningType } from '@nestjs/common';
import { RouterModule } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { otelExpress } from '@tracewire/express';
import { instrumentFastify } from '@tracewire/fastify';
import { createTelemetry, rawRequest } from '@tracewire/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OtelModule } from '../../src/index.js';
import {
  createApp,
  FeatureModule,
  listen,
  type Platform,
  SECRET,
  type StartedApp,
  startApp,
} from '../app.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const LEAKS = ['hunter2', '10.1.2.3', 'inner cause', 'stack', 'at ', 'ECONNREFUSED'];

/**
 * Registers the HTTP tests for one cell of the matrix. `label` is the cell, e.g. `nest 11 (fastify)`:
 * every top-level describe starts with it.
 */
export function describeHttpSuite(label: string, platform: Platform): void {
  const telemetry = createTelemetry();

  function serverSpans(): ReadableSpan[] {
    return telemetry.spans().filter((s) => s.kind === SpanKind.SERVER);
  }

  /** Sends one request and waits for its server span (the span ends on the response's close). */
  async function call(
    url: string,
    options: { method?: string; body?: unknown; headers?: [string, string][] } = {},
  ): Promise<{
    status: number;
    body: string;
    json: any;
    contentType: string | undefined;
    span: ReadableSpan;
  }> {
    const before = serverSpans().length;
    const headers: [string, string][] = [...(options.headers ?? [])];
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers.push(['content-type', 'application/json'], ['content-length', String(Buffer.byteLength(body))]);
    }
    const res = await rawRequest(url, { method: options.method ?? 'GET', headers, body });
    const deadline = Date.now() + 5000;
    while (serverSpans().length <= before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    const spans = serverSpans();
    expect(spans.length).toBe(before + 1);
    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch {
      json = undefined;
    }
    return {
      status: res.status,
      body: res.body,
      json,
      contentType: res.headers['content-type'],
      span: spans[spans.length - 1]!,
    };
  }

  async function durationPoint(route: string | undefined, status: number) {
    const points = await telemetry.points('http.server.request.duration');
    return points.filter(
      (p) => p.attributes['http.route'] === route && p.attributes['http.response.status_code'] === status,
    );
  }

  describe(`${label}: HTTP by default (Nest's own error responses, left as they are)`, () => {
    let started: StartedApp;
    beforeAll(async () => {
      started = await startApp({
        platform,
        otel: { tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider },
        prefix: 'api',
      });
    });
    afterAll(async () => {
      await started.close();
    });
    afterEach(() => {
      telemetry.exporter.reset();
    });

    it('route template (global prefix, URI version), url.path and the handler names', async () => {
      const r = await call(`${started.url}/api/v1/orders/42?x=1`, {
        headers: [['traceparent', TRACEPARENT]],
      });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ id: '42', traceId: TRACE_ID });
      expect(r.span.name).toBe('GET /api/v1/orders/:id');
      expect(r.span.attributes['http.route']).toBe('/api/v1/orders/:id');
      expect(r.span.attributes['url.path']).toBe('/api/v1/orders/42');
      expect(r.span.attributes['url.query']).toBe('x=1');
      expect(r.span.attributes['code.function.name']).toBe('OrdersController.get');
      expect(r.span.attributes['nest.controller']).toBe('OrdersController');
      expect(r.span.attributes['nest.handler']).toBe('get');
      expect(r.span.spanContext().traceId).toBe(TRACE_ID);
      expect(await durationPoint('/api/v1/orders/:id', 200)).toHaveLength(1);
    });

    it("a guard's 403 is Nest's own body; the span has the route, the handler and the wire status", async () => {
      const r = await call(`${started.url}/api/admin/report`);
      expect(r.status).toBe(403);
      expect(r.contentType).toMatch(/^application\/json/);
      expect(r.json).toEqual({ statusCode: 403, message: 'Forbidden resource', error: 'Forbidden' });
      expect(r.span.name).toBe('GET /api/admin/report');
      expect(r.span.attributes['http.response.status_code']).toBe(403);
      expect(r.span.attributes['code.function.name']).toBe('AdminController.report');
      expect(r.span.status.code).toBe(SpanStatusCode.UNSET);
      expect(await durationPoint('/api/admin/report', 403)).toHaveLength(1);
    });

    it("a ValidationPipe rejection is Nest's own 400 with the messages", async () => {
      const r = await call(`${started.url}/api/v1/orders`, {
        method: 'POST',
        body: { item: 7, quantity: 0 },
      });
      expect(r.status).toBe(400);
      expect(r.json.statusCode).toBe(400);
      expect(r.json.error).toBe('Bad Request');
      expect(r.json.message).toEqual(
        expect.arrayContaining(['item must be a string', 'quantity must not be less than 1']),
      );
      expect(r.span.name).toBe('POST /api/v1/orders');
      expect(r.span.attributes['code.function.name']).toBe('OrdersController.create');
      expect(r.span.attributes['http.response.status_code']).toBe(400);
    });

    it('an HttpException(418) keeps its status and body', async () => {
      const r = await call(`${started.url}/api/errors/teapot`);
      expect(r.status).toBe(418);
      expect(r.json).toEqual({ statusCode: 418, message: 'short and stout' });
      expect(r.span.attributes['http.response.status_code']).toBe(418);
      expect(r.span.attributes['code.function.name']).toBe('ErrorsController.teapot');
      expect(r.span.status.code).toBe(SpanStatusCode.UNSET);
    });

    it("a thrown Error is Nest's 500; the span is an error", async () => {
      const r = await call(`${started.url}/api/errors/plain`);
      expect(r.status).toBe(500);
      expect(r.json).toEqual({ statusCode: 500, message: 'Internal server error' });
      for (const leak of LEAKS) expect(r.body).not.toContain(leak);
      expect(r.span.name).toBe('GET /api/errors/plain');
      expect(r.span.status.code).toBe(SpanStatusCode.ERROR);
      expect(r.span.attributes['error.type']).toBe('500');
    });

    it("an unmatched route is Nest's 404, without http.route or handler names", async () => {
      const r = await call(`${started.url}/api/nothing/here`);
      expect(r.status).toBe(404);
      expect(r.json).toMatchObject({ statusCode: 404, error: 'Not Found' });
      expect(r.span.name).toBe('GET');
      expect(r.span.attributes['url.path']).toBe('/api/nothing/here');
      expect(r.span.attributes['http.route']).toBeUndefined();
      expect(r.span.attributes['code.function.name']).toBeUndefined();
    });

    it("the application's own filter answers (422), recorded as sent", async () => {
      const r = await call(`${started.url}/api/errors/unprocessable`);
      expect(r.status).toBe(422);
      expect(r.json).toEqual({ custom: true });
      expect(r.span.attributes['http.response.status_code']).toBe(422);
      expect(r.span.attributes['code.function.name']).toBe('ErrorsController.unprocessable');
    });
  });

  describe(`${label}: HTTP with problemDetails: true (problem+json)`, () => {
    let started: StartedApp;
    beforeAll(async () => {
      started = await startApp({
        platform,
        otel: {
          tracerProvider: telemetry.tracerProvider,
          meterProvider: telemetry.meterProvider,
          problemDetails: true,
        },
        prefix: 'api',
      });
    });
    afterAll(async () => {
      await started.close();
    });
    afterEach(() => {
      telemetry.exporter.reset();
    });

    it('names the span from the route template: global prefix, URI version, controller and method paths', async () => {
      const r = await call(`${started.url}/api/v1/orders/42`, { headers: [['traceparent', TRACEPARENT]] });
      expect(r.status).toBe(200);
      expect(r.json.id).toBe('42');
      const span = r.span;
      expect(span.name).toBe('GET /api/v1/orders/:id');
      expect(span.attributes['http.route']).toBe('/api/v1/orders/:id');
      expect(span.attributes['http.response.status_code']).toBe(200);
      expect(span.attributes['url.path']).toBe('/api/v1/orders/42');
      expect(span.attributes['code.function.name']).toBe('OrdersController.get');
      expect(span.attributes['nest.controller']).toBe('OrdersController');
      expect(span.attributes['nest.handler']).toBe('get');
      expect(span.instrumentationScope.name).toBe(
        platform === 'express' ? '@tracewire/nest' : '@tracewire/fastify',
      );
      // continued from the caller, and visible to TraceService inside the handler
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(span.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
      expect(r.json.traceId).toBe(TRACE_ID);
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
      expect(await durationPoint('/api/v1/orders/:id', 200)).toHaveLength(1);
    });

    it('starts the span before guards: a guard rejection (403) is traced with its route', async () => {
      const r = await call(`${started.url}/api/admin/report`);
      expect(r.status).toBe(403);
      expect(r.contentType).toBe('application/problem+json');
      expect(r.json).toMatchObject({
        type: 'about:blank',
        title: 'Forbidden',
        status: 403,
        instance: '/api/admin/report',
      });
      expect(r.json.traceId).toBe(r.span.spanContext().traceId);
      expect(r.span.name).toBe('GET /api/admin/report');
      expect(r.span.attributes['http.response.status_code']).toBe(403);
      expect(r.span.attributes['nest.controller']).toBe('AdminController');
      expect(r.span.status.code).toBe(SpanStatusCode.UNSET);
      expect(r.span.events).toHaveLength(0);
      expect(r.span.attributes['error.type']).toBeUndefined();
      expect(await durationPoint('/api/admin/report', 403)).toHaveLength(1);
    });

    it('records a ValidationPipe rejection as 400 with the validation messages', async () => {
      const r = await call(`${started.url}/api/v1/orders`, {
        method: 'POST',
        body: { item: 7, quantity: 0 },
      });
      expect(r.status).toBe(400);
      expect(r.contentType).toBe('application/problem+json');
      expect(r.json.status).toBe(400);
      expect(r.json.code).toBe('INVALID_ARGUMENT');
      expect(r.json.details.errors).toEqual(
        expect.arrayContaining(['item must be a string', 'quantity must not be less than 1']),
      );
      expect(r.span.name).toBe('POST /api/v1/orders');
      expect(r.span.attributes['http.response.status_code']).toBe(400);
      expect(r.span.status.code).toBe(SpanStatusCode.UNSET);
      expect(await durationPoint('/api/v1/orders', 400)).toHaveLength(1);
    });

    it('a valid body passes the ValidationPipe (design:paramtypes reached Nest)', async () => {
      const r = await call(`${started.url}/api/v1/orders`, {
        method: 'POST',
        body: { item: 'tea', quantity: 2 },
      });
      expect(r.status).toBe(201);
      expect(r.json).toEqual({ total: 6 });
    });

    it('a NotFoundException thrown in a @Span service method: 404, message exposed, child span error', async () => {
      const r = await call(`${started.url}/api/v1/orders/missing`);
      expect(r.status).toBe(404);
      expect(r.json).toMatchObject({ status: 404, title: 'Not Found', detail: 'order missing not found' });
      expect(r.span.attributes['http.response.status_code']).toBe(404);
      expect(r.span.status.code).toBe(SpanStatusCode.UNSET);
      const child = telemetry.spans().find((s) => s.name === 'OrdersService.load');
      expect(child?.kind).toBe(SpanKind.INTERNAL);
      expect(child?.parentSpanContext?.spanId).toBe(r.span.spanContext().spanId);
      expect(child?.status.code).toBe(SpanStatusCode.ERROR);
      expect(child?.attributes['error.type']).toBe('NotFoundException');
      expect(await durationPoint('/api/v1/orders/:id', 404)).toHaveLength(1);
    });

    it('an unknown route is a 404 without http.route', async () => {
      const r = await call(`${started.url}/api/nothing/here?token=abc`);
      expect(r.status).toBe(404);
      expect(r.contentType).toBe('application/problem+json');
      expect(r.json.instance).toBe('/api/nothing/here');
      expect(r.span.name).toBe('GET');
      expect(r.span.attributes['http.route']).toBeUndefined();
      expect(r.span.status.code).toBe(SpanStatusCode.UNSET);
    });

    it('a plain Error is a 500 whose body leaks nothing, and a span error with the exception', async () => {
      const r = await call(`${started.url}/api/errors/plain?password=hunter2`);
      expect(r.status).toBe(500);
      expect(r.contentType).toBe('application/problem+json');
      expect(Object.keys(r.json).sort()).toEqual(['instance', 'status', 'title', 'traceId', 'type']);
      expect(r.json).toMatchObject({ type: 'about:blank', title: 'Internal Server Error', status: 500 });
      expect(r.json.instance).toBe('/api/errors/plain');
      expect(r.json.traceId).toBe(r.span.spanContext().traceId);
      for (const leak of LEAKS) expect(r.body).not.toContain(leak);
      expect(r.span.name).toBe('GET /api/errors/plain');
      expect(r.span.status.code).toBe(SpanStatusCode.ERROR);
      expect(r.span.attributes['error.type']).toBe('500');
      expect(r.span.events.filter((e) => e.name === 'exception')).toHaveLength(1);
      expect(r.span.events[0]?.attributes?.['exception.message']).toBe(SECRET);
      const points = await durationPoint('/api/errors/plain', 500);
      expect(points).toHaveLength(1);
      expect(points[0]?.attributes['error.type']).toBe('500');
    });

    it('a 5xx HttpException does not expose its message', async () => {
      const r = await call(`${started.url}/api/errors/http-500`);
      expect(r.status).toBe(500);
      expect(r.json.detail).toBeUndefined();
      for (const leak of LEAKS) expect(r.body).not.toContain(leak);
      expect(r.span.status.code).toBe(SpanStatusCode.ERROR);
    });

    it.each([
      ['number', 'throw 42'],
      ['undefined', 'throw undefined'],
      ['throwing-status', 'getStatus() throws'],
    ])('%s (%s) gives a minimal 500 with traceId', async (path) => {
      const r = await call(`${started.url}/api/errors/${path}`);
      expect(r.status).toBe(500);
      expect(r.json).toMatchObject({ type: 'about:blank', title: 'Internal Server Error', status: 500 });
      expect(r.json.traceId).toBe(r.span.spanContext().traceId);
      expect(r.span.attributes['http.response.status_code']).toBe(500);
      expect(r.span.status.code).toBe(SpanStatusCode.ERROR);
    });

    it('an HttpException whose getResponse() throws keeps its status (409)', async () => {
      const r = await call(`${started.url}/api/errors/throwing-response`);
      expect(r.status).toBe(409);
      expect(r.json).toMatchObject({ status: 409, title: 'Conflict', detail: 'x' });
    });

    it('an HttpException with a circular response is answered (400)', async () => {
      const r = await call(`${started.url}/api/errors/circular`);
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ status: 400, detail: 'loop' });
    });

    it('a non-standard 4xx HttpException keeps its status (418)', async () => {
      const r = await call(`${started.url}/api/errors/teapot`);
      expect(r.status).toBe(418);
      expect(r.json).toMatchObject({ status: 418, detail: 'short and stout' });
      expect(r.span.attributes['http.response.status_code']).toBe(418);
      expect(r.span.status.code).toBe(SpanStatusCode.UNSET);
    });

    it('a custom exception filter answering 422: span and metric record the wire status', async () => {
      const r = await call(`${started.url}/api/errors/unprocessable`);
      expect(r.status).toBe(422);
      expect(r.json).toEqual({ custom: true });
      expect(r.span.attributes['http.response.status_code']).toBe(422);
      expect(r.span.status.code).toBe(SpanStatusCode.UNSET);
      expect(await durationPoint('/api/errors/unprocessable', 422)).toHaveLength(1);
    });

    it('an error after the headers were sent closes the connection and marks the span as an error', async () => {
      const before = serverSpans().length;
      await rawRequest(`${started.url}/api/errors/after-headers`).catch(() => undefined);
      const spans = await telemetry.waitForSpans(before + 1);
      const span = spans.filter((s) => s.kind === SpanKind.SERVER).at(-1)!;
      expect(span.name).toBe('GET /api/errors/after-headers');
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.events.filter((e) => e.name === 'exception')).toHaveLength(1);
    });

    it('@Span keeps the metadata of decorators on either side (roles guard, route, HttpCode)', async () => {
      const ok = await call(`${started.url}/api/admin/report`, { headers: [['x-role', 'admin']] });
      expect(ok.status).toBe(200);
      expect(ok.json).toEqual({ ok: true });
      const child = telemetry.spans().find((s) => s.name === 'AdminController.report');
      expect(child?.parentSpanContext?.spanId).toBe(ok.span.spanContext().spanId);

      const jobs = await call(`${started.url}/api/admin/jobs`, {
        method: 'POST',
        body: {},
        headers: [['x-role', 'admin']],
      });
      expect(jobs.status).toBe(202);
      expect(telemetry.spans().some((s) => s.name === 'admin.jobs')).toBe(true);
      const denied = await call(`${started.url}/api/admin/jobs`, {
        method: 'POST',
        body: {},
        headers: [['x-role', 'guest']],
      });
      expect(denied.status).toBe(403);
    });

    it('@Span around an Observable ends when it completes, and records its error', async () => {
      const ok = await call(`${started.url}/api/v1/orders/1/stream`);
      expect(ok.status).toBe(200);
      const okChild = telemetry.spans().find((s) => s.name === 'OrdersService.stream');
      expect(okChild?.status.code).toBe(SpanStatusCode.UNSET);
      expect(okChild?.parentSpanContext?.spanId).toBe(ok.span.spanContext().spanId);
      telemetry.exporter.reset();

      const failed = await call(`${started.url}/api/v1/orders/fail/stream`);
      expect(failed.status).toBe(500);
      const failedChild = telemetry.spans().find((s) => s.name === 'OrdersService.stream');
      expect(failedChild?.status.code).toBe(SpanStatusCode.ERROR);
      expect(failedChild?.events[0]?.attributes?.['exception.message']).toBe('stream failed');
    });

    it('@Span around a sync method records a throw and rethrows it unchanged', async () => {
      const { OrdersService } = await import('../app.js');
      const service = started.app.get(OrdersService);
      expect(() => service.price(-1)).toThrow(RangeError);
      expect(service.price(2)).toBe(6);
      const spans = telemetry.spans().filter((s) => s.name === 'orders.price');
      expect(spans).toHaveLength(2);
      expect(spans[0]?.status.code).toBe(SpanStatusCode.ERROR);
      expect(spans[0]?.attributes['error.type']).toBe('RangeError');
      expect(spans[0]?.attributes['code.function.name']).toBe('OrdersService.price');
      expect(spans[1]?.status.code).toBe(SpanStatusCode.UNSET);
    });
  });

  describe(`${label}: RouterModule paths, global prefix exclusions, HEAD`, () => {
    let started: { url: string; close(): Promise<void> };
    beforeAll(async () => {
      @Controller('reports')
      class ReportsController {
        @Get(':id')
        get(@Param('id') id: string): { id: string } {
          return { id };
        }
      }
      @Module({ controllers: [ReportsController] })
      class ReportsModule {}
      @Controller()
      class HealthController {
        @Get('health')
        health(): string {
          return 'ok';
        }
      }
      @Module({
        imports: [
          OtelModule.forRoot({
            tracerProvider: telemetry.tracerProvider,
            meterProvider: telemetry.meterProvider,
          }),
          ReportsModule,
          RouterModule.register([{ path: 'admin-area', module: ReportsModule }]),
        ],
        controllers: [HealthController],
      })
      class RoutedModule {}
      const app = await createApp(RoutedModule, platform);
      app.setGlobalPrefix('api', { exclude: ['health'] });
      const url = await listen(app);
      started = { url, close: () => app.close() };
    });
    afterAll(async () => {
      await started.close();
    });
    afterEach(() => {
      telemetry.exporter.reset();
    });

    it('a RouterModule path is part of the route, and the handler is named', async () => {
      const r = await call(`${started.url}/api/admin-area/reports/9`);
      expect(r.status).toBe(200);
      expect(r.span.name).toBe('GET /api/admin-area/reports/:id');
      expect(r.span.attributes['code.function.name']).toBe('ReportsController.get');
    });

    it('a route excluded from the global prefix', async () => {
      const r = await call(`${started.url}/health`);
      expect(r.status).toBe(200);
      expect(r.span.name).toBe('GET /health');
      expect(r.span.attributes['code.function.name']).toBe('HealthController.health');
    });

    it('HEAD on a GET route: the same route and handler', async () => {
      const r = await call(`${started.url}/api/admin-area/reports/9`, { method: 'HEAD' });
      expect(r.status).toBe(200);
      expect(r.span.attributes['http.route']).toBe('/api/admin-area/reports/:id');
      expect(r.span.attributes['nest.handler']).toBe('get');
    });
  });

  describe(`${label}: Test.createTestingModule (the module is created before the HTTP adapter)`, () => {
    it('instruments the platform when Nest configures the module: route, url.path, handler names', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          OtelModule.forRoot({
            tracerProvider: telemetry.tracerProvider,
            meterProvider: telemetry.meterProvider,
          }),
          FeatureModule,
        ],
      }).compile();
      const app =
        platform === 'fastify'
          ? moduleRef.createNestApplication(new FastifyAdapter() as never, { logger: false })
          : moduleRef.createNestApplication({ logger: false });
      app.setGlobalPrefix('api');
      app.enableVersioning({ type: VersioningType.URI });
      try {
        const url = await listen(app);
        const r = await call(`${url}/api/v1/orders/7`);
        expect(r.status).toBe(200);
        expect(r.span.name).toBe('GET /api/v1/orders/:id');
        expect(r.span.attributes['url.path']).toBe('/api/v1/orders/7');
        expect(r.span.attributes['code.function.name']).toBe('OrdersController.get');
        const denied = await call(`${url}/api/admin/report`);
        expect(denied.status).toBe(403);
        expect(denied.span.attributes['nest.controller']).toBe('AdminController');
      } finally {
        await app.close();
        telemetry.exporter.reset();
      }
    });
  });

  describe(`${label}: OtelModule with ${platform === 'express' ? 'otelExpress()' : 'instrumentFastify()'} mounted too`, () => {
    let started: StartedApp;
    beforeAll(async () => {
      started = await startApp({
        platform,
        otel: { tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider },
        before: (app) => {
          const otel = { tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider };
          if (platform === 'express') app.use(otelExpress(otel));
          else instrumentFastify(app.getHttpAdapter().getInstance(), otel);
        },
      });
    });
    afterAll(async () => {
      await started.close();
    });

    it('gives one server span and one duration measurement per request', async () => {
      telemetry.exporter.reset();
      const r = await call(`${started.url}/v1/orders/7`);
      expect(r.status).toBe(200);
      await new Promise((res) => setTimeout(res, 20));
      expect(serverSpans()).toHaveLength(1);
      expect(r.span.name).toBe('GET /v1/orders/:id');
      const points = (await telemetry.points('http.server.request.duration')).filter(
        (p) => p.attributes['http.route'] === '/v1/orders/:id',
      );
      expect(points).toHaveLength(1);
      expect(points[0]?.value).toBe(1);
    });
  });

  if (platform !== 'express') return;

  describe(`${label}: earlyMiddleware: false (a Nest middleware bound to every route starts the span)`, () => {
    let started: StartedApp;
    beforeAll(async () => {
      started = await startApp({
        platform,
        otel: {
          tracerProvider: telemetry.tracerProvider,
          meterProvider: telemetry.meterProvider,
          earlyMiddleware: false,
        },
        prefix: 'api',
      });
    });
    afterAll(async () => {
      await started.close();
    });
    afterEach(() => {
      telemetry.exporter.reset();
    });

    it('traces matched and unmatched requests with the route and the handler names', async () => {
      const r = await call(`${started.url}/api/v1/orders/3`);
      expect(r.status).toBe(200);
      expect(r.span.name).toBe('GET /api/v1/orders/:id');
      expect(r.span.attributes['code.function.name']).toBe('OrdersController.get');
      const missing = await call(`${started.url}/api/nothing`);
      expect(missing.status).toBe(404);
      expect(missing.span.attributes['http.route']).toBeUndefined();
    });
  });
}
