import 'reflect-metadata';
import type net from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { Controller, Get, Inject, Logger, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SpanKind } from '@opentelemetry/api';
import { createLogger } from '@tracewire/logger';
import { createTelemetry, rawRequest } from '@tracewire/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OtelModule, TraceService, TracewireNestLogger } from '../src/index.js';

const telemetry = createTelemetry();
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

type Line = Record<string, any>;

/** A `createLogger()` from @tracewire/logger writing JSON lines the test reads back. */
function capture(): { lines: Line[]; logger: ReturnType<typeof createLogger> } {
  const lines: Line[] = [];
  const destination = {
    write(chunk: string): void {
      for (const line of chunk.split('\n')) if (line !== '') lines.push(JSON.parse(line) as Line);
    },
  };
  return { lines, logger: createLogger({ level: 'trace', destination, base: null, timestamp: false }) };
}

describe('nest 12 (express): TracewireNestLogger in a Nest application (app.useLogger)', () => {
  const { lines, logger } = capture();
  let app: INestApplication;
  let url: string;

  @Controller('orders')
  class OrdersController {
    readonly #log = new Logger('Orders');
    constructor(@Inject(TraceService) private readonly traces: TraceService) {}

    @Get(':id')
    get(@Param('id') id: string): { id: string; traceId: string | undefined } {
      this.#log.log(`loading order ${id}`);
      if (id === 'failing') this.#log.error('could not load', new Error('db down').stack);
      return { id, traceId: this.traces.getTraceId() };
    }
  }

  beforeAll(async () => {
    @Module({
      imports: [
        OtelModule.forRoot({
          tracerProvider: telemetry.tracerProvider,
          meterProvider: telemetry.meterProvider,
        }),
      ],
      controllers: [OrdersController],
    })
    class AppModule {}
    app = await NestFactory.create(AppModule, { bufferLogs: true });
    app.useLogger(new TracewireNestLogger(logger));
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as net.AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
    Logger.overrideLogger(false);
  });

  it("Nest's own startup lines go through it, with their context", () => {
    const contexts = new Set(lines.map((l) => l.context));
    for (const context of [
      'NestFactory',
      'InstanceLoader',
      'RoutesResolver',
      'RouterExplorer',
      'NestApplication',
    ]) {
      expect(contexts).toContain(context);
    }
    expect(lines.find((l) => l.context === 'NestApplication')?.msg).toMatch(/successfully started/);
    expect(lines.some((l) => l.context === 'RouterExplorer' && /\/orders\/:id/.test(l.msg))).toBe(true);
    // Logged outside any request: no trace fields.
    const startup = lines.find((l) => l.context === 'NestFactory')!;
    expect(startup.level).toBe(30);
    expect(startup.trace_id).toBeUndefined();
  });

  it("a Logger('Orders') line inside a request carries the request's trace_id and span_id", async () => {
    telemetry.exporter.reset();
    const res = await rawRequest(`${url}/orders/42`, {
      headers: [['traceparent', `00-${TRACE_ID}-00f067aa0ba902b7-01`]],
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).traceId).toBe(TRACE_ID);
    const [span] = (await telemetry.waitForSpans(1)).filter((s) => s.kind === SpanKind.SERVER);
    const line = lines.find((l) => l.msg === 'loading order 42');
    expect(line).toMatchObject({ level: 30, context: 'Orders', trace_id: TRACE_ID });
    expect(line?.span_id).toBe(span!.spanContext().spanId);
  });

  it('error(message, stack) from a Logger writes the stack and the context', async () => {
    const res = await rawRequest(`${url}/orders/failing`);
    expect(res.status).toBe(200);
    const line = lines.find((l) => l.msg === 'could not load');
    expect(line).toMatchObject({ level: 50, context: 'Orders' });
    expect(line?.stack).toMatch(/^Error: db down\n\s+at /);
    expect(line?.trace_id).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('TracewireNestLogger mapping', () => {
  let lines: Line[];
  let nest: TracewireNestLogger;
  beforeEach(() => {
    const captured = capture();
    lines = captured.lines;
    nest = new TracewireNestLogger(captured.logger, { context: 'Default' });
  });

  it('maps every Nest level to a pino level', () => {
    nest.log('l');
    nest.warn('w');
    nest.error('e');
    nest.debug('d');
    nest.verbose('v');
    nest.fatal('f');
    expect(lines.map((l) => [l.msg, l.level])).toEqual([
      ['l', 30],
      ['w', 40],
      ['e', 50],
      ['d', 20],
      ['v', 10],
      ['f', 60],
    ]);
    expect(lines.every((l) => l.context === 'Default')).toBe(true);
  });

  it('reads the context, the stack and the other parameters as Nest does', () => {
    const stack = new Error('x').stack!;
    nest.log('with context', 'Ctx');
    nest.log('with params', { a: 1 }, 42, 'Ctx');
    nest.error('stack only', stack);
    nest.error('not a stack', 'Ctx');
    nest.error('stack and context', stack, 'Ctx');
    nest.error('no stack', undefined, 'Ctx');
    expect(lines[0]).toMatchObject({ msg: 'with context', context: 'Ctx' });
    expect(lines[1]).toMatchObject({ msg: 'with params', context: 'Ctx', params: [{ a: 1 }, 42] });
    expect(lines[2]).toMatchObject({ msg: 'stack only', context: 'Default', stack });
    expect(lines[3]).toMatchObject({ msg: 'not a stack', context: 'Ctx' });
    expect(lines[3]!.stack).toBeUndefined();
    expect(lines[4]).toMatchObject({ msg: 'stack and context', context: 'Ctx', stack });
    expect(lines[5]).toMatchObject({ msg: 'no stack', context: 'Ctx' });
    expect(lines[5]!.stack).toBeUndefined();
    expect(lines[5]!.params).toBeUndefined();
  });

  it('writes Errors to err, plain objects as fields, other values as the message', () => {
    nest.error(new Error('boom'), undefined, 'ExceptionsHandler');
    nest.log({ orderId: 7 }, 'Ctx');
    nest.log(42);
    nest.log([1, 2]);
    expect(lines[0]).toMatchObject({ level: 50, msg: 'boom', context: 'ExceptionsHandler' });
    expect(lines[0]!.err).toMatchObject({ type: 'Error', message: 'boom' });
    expect(lines[1]).toMatchObject({ orderId: 7, context: 'Ctx' });
    expect(lines[2]).toMatchObject({ msg: '42' });
    expect(lines[3]).toMatchObject({ message: [1, 2] });
  });

  it("filters with Nest's setLogLevels semantics", () => {
    nest.setLogLevels(['log', 'warn']);
    nest.verbose('v');
    nest.debug('d');
    nest.log('l');
    nest.warn('w');
    nest.error('e');
    nest.fatal('f');
    expect(lines.map((l) => l.msg)).toEqual(['l', 'w', 'e', 'f']);
    nest.setLogLevels([]);
    nest.fatal('none');
    expect(lines).toHaveLength(4);
  });

  it('never throws into Nest: a throwing logger or message is contained', () => {
    const throwing = () => {
      throw new Error('logger broken');
    };
    const broken = new TracewireNestLogger({
      info: throwing,
      warn: throwing,
      error: throwing,
      debug: throwing,
    });
    expect(() => broken.log('x', 'Ctx')).not.toThrow();
    expect(() => broken.error('x', 'stack', 'Ctx')).not.toThrow();
    expect(() => broken.verbose('x')).not.toThrow();
    expect(() => broken.fatal('x')).not.toThrow();
    const hostile = {
      get orderId(): never {
        throw new Error('getter');
      },
    };
    expect(() => nest.log(hostile)).not.toThrow();
  });

  it('falls back to debug and error without trace and fatal, and validates its arguments', () => {
    const calls: [string, Record<string, unknown>, string | undefined][] = [];
    const rec =
      (name: string) =>
      (fields: Record<string, unknown>, msg?: string): void => {
        calls.push([name, fields, msg]);
      };
    const minimal = new TracewireNestLogger({
      info: rec('info'),
      warn: rec('warn'),
      error: rec('error'),
      debug: rec('debug'),
    });
    minimal.verbose('v', 'Ctx');
    minimal.fatal('f');
    expect(calls).toEqual([
      ['debug', { context: 'Ctx' }, 'v'],
      ['error', {}, 'f'],
    ]);
    expect(() => new TracewireNestLogger(undefined as never)).toThrow(TypeError);
    expect(() => new TracewireNestLogger({ info: rec('info') } as never)).toThrow(/warn\(\)/);
    expect(() => new TracewireNestLogger(createLogger(), { context: 1 as never })).toThrow(TypeError);
  });
});
