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
  deadlineMs: number;
  startedAt: number;
  prometheus: Record<string, { ok: boolean; series: number }>;
}

/** The numbers of one phase that the metrics view and the diagnosis use, all read from tracewire's signals. */
export interface PhaseMetrics {
  phase: string;
  requests: number;
  errors504: number;
  errors503: number;
  /** orders' channel to payments (`instrumentGrpcChannel`) */
  grpcConnectionsMax: number | undefined;
  grpcChannelActiveMax: number | undefined;
  grpcWaitingMax: number | undefined;
  grpcStreamWaits: number;
  grpcStreamWaitAvgMs: number | undefined;
  grpcStreamWaitMaxMs: number | undefined;
  /** orders' gRPC client interceptor */
  grpcInFlightMax: number | undefined;
  grpcCalls: number;
  grpcAvgMs: number | undefined;
  grpcMaxMs: number | undefined;
  grpcDeadlineExceeded: number;
  grpcResourceExhausted: number;
  /** payments' gRPC server interceptor */
  serverActiveMax: number | undefined;
  serverCalls: number;
  serverAvgMs: number | undefined;
  /** outgoing HTTP (@tracewire/node): gateway -> orders and orders -> inventory */
  httpClient: Record<string, HttpClientPhase>;
  httpActiveMax: Record<string, number | undefined>;
  dbAvgMs: number | undefined;
  /** orders' pg pool (@tracewire/pg) */
  dbPendingMax: number | undefined;
  dbWaitAvgMs: number | undefined;
  dbWaitMaxMs: number | undefined;
  inventoryAvgMs: number | undefined;
}

