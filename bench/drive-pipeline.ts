/**
 * The pipeline under test, driven as a client would: HTTP triggers to the API, C in flight. An order
 * is complete when the order backend stand-in has answered its PATCH; afterwards every order must
 * be `paid` there with exactly one successful charge at the Stripe stand-in, or the phase fails.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TRIGGER_PATH } from '../src/api/app.js';
import type { OrderParams } from '../src/domain/order.js';
import { deadline, orderIds, runConcurrently, someIds, waitUntilClosed, type PhaseOptions, type PhaseTimings } from './load.js';
import { Progress } from './progress.js';
import type { BenchStack } from './stack.js';

const COMPLETION_POLL_MS = 25;

/** A busy merchant's customers each order now and then: the earlier-payment check's list fallback reads one customer's page. */
const BENCH_CUSTOMERS = 1_000;

/** The order every bench run sends: the pipeline and both baselines charge the same amount. */
export function benchOrder(orderId: string): OrderParams {
  const customerId = `cus_bench_${Number(orderId.slice(-6)) % BENCH_CUSTOMERS}`;
  return { orderId, customerId, amount: 4999, currency: 'usd', email: 'bench@example.com' };
}

/**
 * Triggers one order over the API, as a merchant's backend does; anything but 201 is an error. With
 * `waitSeconds`, as a checkout does (`Prefer: wait`): the answer must carry the payment, `paid`.
 */
export async function triggerOrder(stack: BenchStack, orderId: string, waitSeconds?: number): Promise<void> {
  const response = await fetch(`${stack.apiUrl}${TRIGGER_PATH}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      'content-type': 'application/json',
      ...(waitSeconds !== undefined && { prefer: `wait=${waitSeconds}` }),
    },
    body: JSON.stringify({ connectionId: 'bench', params: benchOrder(orderId) }),
  });
  const body = await response.text();
  if (response.status !== 201)
    throw new Error(`The trigger for order ${orderId} was answered ${response.status}, expected 201: ${body.slice(0, 500)}`);
  const payment = waitSeconds === undefined ? undefined : (JSON.parse(body) as { payment?: { status?: string } }).payment;
  if (waitSeconds !== undefined && payment?.status !== 'paid')
    throw new Error(`The waited trigger for order ${orderId} answered payment ${JSON.stringify(payment)}, expected paid`);
}

/** Collects, from the backend stand-in's recorded requests, when each expected order's PATCH was answered. */
class CompletionTracker {
  readonly completedAt = new Map<string, number>();
  private scanFrom: number;

  constructor(
    private readonly requests: readonly { method: string; path: string; status: number; answeredAt: number }[],
    private readonly expected: ReadonlySet<string>,
  ) {
    this.scanFrom = requests.length;
  }

  scan(): void {
    let settledPrefix = true;
    for (let index = this.scanFrom; index < this.requests.length; index += 1) {
      const request = this.requests[index];
      if (request.answeredAt === 0) {
        settledPrefix = false;
        continue;
      }
      if (settledPrefix) this.scanFrom = index + 1;
      if (request.method !== 'PATCH' || request.status < 200 || request.status >= 300) continue;
      const orderId = decodeURIComponent(request.path.slice('/orders/'.length));
      if (this.expected.has(orderId) && !this.completedAt.has(orderId)) this.completedAt.set(orderId, request.answeredAt);
    }
  }
}

export async function drivePipeline(stack: BenchStack, options: PhaseOptions): Promise<PhaseTimings> {
  const ids = orderIds(options.idPrefix, options.orders);
  const sentAt = new Map<string, number>();
  const startLatenciesMs: number[] = [];
  const tracker = new CompletionTracker(stack.sandbox.backend.requests, new Set(ids));
  const progress = Progress.start(options.label, options.orders);
  const limit = deadline(options.timeoutMs, () => {
    const missing = ids.filter((id) => !tracker.completedAt.has(id));
    return (
      `${missing.length} of ${options.orders} orders did not complete within ${options.timeoutMs / 1000}s ` +
      `(${sentAt.size} triggered). Not completed: ${someIds(missing)}`
    );
  });

  const triggers = runConcurrently(options.orders, options.concurrency, async (index) => {
    const orderId = ids[index];
    sentAt.set(orderId, Date.now());
    const started = performance.now();
    await triggerOrder(stack, orderId).finally(() => startLatenciesMs.push(performance.now() - started));
  });
  let stopped = false;
  const completions = (async () => {
    while (!stopped && tracker.completedAt.size < options.orders) {
      await sleep(COMPLETION_POLL_MS);
      tracker.scan();
      progress.update(tracker.completedAt.size, `${sentAt.size} triggered`);
    }
  })();

  try {
    await Promise.race([Promise.all([triggers, completions]), stack.crashed, limit.promise]);
  } finally {
    stopped = true;
    limit.cancel();
    progress.finish();
  }

  const problems: string[] = [];
  for (const id of ids) {
    const record = stack.sandbox.backend.orders.get(id);
    if (record?.status !== 'paid') problems.push(`${id}: the order backend has status ${record?.status ?? '(none)'}, expected paid`);
    const charges = stack.sandbox.stripe.successfulCharges(id).length;
    if (charges !== 1) problems.push(`${id}: ${charges} successful charges at the Stripe stand-in, expected exactly 1`);
  }
  if (problems.length > 0) {
    const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
    throw new Error(`${count} in the pipeline's results, so no figures are reported:\n  ${problems.slice(0, 10).join('\n  ')}`);
  }
  await waitUntilClosed(stack.client, stack.taskQueue);

  const e2eLatenciesMs = ids.map((id) => tracker.completedAt.get(id)! - sentAt.get(id)!);
  return {
    orders: options.orders,
    startLatenciesMs,
    e2eLatenciesMs,
    firstSentAt: Math.min(...sentAt.values()),
    lastCompletedAt: Math.max(...tracker.completedAt.values()),
  };
}
