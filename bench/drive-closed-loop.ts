/**
 * Idle latency: one order at a time, the next sent only when the previous one's run has closed, so
 * nothing waits behind anything else. Every side's order is complete when `handle.result()` resolves
 * (the run's last workflow task is in on both sides). The pipeline's order starts with its HTTP trigger, sent
 * as a checkout sends it (`Prefer: wait`): its answer, with the payment, is the checkout's answer.
 */
import { Client } from '@temporalio/client';
import { loadCodecConfig } from '../src/config/codec.js';
import { createDataConverter } from '../src/codec/data-converter.js';
import { type OrderResult } from '../src/domain/order.js';
import { DEV_CODEC_KEYS } from '../dev/codec-dev-key.js';
import { checkBaselineResult, startBaselineRun, type BaselineKind } from './drive-baseline.js';
import { triggerOrder } from './drive-pipeline.js';
import { deadline, orderIds } from './load.js';
import { Progress } from './progress.js';
import type { BenchStack } from './stack.js';
import { workflowIdForOrder } from '../src/workflows/names.js';

export type ClosedLoopSide = 'pipeline' | BaselineKind;

export interface ClosedLoopOptions {
  orders: number;
  idPrefix: string;
  label: string;
  timeoutMs: number;
}

/** Each order's start (the waited trigger's answer, or `workflow.start`'s round trip) and end-to-end latency, in ms. */
export interface ClosedLoopTimings {
  startLatenciesMs: number[];
  e2eLatenciesMs: number[];
}

/** Sends `orders` orders one after the other. */
export async function driveClosedLoop(stack: BenchStack, side: ClosedLoopSide, options: ClosedLoopOptions): Promise<ClosedLoopTimings> {
  // The pipeline's results are encrypted as `npm start` encrypts them: read them with the same keys.
  const pipelineClient = new Client({
    connection: stack.client.connection,
    namespace: stack.client.options.namespace,
    dataConverter: createDataConverter(loadCodecConfig({ TEMPORAL_CODEC_KEYS: DEV_CODEC_KEYS })),
  });
  const runOne =
    side === 'pipeline'
      ? (orderId: string) => pipelineOrder(stack, pipelineClient, orderId)
      : (orderId: string) => baselineOrder(stack, side, orderId);
  const startLatenciesMs: number[] = [];
  const latenciesMs: number[] = [];
  const progress = Progress.start(options.label, options.orders);
  const limit = deadline(
    options.timeoutMs,
    () => `${options.label}: ${latenciesMs.length} of ${options.orders} orders completed within ${options.timeoutMs / 1000}s`,
  );
  try {
    await Promise.race([
      (async () => {
        for (const orderId of orderIds(options.idPrefix, options.orders)) {
          const started = performance.now();
          const closed = await runOne(orderId);
          startLatenciesMs.push(closed.startedAfterMs);
          latenciesMs.push(performance.now() - started);
          progress.update(latenciesMs.length);
        }
      })(),
      stack.crashed,
      limit.promise,
    ]);
  } finally {
    limit.cancel();
    progress.finish();
  }
  return { startLatenciesMs, e2eLatenciesMs: latenciesMs };
}

/** The checkout's wait: far above any answer here, so that each order's answer carries its payment. */
const CHECKOUT_WAIT_SECONDS = 30;

/** Runs one order to its end; `startedAfterMs`: when the waited trigger answered with the payment. */
async function pipelineOrder(stack: BenchStack, client: Client, orderId: string): Promise<{ startedAfterMs: number }> {
  const started = performance.now();
  await triggerOrder(stack, orderId, CHECKOUT_WAIT_SECONDS);
  const startedAfterMs = performance.now() - started;
  const result = (await client.workflow.getHandle(workflowIdForOrder(orderId)).result()) as OrderResult;
  if (result.status !== 'paid') throw new Error(`Order ${orderId} ended ${result.status}, expected paid: ${JSON.stringify(result)}`);
  return { startedAfterMs };
}

async function baselineOrder(stack: BenchStack, kind: BaselineKind, orderId: string): Promise<{ startedAfterMs: number }> {
  const started = performance.now();
  const handle = await startBaselineRun(stack, kind, orderId);
  const startedAfterMs = performance.now() - started;
  checkBaselineResult(orderId, await handle.result());
  return { startedAfterMs };
}
