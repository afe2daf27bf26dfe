// RELIABILITY T56: 1000 concurrent, interleaved requests that log across awaits, timers and
// emitter callbacks never mix their trace ids, and nothing outside a span gets trace fields.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { SpanKind } from '@opentelemetry/api';
import { otelExpress } from '@tracewire/express';
import { createTelemetry, startServer, type TestServer } from '@tracewire/testing';
import express from 'express';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger, type Logger, requestLogger } from '../src/index.js';
import { type LogLine, memoryDestination } from './helpers.js';

const telemetry = createTelemetry();
const N = 1000;

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  telemetry.reset();
});

afterAll(async () => {
  await telemetry.shutdown();
});

/** A deterministic, request-dependent delay in ms (0..4), so requests interleave. */
const delay = (i: number, step: number): number => (i * 7 + step * 3) % 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const traceIdOf = (i: number): string => `${'a'.repeat(24)}${i.toString(16).padStart(8, '0')}`;

describe('concurrent requests (T56)', () => {
  it(`never mixes trace ids across ${N} concurrent Express requests`, async () => {
    const destination = memoryDestination();
    const log = createLogger({ destination });
    const app = express();
    app.use(
      otelExpress({ tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider }),
    );
    app.use(requestLogger({ logger: log, accessLog: true }));
    app.get('/work/:i', async (req, res) => {
      const i = Number(req.params.i);
      log.info({ i, step: 'start' });
      await sleep(delay(i, 1));
      log.info({ i, step: 'after await' });
      await new Promise<void>((resolve) => {
        const emitter = new EventEmitter();
        emitter.once('ready', () => {
          log.info({ i, step: 'emitter' });
          resolve();
        });
        setTimeout(
          () => {
            log.info({ i, step: 'timer' });
            emitter.emit('ready');
          },
          delay(i, 2),
        );
      });
      (req as unknown as { log: Logger }).log.info({ i, step: 'req.log' });
      setImmediate(() => {
        log.info({ i, step: 'immediate' });
        res.json({ i });
      });
    });
    server = await startServer(app);
    const agent = new http.Agent({ keepAlive: true, maxSockets: N });

    const get = (i: number) =>
      new Promise<number>((resolve, reject) => {
        const req = http.get(
          `${server?.url}/work/${i}`,
          { agent, headers: { traceparent: `00-${traceIdOf(i)}-00f067aa0ba902b7-01` } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
      });
    // Outside any span while the requests run.
    const outside = setInterval(() => log.info({ step: 'outside' }), 1);
    const statuses = await Promise.all(Array.from({ length: N }, (_, i) => get(i + 1)));
    clearInterval(outside);
    agent.destroy();
    expect(statuses.every((s) => s === 200)).toBe(true);
    await telemetry.waitForSpans(N, 20_000);

    const spanIdOf = new Map<string, string>();
    for (const span of telemetry.spans()) {
      if (span.kind === SpanKind.SERVER) spanIdOf.set(span.spanContext().traceId, span.spanContext().spanId);
    }
    const lines = destination.records();
    const byRequest = new Map<number, LogLine[]>();
    let outsideLines = 0;
    for (const line of lines) {
      if (line.step === 'outside') {
        outsideLines++;
        expect(line).not.toHaveProperty('trace_id');
        expect(line).not.toHaveProperty('span_id');
        expect(line).not.toHaveProperty('trace_flags');
        continue;
      }
      // The access line has no `i`; its path says which request it was.
      const i = typeof line.i === 'number' ? line.i : Number(String(line.path).split('/').pop());
      const list = byRequest.get(i) ?? [];
      list.push(line);
      byRequest.set(i, list);
    }
    expect(outsideLines).toBeGreaterThan(0);
    expect(byRequest.size).toBe(N);
    for (const [i, list] of byRequest) {
      expect(list).toHaveLength(7); // start, after await, timer, emitter, req.log, immediate, access
      for (const line of list) {
        expect(line.trace_id).toBe(traceIdOf(i));
        expect(line.span_id).toBe(spanIdOf.get(traceIdOf(i)));
        expect(line.trace_flags).toBe('01');
      }
    }
  });

  it(`never mixes trace ids across ${N} concurrent spans without HTTP`, async () => {
    const destination = memoryDestination();
    const log = createLogger({ destination });
    const tracer = telemetry.tracerProvider.getTracer('concurrency');
    const bus = new EventEmitter();
    bus.setMaxListeners(0);
    const expected = new Map<number, string>();
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        tracer.startActiveSpan(`task ${i}`, async (span) => {
          expected.set(i, span.spanContext().spanId);
          log.info({ i });
          await sleep(delay(i, 1));
          log.info({ i });
          // The listener is registered inside the span and called by an emit from the same
          // task's timer: it runs in that task's context.
          await new Promise<void>((resolve) => {
            const name = `event-${i}`;
            bus.once(name, () => {
              log.info({ i });
              resolve();
            });
            setTimeout(() => bus.emit(name), delay(i, 2));
          });
          queueMicrotask(() => log.info({ i }));
          await sleep(0);
          log.info({ i });
          span.end();
        }),
      ),
    );
    log.info({ i: -1 });
    const lines = destination.records();
    expect(lines).toHaveLength(N * 5 + 1);
    for (const line of lines) {
      if (line.i === -1) {
        expect(line).not.toHaveProperty('trace_id');
        continue;
      }
      expect(line.span_id).toBe(expected.get(line.i));
      expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
    }
  });
});
