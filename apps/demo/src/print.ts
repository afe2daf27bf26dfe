// Plain-text rendering of what the demo saw: responses, trace trees and metrics.
import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import {
  type DataPoint,
  DataPointType,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Exchange } from './traffic.js';

// ---------------------------------------------------------------------------------------------
// Output and colours (only on a terminal, and never when NO_COLOR is set)

const useColor = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;

function paint(code: number): (text: string) => string {
  return (text) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
}

const bold = paint(1);
const dim = paint(2);
const red = paint(31);
const green = paint(32);
const yellow = paint(33);
const cyan = paint(36);

function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function printHeading(title: string): void {
  out();
  out(bold(`== ${title} ==`));
}

export function printNote(text: string): void {
  out(dim(text));
}

/**
 * Where the telemetry went (OTLP mode) and anything that failed on the way; problems go to
 * stderr but do not change the exit code: the demo itself ran.
 */
export function printTelemetryResult(endpoint: string | undefined, problems: readonly string[]): void {
  if (endpoint !== undefined) {
    printHeading('Export');
    const verb = problems.length === 0 ? 'sent' : 'could not all be sent';
    out(`traces and metrics ${verb} over OTLP/HTTP to ${endpoint} (/v1/traces, /v1/metrics)`);
  }
  for (const problem of problems) process.stderr.write(`${yellow(`telemetry: ${problem}`)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Responses

export function printExchanges(exchanges: readonly Exchange[]): void {
  for (const exchange of exchanges) {
    const status = colorStatus(exchange.status, `${exchange.status} ${exchange.statusText}`);
    out(
      `${bold(`${exchange.method} ${exchange.path}`)} -> ${status}  ${dim(shortContentType(exchange.contentType))}`,
    );
    out(`   ${formatBody(exchange.contentType, exchange.body)}`);
  }
}

function colorStatus(status: number, text: string): string {
  if (status >= 500) return red(text);
  if (status >= 400) return yellow(text);
  return green(text);
}

function shortContentType(contentType: string): string {
  return contentType.split(';')[0]?.trim() || '(no content-type)';
}

/** JSON on one line; HTML reduced to its text; everything cut at 200 characters. */
export function formatBody(contentType: string, body: string): string {
  const text = contentType.includes('json') ? compactJson(body) : htmlToText(body);
  return truncate(text, 200);
}

function compactJson(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body));
  } catch {
    return body;
  }
}

function htmlToText(body: string): string {
  return body
    .replace(/<head>[\s\S]*<\/head>/i, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

// ---------------------------------------------------------------------------------------------
// Traces: one tree per trace id, children under their parent, ordered by start time

interface SpanNode {
  readonly span: ReadableSpan;
  readonly children: SpanNode[];
}

const KEY_ATTRIBUTES = ['http.route', 'http.response.status_code', 'error.type', 'url.full'] as const;

export function printTraces(spans: readonly ReadableSpan[]): void {
  if (spans.length === 0) {
    out(dim('(no spans)'));
    return;
  }
  for (const [traceId, traceSpans] of groupByTrace(spans)) {
    out();
    printTrace(traceId, traceSpans);
  }
}

function printTrace(traceId: string, spans: readonly ReadableSpan[]): void {
  const roots = buildForest(spans);
  const rootName = roots[0]?.span.name ?? '?';
  out(
    `${bold(`trace ${traceId}`)}  ${rootName}  ${dim(`(${spans.length} span${spans.length === 1 ? '' : 's'})`)}`,
  );
  roots.forEach((root, index) => {
    printNode(root, '', index === roots.length - 1);
  });
}

function groupByTrace(spans: readonly ReadableSpan[]): Map<string, ReadableSpan[]> {
  const groups = new Map<string, ReadableSpan[]>();
  for (const span of [...spans].sort(byStartTime)) {
    const traceId = span.spanContext().traceId;
    const group = groups.get(traceId) ?? [];
    group.push(span);
    groups.set(traceId, group);
  }
  return groups;
}

/** Roots are spans without a parent, or whose parent is not among the spans (e.g. remote). */
function buildForest(spans: readonly ReadableSpan[]): SpanNode[] {
  const nodes = new Map<string, SpanNode>();
  for (const span of spans) nodes.set(span.spanContext().spanId, { span, children: [] });
  const roots: SpanNode[] = [];
  for (const node of nodes.values()) {
    const parentId = node.span.parentSpanContext?.spanId;
    const parent = parentId === undefined ? undefined : nodes.get(parentId);
    (parent?.children ?? roots).push(node);
  }
  return roots;
}

function byStartTime(a: ReadableSpan, b: ReadableSpan): number {
  return compareHrTime(a.startTime, b.startTime);
}

function compareHrTime(a: HrTime, b: HrTime): number {
  return a[0] - b[0] || a[1] - b[1];
}

function printNode(node: SpanNode, prefix: string, last: boolean): void {
  out(`${dim(prefix + (last ? '└─ ' : '├─ '))}${describeSpan(node.span)}`);
  const childPrefix = prefix + (last ? '   ' : '│  ');
  for (const line of eventLines(node.span)) {
    out(`${dim(childPrefix + (node.children.length > 0 ? '│  ' : '   '))}${line}`);
  }
  node.children.forEach((child, index) => {
    printNode(child, childPrefix, index === node.children.length - 1);
  });
}

/** `GET /orders/:id  SERVER  23.1 ms  UNSET  http.route=/orders/:id ...` */
export function describeSpan(span: ReadableSpan): string {
  const parts = [
    bold(span.name),
    cyan(SpanKind[span.kind] ?? String(span.kind)),
    `${hrTimeToMilliseconds(span.duration).toFixed(1)} ms`,
    formatStatus(span),
    formatAttributes(span.attributes),
  ];
  return parts.filter((part) => part !== '').join('  ');
}

function formatStatus(span: ReadableSpan): string {
  const name = SpanStatusCode[span.status.code] ?? String(span.status.code);
  const text = span.status.message ? `${name} (${span.status.message})` : name;
  return span.status.code === SpanStatusCode.ERROR ? red(text) : text;
}

function formatAttributes(attributes: Attributes): string {
  return KEY_ATTRIBUTES.filter((key) => attributes[key] !== undefined)
    .map((key) => dim(`${key}=${formatValue(attributes[key])}`))
    .join(' ');
}

function formatValue(value: AttributeValue | undefined): string {
  return Array.isArray(value) ? `[${value.join(',')}]` : String(value);
}

/** Exception events as `! exception Error: message`; other events by name. */
function eventLines(span: ReadableSpan): string[] {
  return span.events.map((event) => {
    if (event.name !== 'exception') return dim(`· event ${event.name}`);
    const type = event.attributes?.['exception.type'] ?? 'exception';
    const message = event.attributes?.['exception.message'];
    return red(`! exception ${String(type)}${message === undefined ? '' : `: ${String(message)}`}`);
  });
}

// ---------------------------------------------------------------------------------------------
// Metrics

export function printMetrics(resourceMetrics: ResourceMetrics | undefined): void {
  const duration = findMetric(resourceMetrics, 'http.server.request.duration');
  out(bold('http.server.request.duration') + dim(describeMetric(duration)));
  printTable(['METHOD', 'ROUTE', 'STATUS', 'ERROR', 'COUNT', 'AVG ms', 'MAX ms'], durationRows(duration));
  out();
  const active = findMetric(resourceMetrics, 'http.server.active_requests');
  out(bold('http.server.active_requests') + dim(describeMetric(active)));
  printTable(['METHOD', 'SCHEME', 'VALUE'], activeRows(active));
}

function findMetric(resourceMetrics: ResourceMetrics | undefined, name: string): MetricData | undefined {
  for (const scope of resourceMetrics?.scopeMetrics ?? []) {
    const metric = scope.metrics.find((m) => m.descriptor.name === name);
    if (metric !== undefined) return metric;
  }
  return undefined;
}

function describeMetric(metric: MetricData | undefined): string {
  if (metric === undefined) return '  (not recorded)';
  const type = DataPointType[metric.dataPointType]?.toLowerCase() ?? 'metric';
  return `  (${type}, unit ${metric.descriptor.unit || '-'})`;
}

function durationRows(metric: MetricData | undefined): string[][] {
  if (metric?.dataPointType !== DataPointType.HISTOGRAM) return [];
  return metric.dataPoints
    .map((point) => durationRow(point))
    .sort((a, b) => (a[1] ?? '').localeCompare(b[1] ?? '') || (a[2] ?? '').localeCompare(b[2] ?? ''));
}

function durationRow(point: DataPoint<Histogram>): string[] {
  const { attributes, value } = point;
  const avgMs = value.count > 0 && value.sum !== undefined ? (value.sum / value.count) * 1000 : undefined;
  return [
    attr(attributes, 'http.request.method'),
    attr(attributes, 'http.route', '(no route)'),
    attr(attributes, 'http.response.status_code'),
    attr(attributes, 'error.type', ''),
    String(value.count),
    avgMs === undefined ? '-' : avgMs.toFixed(1),
    value.max === undefined ? '-' : (value.max * 1000).toFixed(1),
  ];
}

function activeRows(metric: MetricData | undefined): string[][] {
  if (metric?.dataPointType !== DataPointType.SUM) return [];
  return metric.dataPoints.map((point) => [
    attr(point.attributes, 'http.request.method'),
    attr(point.attributes, 'url.scheme'),
    String(point.value),
  ]);
}

function attr(attributes: Attributes, key: string, missing = '-'): string {
  const value = attributes[key];
  return value === undefined ? missing : formatValue(value);
}

/** Left-aligned columns, two spaces apart; numbers are right-aligned. */
function printTable(headers: readonly string[], rows: readonly string[][]): void {
  if (rows.length === 0) {
    out(dim('  (no data points)'));
    return;
  }
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const numeric = headers.map((_, i) => rows.every((row) => /^-?[\d.]*$/.test(row[i] ?? '')));
  const format = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  out(dim(`  ${format(headers)}`));
  for (const row of rows) out(`  ${format(row)}`);
}
