// What the run shows: the failed order's problem+json, its trace as a waterfall, its log lines
// from every service, the metrics before vs during the incident, and a diagnosis computed from
// those data. Everything printed here is derived from the telemetry the receiver got.
import { bold, cyan, dim, out, printHeading, printNote, printTable, red, yellow } from '../print.js';
import type { Fleet, LogLine } from './children.js';
import type { Attrs, AttrValue, ReceivedMetricPoint, ReceivedSpan, Receiver } from './receiver.js';
import type { Exchange, PhaseRun } from './traffic.js';

export interface ReportInput {
  receiver: Receiver | undefined;
  externalEndpoint: string | undefined;
  fleet: Fleet;
  exchanges: Exchange[];
  phases: PhaseRun[];
  poolSize: number;
  deadlineMs: number;
  startedAt: number;
  prometheus: Record<string, { ok: boolean; series: number }>;
}

/** The numbers of one phase that the metrics view and the diagnosis use. */
export interface PhaseMetrics {
  phase: string;
  requests: number;
  errors504: number;
  poolInUseMax: number | undefined;
  poolSizeSeen: number | undefined;
  poolPendingMax: number | undefined;
  poolWaitAvgMs: number | undefined;
  poolWaitMaxMs: number | undefined;
  poolAbandoned: number;
  grpcInFlightMax: number | undefined;
  grpcCalls: number;
  grpcAvgMs: number | undefined;
  grpcMaxMs: number | undefined;
  grpcDeadlineExceeded: number;
  httpActiveMax: Record<string, number | undefined>;
  dbAvgMs: number | undefined;
  inventoryAvgMs: number | undefined;
}

export interface ReportSummary {
  failingTraceId: string | undefined;
  problem: Record<string, unknown> | undefined;
  failingSpanId: string | undefined;
  phases: PhaseMetrics[];
  diagnosis: string;
  durationMs: number;
}

const KIND = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const SERVICE_COLUMN = 10;

export function printReport(input: ReportInput): ReportSummary {
  const { exchanges, phases } = input;
  const spans = input.receiver?.spans ?? [];
  printTraffic(exchanges, phases);

  // 1. The problem+json a customer received: the first 504 whose trace reached every service.
  const failing = chooseFailing(exchanges, spans);
  const problem = failing === undefined ? undefined : parseJson(failing.body);
  printHeading('1. What a customer got');
  if (failing === undefined) {
    out(yellow('no order failed with 504 in this run'));
  } else {
    out(
      `POST /api/orders -> ${red(String(failing.status))}  ${dim(failing.contentType)}  ${dim(`${failing.durationMs.toFixed(0)} ms`)}`,
    );
    out(`  ${failing.body}`);
    out(dim(`  traceId ${failing.traceId}: everything below is filtered on it`));
  }

  // 2. The trace as a waterfall.
  const traceSpans = failing?.traceId === undefined ? [] : spans.filter((s) => s.traceId === failing.traceId);
  printHeading('2. The trace, across every service and the database');
  const origin = printWaterfall(traceSpans, input.externalEndpoint);

  // 3. Every log line of that trace, from every service, in time order.
  printHeading('3. Its log lines, from every service (stdout JSON, filtered on trace_id)');
  printLogs(input.fleet.logs, failing?.traceId, traceSpans);

  // 4. Metrics before vs during.
  printHeading('4. Metrics: before vs during the incident');
  const metrics = input.receiver?.metrics ?? [];
  const phaseMetrics = phases.map((phase) => measurePhase(phase, metrics, exchanges));
  if (input.receiver === undefined) {
    out(dim(`metrics went to ${input.externalEndpoint}; Prometheus endpoints were also scraped:`));
  } else {
    printMetrics(phaseMetrics, input.poolSize);
  }
  out(
    dim(
      `Prometheus: ${Object.entries(input.prometheus)
        .map(([name, p]) => `${name} ${p.ok ? `${p.series} series` : 'unreachable'}`)
        .join(', ')}`,
    ),
  );

  // 5. Diagnosis and duration.
  printHeading('5. Diagnosis');
  const diagnosis = diagnose({
    traceSpans,
    origin,
    phaseMetrics,
    deadlineMs: input.deadlineMs,
    poolSize: input.poolSize,
  });
  out(wrap(diagnosis, 100));
  const durationMs = Date.now() - input.startedAt;
  out();
  out(
    bold(`Run took ${(durationMs / 1000).toFixed(1)} s`) +
      dim(' (start, traffic, incident, shutdown, report); all services stopped.'),
  );
  return {
    failingTraceId: failing?.traceId,
    problem,
    failingSpanId: origin?.spanId,
    phases: phaseMetrics,
    diagnosis,
    durationMs,
  };
}

