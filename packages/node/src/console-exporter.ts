import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

/** Where {@link ReadableConsoleSpanExporter} writes; default `process.stdout`. */
export interface LineWriter {
  write(line: string): unknown;
}

const KIND: Record<number, string> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

// A span attribute can be a 1 MB string; the console is for humans, so values are cut short.
const MAX_VALUE_CHARS = 120;
const MAX_ATTRIBUTES = 12;

/**
 * A span exporter for local development: one short line per span instead of the SDK console
 * exporter's multi-line object dump. It is used behind a batch processor, like every exporter
 * `start()` configures.
 *
 * @example
 * new BatchSpanProcessor({ exporter: new ReadableConsoleSpanExporter() });
 * // 12:00:00.123 server GET /users/:id 200 4.1ms trace=4bf9…4736 span=00f0…02b7 http.route=/users/:id
 */
export class ReadableConsoleSpanExporter implements SpanExporter {
  readonly #out: LineWriter;
  #stopped = false;

  constructor(out?: LineWriter) {
    this.#out = out ?? process.stdout;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.#stopped) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('exporter is shut down') });
      return;
    }
    try {
      let text = '';
      for (const span of spans) text += `${formatSpan(span)}\n`;
      this.#out.write(text);
      resultCallback({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      resultCallback({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  shutdown(): Promise<void> {
    this.#stopped = true;
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** One line: time, kind, name, status, duration, ids, a few attributes. CR/LF are escaped (T53). */
export function formatSpan(span: ReadableSpan): string {
  const ctx = span.spanContext();
  const [sec, nanos] = span.startTime;
  const time = new Date(sec * 1000 + Math.floor(nanos / 1e6)).toISOString().slice(11, 23);
  const ms = span.duration[0] * 1e3 + span.duration[1] / 1e6;
  const status =
    span.status.code === SpanStatusCode.ERROR
      ? ` ERROR${span.status.message ? `(${clip(span.status.message)})` : ''}`
      : '';
  const httpStatus = span.attributes['http.response.status_code'];
  const parts = [
    time,
    KIND[span.kind] ?? 'span',
    clip(span.name),
    ...(httpStatus !== undefined ? [String(httpStatus)] : []),
    `${ms.toFixed(1)}ms${status}`,
    `trace=${ctx.traceId}`,
    `span=${ctx.spanId}`,
  ];
  if (span.parentSpanContext !== undefined) parts.push(`parent=${span.parentSpanContext.spanId}`);
  let n = 0;
  for (const [key, value] of Object.entries(span.attributes)) {
    if (key === 'http.response.status_code' || value === undefined) continue;
    if (n++ >= MAX_ATTRIBUTES) {
      parts.push('…');
      break;
    }
    parts.push(`${clip(key)}=${clip(Array.isArray(value) ? value.join(',') : String(value))}`);
  }
  return parts.join(' ');
}

function clip(value: string): string {
  const flat = value.replace(/[\r\n\t\u2028\u2029]/g, (c) => JSON.stringify(c).slice(1, -1));
  return flat.length > MAX_VALUE_CHARS ? `${flat.slice(0, MAX_VALUE_CHARS)}…` : flat;
}
