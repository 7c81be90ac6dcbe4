/** What both load drivers share: bounded concurrency, deadlines, and the figures one phase yields. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';

export interface PhaseOptions {
  orders: number;
  /** Triggers (or starts) in flight at once. */
  concurrency: number;
  /** Prefix of this phase's order IDs, unique per run and phase. */
  idPrefix: string;
  /** Shown before the progress bar. */
  label: string;
  /** The whole phase (all started and completed) must finish within this. */
  timeoutMs: number;
}

/** Raw timings of one phase, all in ms; the report turns them into percentiles and rates. */
export interface PhaseTimings {
  orders: number;
  startLatenciesMs: number[];
  e2eLatenciesMs: number[];
  /** Epoch ms when the first trigger/start was sent and when the last order completed. */
  firstSentAt: number;
  lastCompletedAt: number;
}

/** Stripe's search allows about 20 requests a second in live mode; the bench's Stripe stand-in refuses more with 429 as Stripe does. */
export const LIVE_SEARCH_RATE_PER_SECOND = 20;

/** The requests a phase sent to the Stripe stand-in: what one order costs against Stripe's rate limits. */
export interface StripeRequestCounts {
  total: number;
  /** The earlier-payment check: searches by metadata.order_id, those Stripe refused (429), and the customer lists sent instead. */
  searches: number;
  searchesRateLimited: number;
  customerLists: number;
}

/** Zero-padded order IDs: `<prefix>-00042`. */
export function orderIds(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}-${String(index).padStart(6, '0')}`);
}

/**
 * Runs `task(0..count-1)` with at most `concurrency` in flight. At the first failure no new task is
 * started and the failure is thrown (tasks already in flight are left to finish).
 */
export async function runConcurrently(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let failure: unknown;
  const lane = async () => {
    while (!failed && next < count) {
      const index = next;
      next += 1;
      try {
        await task(index);
      } catch (error) {
        if (!failed) failure = error;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  if (failed) throw failure;
}

/** Rejects after `ms` with the message `describe()` gives at that time. */
export function deadline(ms: number, describe: () => string): { promise: Promise<never>; cancel: () => void } {
  const controller = new AbortController();
  const promise = sleep(ms, undefined, { signal: controller.signal }).then(() => {
    throw new Error(describe());
  });
  promise.catch(() => undefined);
  return { promise, cancel: () => controller.abort() };
}

/**
 * Waits until no workflow on `taskQueue` is still running, so a phase's CPU figures hold all of its
 * work and the next phase starts on a quiet server.
 */
export async function waitUntilClosed(client: Client, taskQueue: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
  for (;;) {
    const { count } = await client.workflow.count(query);
    if (count === 0) return;
    if (Date.now() > until)
      throw new Error(
        `${count} workflows on task queue ${taskQueue} were still running ${timeoutMs / 1000}s after the last order completed`,
      );
    await sleep(100);
  }
}

/** A few IDs from a list, for error messages. */
export function someIds(ids: readonly string[], shown = 10): string {
  return `${ids.slice(0, shown).join(', ')}${ids.length > shown ? `, ... (${ids.length} in all)` : ''}`;
}