// ---------------------------------------------------------------------------------------------

function printTraffic(exchanges: Exchange[], phases: PhaseRun[]): void {
  printHeading('Traffic');
  const rows = phases.map((phase) => {
    const mine = exchanges.filter((e) => e.phase === phase.name);
    const byStatus = new Map<number, number>();
    for (const e of mine) byStatus.set(e.status, (byStatus.get(e.status) ?? 0) + 1);
    const statuses = [...byStatus.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([status, n]) => (status >= 500 || status === 0 ? red(`${n}x ${status}`) : `${n}x ${status}`))
      .join(', ');
    const durations = mine.map((e) => e.durationMs).sort((a, b) => a - b);
    return [
      phase.name,
      String(phase.concurrency),
      `${((phase.end - phase.start) / 1000).toFixed(1)} s`,
      String(mine.length),
      statuses,
      ms(percentile(durations, 0.5)),
      ms(percentile(durations, 0.99)),
    ];
  });
  printTable(['PHASE', 'CUSTOMERS', 'TIME', 'ORDERS', 'ANSWERS', 'P50 ms', 'P99 ms'], rows);
}

function chooseFailing(exchanges: Exchange[], spans: ReceivedSpan[]): Exchange | undefined {
  const failed = exchanges.filter((e) => e.status === 504 && e.traceId !== undefined);
  const complete = failed.find((e) => {
    const mine = spans.filter((s) => s.traceId === e.traceId);
    const services = new Set(mine.map((s) => s.service));
    return services.size >= 4 && mine.some((s) => s.attributes['db.system.name'] !== undefined);
  });
  return complete ?? failed[0];
}

// ---------------------------------------------------------------------------------------------
// Waterfall

interface Node {
  span: ReceivedSpan;
  children: Node[];
  depth: number;
}

function buildTree(spans: ReceivedSpan[]): Node[] {
  const nodes = new Map(spans.map((span) => [span.spanId, { span, children: [] as Node[], depth: 0 }]));
  const roots: Node[] = [];
  for (const node of nodes.values()) {
    const parent = node.span.parentSpanId === undefined ? undefined : nodes.get(node.span.parentSpanId);
    (parent?.children ?? roots).push(node);
  }
  const order = (list: Node[], depth: number): void => {
    list.sort((a, b) => a.span.start - b.span.start);
    for (const node of list) {
      node.depth = depth;
      order(node.children, depth + 1);
    }
  };
  order(roots, 0);
  return roots;
}

function flatten(nodes: Node[]): Node[] {
  return nodes.flatMap((node) => [node, ...flatten(node.children)]);
}

/**
 * The span where the failure starts: the deepest ERROR span (an ERROR span none of whose
 * descendants is an ERROR). With several, the one that started first.
 */
export function findOrigin(spans: ReceivedSpan[]): ReceivedSpan | undefined {
  const flat = flatten(buildTree(spans));
  const hasErrorBelow = (node: Node): boolean =>
    node.children.some((child) => child.span.statusCode === 2 || hasErrorBelow(child));
  return flat
    .filter((node) => node.span.statusCode === 2 && !hasErrorBelow(node))
    .sort((a, b) => b.depth - a.depth || a.span.start - b.span.start)[0]?.span;
}

function spanLabel(span: ReceivedSpan): string {
  return span.attributes['db.system.name'] !== undefined ? `${span.service}/db` : span.service;
}

