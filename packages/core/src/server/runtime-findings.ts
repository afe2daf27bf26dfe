import { type Span, SpanKind } from '@opentelemetry/api';

/**
 * What tracewire noticed at run time about other instrumentations of the same requests, for
 * `tracewire doctor`'s in-process check. Process-wide under a `Symbol.for` key, so every copy of
 * `@tracewire/core` (and `@tracewire/node`'s HTTP client spans) adds to the same record.
 */
export interface InstrumentationRuntimeFindings {
  /** Requests that got a tracewire SERVER span under another instrumentation's SERVER span. */
  nestedServerSpans: number;
  /** Requests where tracewire reused the SERVER span of `@opentelemetry/instrumentation-http`. */
  sharedServerSpans: number;
  /** Outgoing requests that got a tracewire CLIENT span under another instrumentation's CLIENT span. */
  nestedClientSpans: number;
  /** Outgoing requests where tracewire left the CLIENT span to another instrumentation. */
  sharedClientSpans: number;
  /** Up to 8 examples of double spans: which tracewire package, which kind, which path or host. */
  examples: Array<{ kind: 'server' | 'client'; instrumentation: string; target: string }>;
}

const KEY = Symbol.for('tracewire.runtime.findings');
const MAX_EXAMPLES = 8;

/** The process-wide record (created on first use). Never throws. */
export function getInstrumentationRuntimeFindings(): InstrumentationRuntimeFindings {
  const holder = globalThis as unknown as Record<symbol, InstrumentationRuntimeFindings | undefined>;
  let found = holder[KEY];
  if (found === undefined || found === null || typeof found !== 'object') {
    found = {
      nestedServerSpans: 0,
      sharedServerSpans: 0,
      nestedClientSpans: 0,
      sharedClientSpans: 0,
      examples: [],
    };
    holder[KEY] = found;
  }
  return found;
}

/** Resets the record (tests). */
export function resetInstrumentationRuntimeFindings(): void {
  (globalThis as unknown as Record<symbol, unknown>)[KEY] = undefined;
}

/** The SDK span's kind (`Span` of the API does not expose it; the SDK's span has a `kind` field). */
export function spanKindOf(span: Span | undefined): SpanKind | undefined {
  if (span === undefined) return undefined;
  const kind = (span as { kind?: unknown }).kind;
  return typeof kind === 'number' ? (kind as SpanKind) : undefined;
}

function example(
  findings: InstrumentationRuntimeFindings,
  kind: 'server' | 'client',
  by: string,
  target: string,
): void {
  if (findings.examples.length >= MAX_EXAMPLES) return;
  const t = target.length > 128 ? target.slice(0, 128) : target;
  for (const e of findings.examples)
    if (e.kind === kind && e.target === t && e.instrumentation === by) return;
  findings.examples.push({ kind, instrumentation: by, target: t });
}

/** @internal Called by the server lifecycle with the span that was active before its own. */
export function noteNestedServerSpan(parent: Span | undefined, path: string, by: string): void {
  try {
    if (spanKindOf(parent) !== SpanKind.SERVER) return;
    const findings = getInstrumentationRuntimeFindings();
    findings.nestedServerSpans++;
    example(findings, 'server', by, path);
  } catch {
    // Bookkeeping for the doctor never reaches the request.
  }
}

/** @internal Called when the server lifecycle reuses instrumentation-http's span. */
export function noteSharedServerSpan(): void {
  try {
    getInstrumentationRuntimeFindings().sharedServerSpans++;
  } catch {
    // As above.
  }
}

/**
 * @internal Called by HTTP client instrumentation when a request it traced and propagated went out
 * with a second `traceparent` (another instrumentation added its own after it): two CLIENT spans.
 */
export function noteDoubleClientPropagation(target: string, by: string): void {
  try {
    const findings = getInstrumentationRuntimeFindings();
    findings.nestedClientSpans++;
    example(findings, 'client', by, target);
  } catch {
    // As above.
  }
}

/** @internal Called by HTTP client instrumentation: a CLIENT span nested in another, or shared. */
export function noteClientSpan(shared: boolean, parent: Span | undefined, target: string, by: string): void {
  try {
    const findings = getInstrumentationRuntimeFindings();
    if (shared) {
      findings.sharedClientSpans++;
      return;
    }
    if (spanKindOf(parent) !== SpanKind.CLIENT) return;
    findings.nestedClientSpans++;
    example(findings, 'client', by, target);
  } catch {
    // As above.
  }
}
