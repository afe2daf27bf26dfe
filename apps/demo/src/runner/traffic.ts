// The load: customers placing orders at the gateway. A phase runs `concurrency` loops, each
// sending one order after the other, until the phase ends.
export interface Exchange {
  readonly phase: string;
  /** epoch ms when the request was sent */
  readonly sentAt: number;
  readonly durationMs: number;
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** From the body's `traceId`, else the W3C `traceresponse` header. */
  readonly traceId: string | undefined;
}

export interface PhasePlan {
  readonly name: string;
  readonly durationMs: number;
  readonly concurrency: number;
  /** Pause between two orders of one loop. */
  readonly thinkMs: number;
  /** Quiet time before the phase starts (no traffic), so that its metrics hold none of the previous phase. */
  readonly pauseBeforeMs?: number;
}

export interface PhaseRun {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly concurrency: number;
}

const SKUS = ['SKU-TEE', 'SKU-MUG', 'SKU-CAP'];

export async function runPhase(
  gatewayUrl: string,
  plan: PhasePlan,
  exchanges: Exchange[],
): Promise<PhaseRun> {
  if (plan.pauseBeforeMs !== undefined)
    await new Promise((resolve) => setTimeout(resolve, plan.pauseBeforeMs));
  const start = Date.now();
  const deadline = start + plan.durationMs;
  let counter = 0;
  const loop = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const sku = SKUS[counter++ % SKUS.length] ?? 'SKU-TEE';
      exchanges.push(await placeOrder(gatewayUrl, plan.name, { sku, quantity: 1 + (counter % 3) }));
      if (plan.thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, plan.thinkMs));
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, loop));
  return { name: plan.name, start, end: Date.now(), concurrency: plan.concurrency };
}

async function placeOrder(gatewayUrl: string, phase: string, order: object): Promise<Exchange> {
  const sentAt = Date.now();
  const t0 = performance.now();
  try {
    const response = await fetch(`${gatewayUrl}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(order),
      signal: AbortSignal.timeout(10_000),
    });
    const body = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    return {
      phase,
      sentAt,
      durationMs: performance.now() - t0,
      status: response.status,
      contentType,
      body,
      traceId: traceIdOf(body, response.headers.get('traceresponse')),
    };
  } catch (error) {
    return {
      phase,
      sentAt,
      durationMs: performance.now() - t0,
      status: 0,
      contentType: '',
      body: String((error as Error).message),
      traceId: undefined,
    };
  }
}

function traceIdOf(body: string, traceresponse: string | null): string | undefined {
  try {
    const parsed = JSON.parse(body) as { traceId?: unknown };
    if (typeof parsed.traceId === 'string') return parsed.traceId;
  } catch {
    // not JSON
  }
  return traceresponse?.split('-')[1];
}