function printWaterfall(
  spans: ReceivedSpan[],
  externalEndpoint: string | undefined,
): ReceivedSpan | undefined {
  if (spans.length === 0) {
    out(
      dim(
        externalEndpoint === undefined
          ? '(no spans received for this trace)'
          : `(spans went to ${externalEndpoint}: search for the traceId there)`,
      ),
    );
    return undefined;
  }
  const roots = buildTree(spans);
  const flat = flatten(roots);
  const t0 = Math.min(...spans.map((s) => s.start));
  const total = Math.max(...spans.map((s) => s.end)) - t0;
  const origin = findOrigin(spans);
  const barWidth = 30;
  const rows = flat.map(({ span, depth }) => {
    const offset = span.start - t0;
    const duration = span.end - span.start;
    const from = Math.min(barWidth - 1, Math.floor((offset / total) * barWidth));
    const width = Math.max(1, Math.round((duration / total) * barWidth));
    const bar = `${' '.repeat(from)}${'█'.repeat(Math.min(width, barWidth - from))}`.padEnd(barWidth);
    const isError = span.statusCode === 2;
    const status = statusText(span);
    const mark = span === origin ? red(' ◀ failure starts here') : '';
    return [
      spanLabel(span),
      `${'  '.repeat(depth)}${span.name}`,
      KIND[span.kind]?.toLowerCase() ?? '?',
      ms(offset),
      ms(duration),
      isError ? red(bar) : cyan(bar),
      (isError ? red(status) : status) + mark,
    ];
  });
  printTable(
    [
      'SERVICE',
      'SPAN',
      'KIND',
      'AT ms',
      'TOOK ms',
      `0 ${'·'.repeat(barWidth - 10)} ${total.toFixed(0)} ms`,
      'STATUS',
    ],
    rows,
  );
  const details = flat
    .map(({ span }) => span)
    .filter((span) => span.name.startsWith('payments.pool') || span === origin);
  for (const span of details) {
    const attrs = Object.entries(span.attributes)
      .filter(([key]) => key.startsWith('payments.') || key.startsWith('rpc.status') || key === 'error.type')
      .map(([key, value]) => `${key}=${format(value)}`)
      .join(' ');
    if (attrs) out(dim(`  ${span.service} ${span.name}: ${attrs}`));
  }
  const links = spans.flatMap((s) => s.links);
  if (links.length > 0)
    out(dim(`  (the gateway is a public endpoint: a caller's trace context is linked, not continued)`));
  return origin;
}

function statusText(span: ReceivedSpan): string {
  const code = span.attributes['rpc.status_code'] ?? span.attributes['http.response.status_code'];
  const base = span.statusCode === 2 ? 'ERROR' : span.statusCode === 1 ? 'OK' : 'unset';
  return code === undefined ? base : `${base} ${format(code)}`;
}

// ---------------------------------------------------------------------------------------------
// Logs

function printLogs(logs: LogLine[], traceId: string | undefined, spans: ReceivedSpan[]): void {
  if (traceId === undefined) return;
  const mine = logs.filter((l) => l.record.trace_id === traceId).sort((a, b) => a.time - b.time);
  if (mine.length === 0) {
    out(yellow('(no log line carries this trace id)'));
    return;
  }
  const t0 = spans.length > 0 ? Math.min(...spans.map((s) => s.start)) : (mine[0]?.time ?? 0);
  const levels: Record<number, string> = {
    10: 'trace',
    20: 'debug',
    30: 'info',
    40: 'warn',
    50: 'error',
    60: 'fatal',
  };
  for (const line of mine) {
    const level = levels[Number(line.record.level)] ?? String(line.record.level);
    const fields = Object.entries(line.record)
      .filter(
        ([key]) =>
          ![
            'level',
            'time',
            'pid',
            'hostname',
            'name',
            'msg',
            'trace_id',
            'span_id',
            'trace_flags',
            'req',
            'res',
          ].includes(key),
      )
      .map(([key, value]) => `${key}=${compact(value)}`)
      .join(' ');
    const levelText =
      level === 'error' || level === 'fatal'
        ? red(level.padEnd(5))
        : level === 'warn'
          ? yellow(level.padEnd(5))
          : level.padEnd(5);
    out(
      `  ${dim(`+${ms(Math.max(0, line.time - t0)).padStart(4)} ms`)}  ${line.service.padEnd(SERVICE_COLUMN)}${levelText}  ${bold(String(line.record.msg ?? ''))}  ${dim(truncate(fields, 150))}`,
    );
  }
  const services = new Set(mine.map((l) => l.service));
  out(
    dim(
      `  ${mine.length} lines from ${services.size} services (${[...services].join(', ')}); span_id on each line ties it to its span`,
    ),
  );
}

