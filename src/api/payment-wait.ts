import type { Client } from '@temporalio/client';
import { PAYMENT_UPDATE, paymentAnswerOf, paymentAnswerOfResult, type PaymentAnswer } from '../domain/payment-answer.js';
import { queryProgress, readOrderRun } from './runs.js';

/** How long a client is asked to wait (Retry-After) before it asks again for a payment that has not settled. */
export const PAYMENT_RETRY_AFTER_SECONDS = 1;

/** The longest `Prefer: wait` a request may ask for, in seconds. */
export const LONGEST_WAIT_SECONDS = 30;

/**
 * The `wait` preference of a `Prefer` header (RFC 7240: `Prefer: wait=10`, possibly beside others,
 * which are ignored), in ms; undefined without one; a string saying what is wrong when it is malformed
 * or longer than LONGEST_WAIT_SECONDS.
 */
export function waitPreference(header: string | undefined): number | undefined | string {
  if (header === undefined) return undefined;
  const waits = header
    .split(',')
    .map((preference) => preference.split(';')[0].trim())
    .filter((preference) => /^wait\s*(=|$)/i.test(preference));
  if (waits.length === 0) return undefined;
  if (waits.length > 1) return 'names wait more than once';
  const value = waits[0].replace(/^wait\s*=?\s*/i, '').replace(/^"(.*)"$/, '$1');
  if (!/^\d{1,6}$/.test(value)) return `wait must be a whole number of seconds (wait=10), not "${value.slice(0, 20)}"`;
  if (Number(value) > LONGEST_WAIT_SECONDS) return `wait may be at most ${LONGEST_WAIT_SECONDS} seconds, not ${value}`;
  return Number(value) * 1000;
}

/** The payment's answer, `pending` when it is not known within the wait, or null when there is no such order run. */
export type PaymentWait = { answer: PaymentAnswer } | { pending: true } | null;

/** A closed run's answer, from its result or how it ended. */
async function closedRunAnswer(client: Client, workflowId: string): Promise<PaymentWait> {
  const run = await readOrderRun(client, workflowId);
  if (!run) return null;
  if (run.result) return { answer: paymentAnswerOfResult(run.result) };
  if (run.status === 'running') return { pending: true };
  return { answer: { status: 'payment_failed', reason: `The run ended ${run.status} before it recorded a payment` } };
}

/**
 * Waits up to `waitMs` for the order run's payment answer: every caller attaches to the one `payment`
 * update of the run (one update ID), so a repeat never asks twice and a settled answer comes back at
 * once. An update that cannot be delivered in time (no worker, Temporal slow) is `pending`, never an
 * error: the run goes on. With no wait, the run's progress answers (a query), or its result once closed.
 */
export async function waitForPayment(client: Client, workflowId: string, waitMs: number): Promise<PaymentWait> {
  if (waitMs === 0) {
    const progress = await queryProgress(client, workflowId);
    const answer = progress && paymentAnswerOf(progress);
    return answer ? { answer } : closedRunAnswer(client, workflowId);
  }
  const deadline = AbortSignal.timeout(waitMs);
  try {
    const answer = await client.withAbortSignal(deadline, () =>
      client.workflow.getHandle(workflowId).executeUpdate<PaymentAnswer, []>(PAYMENT_UPDATE, { updateId: PAYMENT_UPDATE }),
    );
    return { answer };
  } catch {
    if (deadline.aborted) return { pending: true };
    // The run closed before its update was answered (or never existed), or Temporal refused the update: read the run itself.
    return closedRunAnswer(client, workflowId).catch(() => ({ pending: true as const }));
  }
}