export interface HttpClientPhase {
  openActiveMax: number | undefined;
  pendingMax: number | undefined;
  waits: number;
  waitAvgMs: number | undefined;
  waitMaxMs: number | undefined;
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
  printHeading('4. Metrics: before, during and after the incident');
  const metrics = input.receiver?.metrics ?? [];
  const phaseMetrics = phases.map((phase) => measurePhase(phase, metrics, exchanges));
  if (input.receiver === undefined) {
    out(dim(`metrics went to ${input.externalEndpoint}; Prometheus endpoints were also scraped:`));
  } else {
    printMetrics(phaseMetrics);
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
    allSpans: spans,
    origin,
    phases,
    phaseMetrics,
    deadlineMs: input.deadlineMs,
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
  // A 504 of the incident (a cold start can fail one order of the normal phase too).
  const failed = exchanges
    .filter((e) => e.status === 504 && e.traceId !== undefined)
    .sort((a, b) => Number(b.phase === 'incident') - Number(a.phase === 'incident'));
  const complete = failed.find((e) => {
    const mine = spans.filter((s) => s.traceId === e.traceId);
    const services = new Set(mine.map((s) => s.service));
    return (
      services.size >= 4 &&
      mine.some((s) => s.attributes['db.system.name'] !== undefined) &&
      mine.some((s) => s.kind === 3 && s.attributes['rpc.status_code'] === 'DEADLINE_EXCEEDED')
    );
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
  // The attributes that matter here: the statuses of the gRPC spans and, on every HTTP CLIENT
  // span, how long the request waited for a connection (@tracewire/node).
  const details = flat
    .map(({ span }) => span)
    .filter(
      (span) =>
        span === origin ||
        (span.attributes['rpc.system.name'] === 'grpc' && span.kind === 2) ||
        waitAttr(span) !== undefined,
    );
  for (const span of details) {
    const attrs = Object.entries(span.attributes)
      .filter(
        ([key]) =>
          key.startsWith('rpc.status') ||
          key === 'error.type' ||
          key === 'tracewire.http.client.connection.wait_time',
      )
      .map(([key, value]) =>
        key === 'tracewire.http.client.connection.wait_time' && typeof value === 'number'
          ? `${key}=${(value * 1000).toFixed(1)}ms`
          : `${key}=${format(value)}`,
      )
      .join(' ');
    if (attrs) out(dim(`  ${span.service} ${KIND[span.kind]?.toLowerCase()} ${span.name}: ${attrs}`));
  }
  const grpcClient = spans.find((s) => s.kind === 3 && s.attributes['rpc.system.name'] === 'grpc');
  const grpcServer = spans.find((s) => s.kind === 2 && s.attributes['rpc.system.name'] === 'grpc');
  if (grpcClient !== undefined && grpcServer !== undefined) {
    out(
      yellow(
        `  orders started the gRPC call at ${ms(grpcClient.start - t0)} ms; payments received it at ${ms(grpcServer.start - t0)} ms: ${ms(grpcServer.start - grpcClient.start)} ms of the ${ms(grpcClient.end - grpcClient.start)} ms call passed before payments saw it`,
      ),
    );
  } else if (grpcClient !== undefined) {
    out(yellow('  payments never received this call: it ended before it got a stream'));
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

/** The HTTP client hops: who calls whom, by the service that makes the calls. */
export const HTTP_HOPS = [
  { service: 'gateway', hop: 'gateway -> orders' },
  { service: 'orders', hop: 'orders -> inventory' },
] as const;

export function measurePhase(
  phase: PhaseRun,
  metrics: ReceivedMetricPoint[],
  exchanges: Exchange[],
): PhaseMetrics {
  const streamWait = histogram(
    select(metrics, phase, 'orders', 'tracewire.grpc.channel.stream.wait_duration'),
  );
  const grpc = histogram(select(metrics, phase, 'orders', 'rpc.client.call.duration'));
  const byStatus = (code: string): number =>
    histogram(
      select(metrics, phase, 'orders', 'rpc.client.call.duration', (a) => a['rpc.status_code'] === code),
    ).count;
  const server = histogram(select(metrics, phase, 'payments', 'rpc.server.call.duration'));
  const dbWait = histogram(select(metrics, phase, 'orders', 'db.client.connection.wait_time'));
  const httpActiveMax: Record<string, number | undefined> = {};
  for (const service of ['gateway', 'orders', 'inventory']) {
    httpActiveMax[service] = maxValue(select(metrics, phase, service, 'http.server.active_requests'));
  }
  const httpClient: Record<string, HttpClientPhase> = {};
  for (const { service, hop } of HTTP_HOPS) {
    const wait = histogram(select(metrics, phase, service, 'http.client.connection.wait_time'));
    httpClient[hop] = {
      openActiveMax: maxValue(
        select(
          metrics,
          phase,
          service,
          'http.client.open_connections',
          (a) => a['http.connection.state'] === 'active',
        ),
      ),
      pendingMax: maxValue(select(metrics, phase, service, 'http.client.connection.pending_requests')),
      waits: wait.count,
      waitAvgMs: wait.avgMs,
      waitMaxMs: wait.maxMs,
    };
  }
  const mine = exchanges.filter((e) => e.phase === phase.name);
  return {
    phase: phase.name,
    requests: mine.length,
    errors504: mine.filter((e) => e.status === 504).length,
    errors503: mine.filter((e) => e.status === 503).length,
    grpcConnectionsMax: maxValue(select(metrics, phase, 'orders', 'grpc.subchannel.open_connections')),
    grpcChannelActiveMax: maxValue(select(metrics, phase, 'orders', 'tracewire.grpc.channel.calls.active')),
    // An up-down counter has no series until its first change: no point means nothing waited yet.
    grpcWaitingMax:
      maxValue(select(metrics, phase, 'orders', 'tracewire.grpc.channel.calls.waiting_for_stream')) ??
      (streamWait.count > 0 ? 0 : undefined),
    grpcStreamWaits: streamWait.count,
    grpcStreamWaitAvgMs: streamWait.avgMs,
    grpcStreamWaitMaxMs: streamWait.maxMs,
    grpcInFlightMax: maxValue(select(metrics, phase, 'orders', 'rpc.client.active_requests')),
    grpcCalls: grpc.count,
    grpcAvgMs: grpc.avgMs,
    grpcMaxMs: grpc.maxMs,
    grpcDeadlineExceeded: byStatus('DEADLINE_EXCEEDED'),
    grpcResourceExhausted: byStatus('RESOURCE_EXHAUSTED'),
    serverActiveMax: maxValue(select(metrics, phase, 'payments', 'rpc.server.active_requests')),
    serverCalls: server.count,
    serverAvgMs: server.avgMs,
    httpClient,
    httpActiveMax,
    dbAvgMs: histogram(select(metrics, phase, 'orders', 'db.client.operation.duration')).avgMs,
    dbPendingMax: maxValue(select(metrics, phase, 'orders', 'db.client.connection.pending_requests')),
    dbWaitAvgMs: dbWait.avgMs,
    dbWaitMaxMs: dbWait.maxMs,
    inventoryAvgMs: histogram(select(metrics, phase, 'inventory', 'http.server.request.duration')).avgMs,
  };
}

function printMetrics(phases: PhaseMetrics[]): void {
  if (phases.length === 0) return;
  const cells = (f: (p: PhaseMetrics) => string): string[] => phases.map(f);
  const hot = (text: string, isHot: boolean): string => (isHot ? red(text) : text);
  const rows: string[][] = [
    ['orders', 'grpc.subchannel.open_connections', 'max', ...cells((p) => num(p.grpcConnectionsMax))],
    ['orders', 'tracewire.grpc.channel.calls.active', 'max', ...cells((p) => num(p.grpcChannelActiveMax))],
    [
      'orders',
      'tracewire.grpc.channel.calls.waiting_for_stream',
      'max',
      ...cells((p) => hot(num(p.grpcWaitingMax), (p.grpcWaitingMax ?? 0) > 0)),
    ],
    [
      'orders',
      'tracewire.grpc.channel.stream.wait_duration',
      'streams',
      ...cells((p) => String(p.grpcStreamWaits)),
    ],
    [
      'orders',
      'tracewire.grpc.channel.stream.wait_duration',
      'avg ms',
      ...cells((p) => hot(ms(p.grpcStreamWaitAvgMs), (p.grpcStreamWaitAvgMs ?? 0) >= 1)),
    ],
    [
      'orders',
      'tracewire.grpc.channel.stream.wait_duration',
      'max ms',
      ...cells((p) => hot(ms(p.grpcStreamWaitMaxMs), (p.grpcStreamWaitMaxMs ?? 0) >= 1)),
    ],
    ['orders', 'rpc.client.active_requests', 'max', ...cells((p) => num(p.grpcInFlightMax))],
    ['orders', 'rpc.client.call.duration', 'calls', ...cells((p) => String(p.grpcCalls))],
    ['orders', 'rpc.client.call.duration', 'avg ms', ...cells((p) => ms(p.grpcAvgMs))],
    ['orders', 'rpc.client.call.duration', 'max ms', ...cells((p) => ms(p.grpcMaxMs))],
    [
      'orders',
      '  rpc.status_code=DEADLINE_EXCEEDED',
      'calls',
      ...cells((p) => hot(String(p.grpcDeadlineExceeded), p.grpcDeadlineExceeded > 0)),
    ],
    [
      'orders',
      '  rpc.status_code=RESOURCE_EXHAUSTED',
      'calls',
      ...cells((p) => hot(String(p.grpcResourceExhausted), p.grpcResourceExhausted > 0)),
    ],
    ['payments', 'rpc.server.active_requests', 'max', ...cells((p) => num(p.serverActiveMax))],
    ['payments', 'rpc.server.call.duration', 'calls', ...cells((p) => String(p.serverCalls))],
    ['payments', 'rpc.server.call.duration', 'avg ms', ...cells((p) => ms(p.serverAvgMs))],
    ...HTTP_HOPS.flatMap(({ service, hop }) => [
      [
        service,
        `http.client.open_connections (-> ${hop.split(' -> ')[1]})`,
        'max active',
        ...cells((p) => num(p.httpClient[hop]?.openActiveMax)),
      ],
      [
        service,
        'http.client.connection.pending_requests',
        'max',
        ...cells((p) => num(p.httpClient[hop]?.pendingMax)),
      ],
      [
        service,
        'http.client.connection.wait_time',
        'avg ms',
        ...cells((p) => ms(p.httpClient[hop]?.waitAvgMs)),
      ],
    ]),
    ...['gateway', 'orders', 'inventory'].map((service) => [
      service,
      'http.server.active_requests',
      'max',
      ...cells((p) => num(p.httpActiveMax[service])),
    ]),
    ['orders', 'db.client.operation.duration', 'avg ms', ...cells((p) => ms(p.dbAvgMs))],
    ['orders', 'db.client.connection.pending_requests', 'max', ...cells((p) => num(p.dbPendingMax))],
    ['orders', 'db.client.connection.wait_time', 'avg ms', ...cells((p) => ms(p.dbWaitAvgMs))],
    ['orders', 'db.client.connection.wait_time', 'max ms', ...cells((p) => ms(p.dbWaitMaxMs))],
    ['inventory', 'http.server.request.duration', 'avg ms', ...cells((p) => ms(p.inventoryAvgMs))],
  ];
  printTable(['SERVICE', 'METRIC', 'STAT', ...phases.map((p) => p.phase.toUpperCase())], rows);
  printNote(
    '  (max of the 500 ms exports for counters of things in progress; delta histograms summed over the phase)',
  );
}

// ---------------------------------------------------------------------------------------------
// Diagnosis: sentences only for what the data show.

interface DiagnosisInput {
  traceSpans: ReceivedSpan[];
  /** every span received (for how many calls payments served at a time) */
  allSpans: ReceivedSpan[];
  origin: ReceivedSpan | undefined;
  phases: PhaseRun[];
  phaseMetrics: PhaseMetrics[];
  deadlineMs: number;
}

/** The most payments SERVER spans in progress at once between `from` and `to` (a sweep over starts and ends). */
export function maxServerOverlap(spans: ReceivedSpan[], from: number, to: number): number {
  const events: [number, number][] = [];
  for (const s of spans) {
    if (s.service !== 'payments' || s.kind !== 2 || s.end < from || s.start > to) continue;
    events.push([s.start, 1], [s.end, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]); // an end before a start at the same instant
  let current = 0;
  let max = 0;
  for (const [, delta] of events) {
    current += delta;
    max = Math.max(max, current);
  }
  return max;
}

/** What the RESOURCE_EXHAUSTED calls of the incident look like in the traces. */
function refusedText(spans: ReceivedSpan[], phase: PhaseRun | undefined): string {
  const clients = spans.filter(
    (s) =>
      s.kind === 3 &&
      s.attributes['rpc.status_code'] === 'RESOURCE_EXHAUSTED' &&
      (phase === undefined || (s.start >= phase.start && s.start <= phase.end)),
  );
  const served = new Set(
    spans.filter((s) => s.service === 'payments' && s.kind === 2).map((s) => s.parentSpanId),
  );
  const unseen = clients.filter((s) => !served.has(s.spanId)).length;
  return (
    `${unseen} of the ${clients.length} traced have no payments SERVER span` +
    (unseen > 0 && unseen === clients.length
      ? ': payments refused the stream before its interceptor saw the call'
      : '')
  );
}

function waitAttr(span: ReceivedSpan | undefined): number | undefined {
  const value = span?.attributes['tracewire.http.client.connection.wait_time'];
  return typeof value === 'number' ? value * 1000 : undefined;
}

export function diagnose({
  traceSpans,
  allSpans,
  origin,
  phases,
  phaseMetrics,
  deadlineMs,
}: DiagnosisInput): string {
  const [before, during, after] = phaseMetrics;
  const incident = phases[1];
  const parts: string[] = [];
  if (during !== undefined) {
    const share = during.requests > 0 ? (100 * during.errors504) / during.requests : 0;
    parts.push(
      `During the incident ${during.errors504} of ${during.requests} orders (${share.toFixed(0)}%) ended in 504` +
        (during.errors503 > 0 ? ` and ${during.errors503} in 503` : '') +
        (before === undefined
          ? ''
          : `, against ${before.errors504 + before.errors503} failures in ${before.requests} before`) +
        (after === undefined ? '.' : ` and ${after.errors504 + after.errors503} in ${after.requests} after.`),
    );
  }
  const root = traceSpans.find((s) => s.parentSpanId === undefined);
  const grpcClient = traceSpans.find((s) => s.kind === 3 && s.attributes['rpc.system.name'] === 'grpc');
  const paymentsServer = traceSpans.find((s) => s.service === 'payments' && s.kind === 2);
  if (root !== undefined && grpcClient !== undefined) {
    const callMs = grpcClient.end - grpcClient.start;
    parts.push(
      `In the failed order's trace the customer waited ${ms(root.end - root.start)} ms; ${ms(callMs)} ms of it is the orders -> payments gRPC call, whose CLIENT span ended ${format(grpcClient.attributes['rpc.status_code'] ?? 'with an error')}` +
        (origin !== undefined
          ? ` (the failure starts at the ${KIND[origin.kind]?.toLowerCase()} span "${origin.name}" of ${origin.service}).`
          : '.'),
    );
    if (paymentsServer !== undefined) {
      const lateMs = paymentsServer.start - grpcClient.start;
      parts.push(
        `Payments only received that call ${ms(lateMs)} ms after orders started it (${((100 * lateMs) / Math.max(callMs, 1)).toFixed(0)}% of the call) and worked ${ms(paymentsServer.end - paymentsServer.start)} ms on it (its SERVER span: ${format(paymentsServer.attributes['rpc.status_code'] ?? 'no status')}).`,
      );
    }
    const db = traceSpans.filter((s) => s.attributes['db.system.name'] !== undefined);
    const inventory = traceSpans.find((s) => s.service === 'inventory' && s.kind === 2);
    const dbMs = db.reduce((total, s) => total + (s.end - s.start), 0);
    const httpWaits = traceSpans.map((s) => waitAttr(s)).filter((v): v is number => v !== undefined);
    if (db.length > 0 || inventory !== undefined) {
      parts.push(
        `Elsewhere in the trace ${db.length} database quer${db.length === 1 ? 'y' : 'ies'} took ${ms(dbMs)} ms in all` +
          (inventory === undefined
            ? ''
            : `, inventory answered in ${ms(inventory.end - inventory.start)} ms`) +
          (httpWaits.length === 0
            ? '.'
            : ` and the ${httpWaits.length} HTTP calls waited at most ${ms(Math.max(...httpWaits))} ms for a connection.`),
      );
    }
  }
  const serverOverlap =
    incident === undefined ? undefined : maxServerOverlap(allSpans, incident.start, incident.end);
  if (before !== undefined && during !== undefined) {
    const hops = HTTP_HOPS.map(({ hop }) => {
      const c = during.httpClient[hop];
      return `${ms(c?.waitAvgMs)} ms on average ${hop}`;
    }).join(' and ');
    parts.push(
      `The metrics say why: on orders' ${num(during.grpcConnectionsMax)} HTTP/2 connection to payments, the calls waiting for a stream went from ${num(before.grpcWaitingMax)} before to up to ${num(during.grpcWaitingMax)} during the incident` +
        (after === undefined ? '' : ` and back to ${num(after.grpcWaitingMax)} after`) +
        ` (stream wait avg ${ms(during.grpcStreamWaitAvgMs)} ms, max ${ms(during.grpcStreamWaitMaxMs)} ms, against ${ms(before.grpcStreamWaitMaxMs)} ms max before), while payments never had more than ${num(during.serverActiveMax)} calls in progress (rpc.server.active_requests` +
        (serverOverlap === undefined ? ')' : `; at most ${serverOverlap} of its SERVER spans overlap)`) +
        ` and answered in ${ms(during.serverAvgMs)} ms on average (${ms(before.serverAvgMs)} ms before). ${during.grpcDeadlineExceeded} calls ended DEADLINE_EXCEEDED` +
        (during.grpcResourceExhausted > 0
          ? ` and ${during.grpcResourceExhausted} RESOURCE_EXHAUSTED (${refusedText(allSpans, incident)})`
          : '') +
        `. The HTTP clients' connection waits stayed short (${hops}), and the database answered in ${ms(during.dbAvgMs)} ms on average (${ms(before.dbAvgMs)} before), its connection pool's wait peaking at ${ms(during.dbWaitMaxMs)} ms, before the gRPC call started its deadline.`,
    );
  }
  const queued =
    during !== undefined &&
    (during.grpcWaitingMax ?? 0) > 0 &&
    (during.grpcStreamWaitMaxMs ?? 0) >= deadlineMs / 2 &&
    during.grpcDeadlineExceeded > 0;
  const paymentsKeptPace =
    before?.serverAvgMs !== undefined &&
    during?.serverAvgMs !== undefined &&
    during.serverAvgMs <= before.serverAvgMs * 1.5;
  if (queued && paymentsKeptPace) {
    parts.push(
      `Cause: payments was not slow, it takes only ${num(during?.serverActiveMax)} calls at a time on a connection (its HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS), and orders sends every charge over one connection; under the sale's load the other calls queued in orders' HTTP/2 session longer than their ${deadlineMs} ms deadline, and orders turned DEADLINE_EXCEEDED into 504. Fix the capacity (raise payments' grpc.max_concurrent_streams, or spread calls over more connections or instances), or shed load before the stream wait reaches the deadline.`,
    );
  } else {
    parts.push(
      "The data do not show calls queueing for payments' streams in this run, so no cause is claimed.",
    );
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