function compact(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record.type === 'string' && typeof record.message === 'string') {
      return `${record.type}(${record.codeName ?? record.code ?? ''}: ${record.message})`;
    }
    return JSON.stringify(value);
  }
  return String(value);
}

// ---------------------------------------------------------------------------------------------
// Metrics

function inPhase(point: ReceivedMetricPoint, phase: PhaseRun): boolean {
  // Delta points cover [start, time]: they count in the phase that holds their middle. Gauges
  // and cumulative sums are a value at `time`.
  const at = point.temporality === 1 ? (point.start + point.time) / 2 : point.time;
  return at >= phase.start && at <= phase.end;
}

function select(
  metrics: ReceivedMetricPoint[],
  phase: PhaseRun,
  service: string,
  name: string,
  where: (attrs: Attrs) => boolean = () => true,
): ReceivedMetricPoint[] {
  return metrics.filter(
    (p) => p.service === service && p.name === name && where(p.attributes) && inPhase(p, phase),
  );
}

function maxValue(points: ReceivedMetricPoint[]): number | undefined {
  const values = points.map((p) => p.value).filter((v): v is number => v !== undefined);
  return values.length === 0 ? undefined : Math.max(...values);
}

/** Sum of delta histogram points (count, sum, max). */
function histogram(points: ReceivedMetricPoint[]): {
  count: number;
  avgMs: number | undefined;
  maxMs: number | undefined;
} {
  let count = 0;
  let sum = 0;
  let max: number | undefined;
  for (const p of points) {
    if (p.temporality !== 1) continue; // only per-interval points add up
    count += p.count ?? 0;
    sum += p.sum ?? 0;
    if ((p.count ?? 0) > 0 && p.max !== undefined) max = Math.max(max ?? 0, p.max);
  }
  return {
    count,
    avgMs: count > 0 ? (sum / count) * 1000 : undefined,
    maxMs: max === undefined ? undefined : max * 1000,
  };
}

function sumValues(points: ReceivedMetricPoint[]): number {
  return points.filter((p) => p.temporality === 1).reduce((total, p) => total + (p.value ?? 0), 0);
}

export function measurePhase(
  phase: PhaseRun,
  metrics: ReceivedMetricPoint[],
  exchanges: Exchange[],
): PhaseMetrics {
  const wait = histogram(select(metrics, phase, 'payments', 'payments.pool.wait_time'));
  const grpc = histogram(select(metrics, phase, 'orders', 'rpc.client.call.duration'));
  const deadline = histogram(
    select(
      metrics,
      phase,
      'orders',
      'rpc.client.call.duration',
      (a) => a['rpc.status_code'] === 'DEADLINE_EXCEEDED',
    ),
  );
  const httpActiveMax: Record<string, number | undefined> = {};
  for (const service of ['gateway', 'orders', 'inventory']) {
    httpActiveMax[service] = maxValue(select(metrics, phase, service, 'http.server.active_requests'));
  }
  const mine = exchanges.filter((e) => e.phase === phase.name);
  return {
    phase: phase.name,
    requests: mine.length,
    errors504: mine.filter((e) => e.status === 504).length,
    poolInUseMax: maxValue(select(metrics, phase, 'payments', 'payments.pool.connections.in_use')),
    poolSizeSeen: maxValue(select(metrics, phase, 'payments', 'payments.pool.connections.max')),
    poolPendingMax: maxValue(select(metrics, phase, 'payments', 'payments.pool.pending_requests')) ?? 0,
    poolWaitAvgMs: wait.avgMs,
    poolWaitMaxMs: wait.maxMs,
    poolAbandoned: sumValues(select(metrics, phase, 'payments', 'payments.pool.abandoned')),
    grpcInFlightMax: maxValue(select(metrics, phase, 'orders', 'rpc.client.active_requests')),
    grpcCalls: grpc.count,
    grpcAvgMs: grpc.avgMs,
    grpcMaxMs: grpc.maxMs,
    grpcDeadlineExceeded: deadline.count,
    httpActiveMax,
    dbAvgMs: histogram(select(metrics, phase, 'orders', 'db.client.operation.duration')).avgMs,
    inventoryAvgMs: histogram(select(metrics, phase, 'inventory', 'http.server.request.duration')).avgMs,
  };
}

