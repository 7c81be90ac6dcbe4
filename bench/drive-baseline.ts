/**
 * The baselines, driven straight through @temporalio/client: the same number of workflows, C starts
 * in flight, each run's end taken when `handle.result()` resolves. The do-nothing baseline shows what
 * Temporal alone costs on this machine; the fetch baseline adds a paid order's HTTP requests, sent with
 * plain `fetch`. The pipeline's own overhead is the difference.
 */
import { WorkflowIdReusePolicy, type WorkflowHandle } from '@temporalio/client';
import { deadline, orderIds, runConcurrently, someIds, type PhaseOptions, type PhaseTimings } from './load.js';
import type { baselineOrder } from './baseline-workflow.js';
import type { fetchBaselineOrder } from './fetch-baseline-workflow.js';
import { benchOrder } from './drive-pipeline.js';
import { Progress } from './progress.js';
import type { BenchStack } from './stack.js';

export type BaselineKind = 'baseline' | 'fetchBaseline';

/** Both baseline workflows take an order and return the same paid result. */
type BaselineWorkflow = typeof baselineOrder & typeof fetchBaselineOrder;

/** Starts one baseline run for `orderId` on that baseline's worker. */
export function startBaselineRun(stack: BenchStack, kind: BaselineKind, orderId: string): Promise<WorkflowHandle<BaselineWorkflow>> {
  const [workflowType, taskQueue, idPrefix] =
    kind === 'baseline'
      ? ['baselineOrder', stack.baselineTaskQueue, 'baseline']
      : ['fetchBaselineOrder', stack.fetchBaselineTaskQueue, 'fetch-baseline'];
  return stack.client.workflow.start<BaselineWorkflow>(workflowType, {
    workflowId: `${idPrefix}-${orderId}`,
    taskQueue,
    args: [benchOrder(orderId)],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
  });
}

/** Fails unless a baseline run returned the paid result of its own order. */
export function checkBaselineResult(orderId: string, value: Awaited<ReturnType<BaselineWorkflow>>): void {
  if (value.orderId !== orderId || value.status !== 'paid')
    throw new Error(`The baseline workflow for ${orderId} returned ${JSON.stringify(value)}`);
}

export const driveBaseline = (stack: BenchStack, options: PhaseOptions) => driveBaselineOf('baseline', stack, options);
export const driveFetchBaseline = (stack: BenchStack, options: PhaseOptions) => driveBaselineOf('fetchBaseline', stack, options);

async function driveBaselineOf(kind: BaselineKind, stack: BenchStack, options: PhaseOptions): Promise<PhaseTimings> {
  const ids = orderIds(options.idPrefix, options.orders);
  const sentAt = new Map<string, number>();
  const completedAt = new Map<string, number>();
  const startLatenciesMs: number[] = [];
  const results: Promise<void>[] = [];
  const progress = Progress.start(options.label, options.orders);
  const limit = deadline(options.timeoutMs, () => {
    const missing = ids.filter((id) => !completedAt.has(id));
    return `${missing.length} of ${options.orders} baseline workflows did not complete within ${options.timeoutMs / 1000}s (${sentAt.size} started). Not completed: ${someIds(missing)}`;
  });

  const starts = runConcurrently(options.orders, options.concurrency, async (index) => {
    const orderId = ids[index];
    sentAt.set(orderId, Date.now());
    const started = performance.now();
    const handle = await startBaselineRun(stack, kind, orderId);
    startLatenciesMs.push(performance.now() - started);
    const result = handle.result().then((value) => {
      checkBaselineResult(orderId, value);
      completedAt.set(orderId, Date.now());
      progress.update(completedAt.size, `${sentAt.size} started`);
    });
    // Observed by Promise.all below; marked handled now so an early failure is not an unhandled rejection.
    result.catch(() => undefined);
    results.push(result);
  });

  try {
    await Promise.race([
      (async () => {
        await starts;
        await Promise.all(results);
      })(),
      stack.crashed,
      limit.promise,
    ]);
  } finally {
    limit.cancel();
    progress.finish();
  }

  return {
    orders: options.orders,
    startLatenciesMs,
    e2eLatenciesMs: ids.map((id) => completedAt.get(id)! - sentAt.get(id)!),
    firstSentAt: Math.min(...sentAt.values()),
    lastCompletedAt: Math.max(...completedAt.values()),
  };
}
