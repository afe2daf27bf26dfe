import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logs, type Span } from '@opentelemetry/api';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type LogRecordProcessor,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { GrpcCode, TracedError } from '@tracewire/errors';
import { createTelemetry } from '@tracewire/testing';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger, hasGlobalLogsApi, type Logger } from '../src/index.js';
import { memoryDestination } from './helpers.js';

const telemetry = createTelemetry();
const tracer = telemetry.tracerProvider.getTracer('otel-logs-test');

afterAll(async () => {
  await telemetry.shutdown();
});

function sdkLogs(extra: LogRecordProcessor[] = []) {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter }), ...extra] });
  return { exporter, provider, records: (): ReadableLogRecord[] => exporter.getFinishedLogRecords() };
}

function inSpan<T>(fn: (span: Span) => T): T {
  return tracer.startActiveSpan('work', (span) => {
    try {
      return fn(span);
    } finally {
      span.end();
    }
  });
}

function epochMs(record: ReadableLogRecord): number {
  return record.hrTime[0] * 1000 + Math.round(record.hrTime[1] / 1e6);
}

describe('Logs bridge with a LoggerProvider passed in options', () => {
  it('emits each record with severity, body, attributes and the span context of the call', () => {
    const { provider, records } = sdkLogs();
    const destination = memoryDestination();
    const log = createLogger({ name: 'orders', destination, otelLogs: { loggerProvider: provider } });
    const span = inSpan((s) => {
      log.child({ component: 'db' }).warn({ orderId: '42', nested: { a: [1, 2] } }, 'slow query');
      return s;
    });
    const [line] = destination.records();
    const [record] = records();
    expect(records()).toHaveLength(1);
    expect(record?.spanContext?.traceId).toBe(span.spanContext().traceId);
    expect(record?.spanContext?.spanId).toBe(span.spanContext().spanId);
    expect(record?.spanContext?.traceFlags).toBe(1);
    expect(record?.severityNumber).toBe(13);
    expect(record?.severityText).toBe('warn');
    expect(record?.body).toBe('slow query');
    expect(record?.attributes).toEqual({
      name: 'orders',
      component: 'db',
      orderId: '42',
      nested: { a: [1, 2] },
    });
    expect(record?.instrumentationScope.name).toBe('@tracewire/logger');
    expect(epochMs(record as ReadableLogRecord)).toBe(line?.time);
  });

  it('emits what was written: serializers and redaction applied, errors as exception.* attributes', () => {
    const { provider, records } = sdkLogs();
    const log = createLogger({ destination: memoryDestination(), otelLogs: { loggerProvider: provider } });
    const error = inSpan(() => new TracedError('payment declined', { code: GrpcCode.FAILED_PRECONDITION }));
    log.error({ err: error, password: 'hunter2', user: { authorization: 'Bearer x' } }, 'charge failed');
    const [record] = records();
    expect(JSON.stringify(record?.attributes)).not.toContain('hunter2');
    expect(JSON.stringify(record?.attributes)).not.toContain('Bearer x');
    expect(record?.severityNumber).toBe(17);
    expect(record?.attributes).toMatchObject({
      'exception.type': 'TracedError',
      'exception.message': 'payment declined',
      password: '[Redacted]',
      err: { code: GrpcCode.FAILED_PRECONDITION, codeName: 'FAILED_PRECONDITION', traceId: error.traceId },
    });
    expect(String(record?.attributes['exception.stacktrace'])).toContain('payment declined');
    // Logged outside any span: no span context on the record (the error keeps its own traceId).
    expect(record?.spanContext).toBeUndefined();
  });

  it('maps every pino level to the OpenTelemetry severity number, and skips disabled levels', () => {
    const { provider, records } = sdkLogs();
    const log = createLogger({
      level: 'debug',
      destination: memoryDestination(),
      otelLogs: { loggerProvider: provider },
    });
    log.trace('not enabled');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    log.fatal('f');
    expect(records().map((r) => [r.severityText, r.severityNumber])).toEqual([
      ['debug', 5],
      ['info', 9],
      ['warn', 13],
      ['error', 17],
      ['fatal', 21],
    ]);
  });

  it('reads an ISO timestamp back into the record time', () => {
    const { provider, records } = sdkLogs();
    const destination = memoryDestination();
    const log = createLogger({ destination, timestamp: 'iso', otelLogs: { loggerProvider: provider } });
    log.info('iso');
    expect(epochMs(records()[0] as ReadableLogRecord)).toBe(Date.parse(destination.records()[0]?.time));
  });

  it('does not loop when the export path logs through the same logger', () => {
    const destination = memoryDestination();
    let log: Logger | undefined;
    const chatty: LogRecordProcessor = {
      onEmit() {
        log?.warn('exporter says hello');
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const { provider, records } = sdkLogs([chatty]);
    log = createLogger({ destination, otelLogs: { loggerProvider: provider } });
    log.info('one record');
    expect(destination.records().map((l) => l.msg)).toEqual(['one record', 'exporter says hello']);
    expect(records().map((r) => r.body)).toEqual(['one record']);
  });

  it('never throws into the app when the provider does', () => {
    const destination = memoryDestination();
    const throwingEmit = createLogger({
      destination,
      otelLogs: {
        loggerProvider: {
          getLogger: () => ({
            emit() {
              throw new Error('emit exploded');
            },
          }),
        },
      },
    });
    const throwingGet = createLogger({
      destination,
      otelLogs: {
        loggerProvider: {
          getLogger() {
            throw new Error('getLogger exploded');
          },
        },
      },
    });
    expect(() => throwingEmit.info('a')).not.toThrow();
    expect(() => throwingGet.info('b')).not.toThrow();
    expect(destination.records().map((l) => l.msg)).toEqual(['a', 'b']);
  });
});

describe('Logs bridge with the global LoggerProvider', () => {
  afterEach(() => {
    logs.disable();
  });

  it('detects the Logs API of @opentelemetry/api 1.10 and follows the global provider', () => {
    expect(hasGlobalLogsApi()).toBe(true);
    const log = createLogger({ destination: memoryDestination(), otelLogs: true });
    log.info('before any provider: dropped by the no-op provider');

    const first = sdkLogs();
    logs.setGlobalLoggerProvider(first.provider);
    const span = inSpan((s) => {
      log.info('to the first provider');
      return s;
    });
    logs.disable();
    const second = sdkLogs();
    logs.setGlobalLoggerProvider(second.provider);
    log.info('to the second provider');

    expect(first.records().map((r) => r.body)).toEqual(['to the first provider']);
    expect(first.records()[0]?.spanContext?.traceId).toBe(span.spanContext().traceId);
    expect(second.records().map((r) => r.body)).toEqual(['to the second provider']);
  });
});

describe('with a pino transport in a worker thread', () => {
  it('writes the trace fields and bridges the span context (both computed on the calling thread)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tracewire-logger-'));
    try {
      const file = join(dir, 'out.log');
      const transport = pino.transport({ target: 'pino/file', options: { destination: file } });
      const { provider, records } = sdkLogs();
      const log = createLogger({ destination: transport, otelLogs: { loggerProvider: provider } });
      const span = inSpan((s) => {
        log.info({ orderId: 7 }, 'through the worker');
        return s;
      });
      log.info('outside');
      transport.end();
      await once(transport, 'close');
      const lines = (await readFile(file, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatchObject({
        orderId: 7,
        trace_id: span.spanContext().traceId,
        span_id: span.spanContext().spanId,
        trace_flags: '01',
      });
      expect(lines[1]).not.toHaveProperty('trace_id');
      expect(records().map((r) => r.spanContext?.spanId)).toEqual([span.spanContext().spanId, undefined]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