function printMetrics(phases: PhaseMetrics[], poolSize: number): void {
  const [before, during] = phases;
  if (before === undefined || during === undefined) return;
  const pair = (f: (p: PhaseMetrics) => string): [string, string] => [f(before), f(during)];
  const hot = (text: string, isHot: boolean): string => (isHot ? red(text) : text);
  const rows: string[][] = [
    [
      'payments',
      'payments.pool.connections.in_use',
      'max',
      ...pair((p) =>
        hot(
          `${num(p.poolInUseMax)}/${num(p.poolSizeSeen ?? poolSize)}`,
          (p.poolInUseMax ?? 0) >= (p.poolSizeSeen ?? poolSize),
        ),
      ),
    ],
    [
      'payments',
      'payments.pool.pending_requests',
      'max',
      ...pair((p) => hot(num(p.poolPendingMax), (p.poolPendingMax ?? 0) > 0)),
    ],
    ['payments', 'payments.pool.wait_time', 'avg ms', ...pair((p) => ms(p.poolWaitAvgMs))],
    ['payments', 'payments.pool.wait_time', 'max ms', ...pair((p) => ms(p.poolWaitMaxMs))],
    [
      'payments',
      'payments.pool.abandoned',
      'count',
      ...pair((p) => hot(String(p.poolAbandoned), p.poolAbandoned > 0)),
    ],
    ['orders', 'rpc.client.active_requests', 'max', ...pair((p) => num(p.grpcInFlightMax))],
    ['orders', 'rpc.client.call.duration', 'calls', ...pair((p) => String(p.grpcCalls))],
    ['orders', 'rpc.client.call.duration', 'avg ms', ...pair((p) => ms(p.grpcAvgMs))],
    ['orders', 'rpc.client.call.duration', 'max ms', ...pair((p) => ms(p.grpcMaxMs))],
    [
      'orders',
      '  rpc.status_code=DEADLINE_EXCEEDED',
      'calls',
      ...pair((p) => hot(String(p.grpcDeadlineExceeded), p.grpcDeadlineExceeded > 0)),
    ],
    ...['gateway', 'orders', 'inventory'].map((service) => [
      service,
      'http.server.active_requests',
      'max',
      ...pair((p) => num(p.httpActiveMax[service])),
    ]),
    ['orders', 'db.client.operation.duration', 'avg ms', ...pair((p) => ms(p.dbAvgMs))],
    ['inventory', 'http.server.request.duration', 'avg ms', ...pair((p) => ms(p.inventoryAvgMs))],
  ];
  printTable(['SERVICE', 'METRIC', 'STAT', `BEFORE (${before.phase})`, `DURING (${during.phase})`], rows);
  printNote(
    '  (max of the 500 ms exports for gauges and counters in use; delta histograms summed over the phase)',
  );
}

// ---------------------------------------------------------------------------------------------
// Diagnosis: sentences only for what the data show.

interface DiagnosisInput {
  traceSpans: ReceivedSpan[];
  origin: ReceivedSpan | undefined;
  phaseMetrics: PhaseMetrics[];
  deadlineMs: number;
  poolSize: number;
}

export function diagnose({ traceSpans, origin, phaseMetrics, poolSize }: DiagnosisInput): string {
  const [before, during] = phaseMetrics;
  const parts: string[] = [];
  if (during !== undefined) {
    const share = during.requests > 0 ? (100 * during.errors504) / during.requests : 0;
    parts.push(
      `During the incident ${during.errors504} of ${during.requests} orders (${share.toFixed(0)}%) ended in 504` +
        (before === undefined ? '.' : `, against ${before.errors504} of ${before.requests} before.`),
    );
  }
  const root = traceSpans.find((s) => s.parentSpanId === undefined);
  const grpcClient = traceSpans.find((s) => s.kind === 3 && s.attributes['rpc.system.name'] === 'grpc');
  const acquire = traceSpans.find((s) => s.name === 'payments.pool acquire');
  const paymentsServer = traceSpans.find((s) => s.service === 'payments' && s.kind === 2);
  if (root !== undefined && grpcClient !== undefined) {
    const callMs = grpcClient.end - grpcClient.start;
    parts.push(
      `In the failed order's trace the customer waited ${ms(root.end - root.start)} ms; ${ms(callMs)} ms of it is the orders -> payments gRPC call, which ended ${format(grpcClient.attributes['rpc.status_code'] ?? 'with an error')}` +
        (origin !== undefined
          ? `, and the failure starts at the "${origin.name}" span of ${origin.service}.`
          : '.'),
    );
    if (acquire !== undefined && paymentsServer !== undefined) {
      const waited = acquire.end - acquire.start;
      const serverMs = paymentsServer.end - paymentsServer.start;
      parts.push(
        `Payments spent ${ms(waited)} ms of its ${ms(serverMs)} ms (${((100 * waited) / Math.max(serverMs, 1)).toFixed(0)}%) waiting in "payments.pool acquire" for one of ${format(acquire.attributes['payments.pool.size'])} card-network connections (${format(acquire.attributes['payments.pool.in_use'])} in use, ${format(acquire.attributes['payments.pool.pending'])} already queued when it arrived).`,
      );
    }
    const db = traceSpans.filter((s) => s.attributes['db.system.name'] !== undefined);
    const inventory = traceSpans.find((s) => s.service === 'inventory' && s.kind === 2);
    const dbMs = db.reduce((total, s) => total + (s.end - s.start), 0);
    if (db.length > 0 || inventory !== undefined) {
      parts.push(
        `The other hops were quick: ${db.length} database quer${db.length === 1 ? 'y' : 'ies'} took ${ms(dbMs)} ms in all` +
          (inventory === undefined
            ? '.'
            : ` and inventory answered in ${ms(inventory.end - inventory.start)} ms.`),
      );
    }
  }
  const saturated =
    during !== undefined && (during.poolInUseMax ?? 0) >= poolSize && (during.poolPendingMax ?? 0) > 0;
  if (before !== undefined && during !== undefined) {
    parts.push(
      `The metrics agree: the payments pool went from at most ${num(before.poolInUseMax)}/${poolSize} connections in use and ${num(before.poolPendingMax)} pending (avg wait ${ms(before.poolWaitAvgMs)} ms) to ${num(during.poolInUseMax)}/${poolSize} with up to ${num(during.poolPendingMax)} pending (avg wait ${ms(during.poolWaitAvgMs)} ms, max ${ms(during.poolWaitMaxMs)} ms, ${during.poolAbandoned} charges abandoned), gRPC calls in flight from orders rose from ${num(before.grpcInFlightMax)} to ${num(during.grpcInFlightMax)} with ${during.grpcDeadlineExceeded} DEADLINE_EXCEEDED, while the database average stayed at ${ms(during.dbAvgMs)} ms (${ms(before.dbAvgMs)} before).`,
    );
  }
  if (saturated && acquire !== undefined) {
    parts.push(
      "Cause: the payments connection pool ran dry under the load; queued charges outlived the callers' gRPC deadline, orders turned DEADLINE_EXCEEDED into 504. Fix the capacity (a bigger pool, or more card-network throughput), or shed load before the queue wait exceeds the deadline.",
    );
  } else {
    parts.push('The data do not show the payments pool saturated in this run, so no cause is claimed.');
  }
  return parts.join(' ');
}

// ---------------------------------------------------------------------------------------------

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function ms(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '-';
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function num(value: number | undefined): string {
  return value === undefined ? '-' : String(Math.round(value));
}

function format(value: AttrValue | undefined): string {
  return Array.isArray(value) ? `[${value.join(',')}]` : String(value);
}

function percentile(sorted: number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line.length + word.length + 1 > width && line !== '') {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line) lines.push(line);
  return lines.join('\n');
}
