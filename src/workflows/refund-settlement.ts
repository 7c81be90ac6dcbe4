import { ActivityFailure, sleep } from '@temporalio/workflow';
import type { OrderRecordStatus } from '../domain/order.js';
import { UNSETTLED_REFUND_STATUSES, type RefundOutcome } from '../domain/payment.js';
import { STRIPE_QUESTION_OPTIONS } from './activity-options.js';
import { orderActivity } from './activity-proxies.js';

const lookUpRefund = orderActivity('lookUpRefund', STRIPE_QUESTION_OPTIONS);

/** The durable backoff between two questions to Stripe about a pending refund, and how long the run waits in all. */
const FIRST_REFUND_POLL_MS = 5_000;
const LONGEST_REFUND_POLL_MS = 60 * 60_000;
const REFUND_SETTLE_LIMIT_MS = 30 * 24 * 60 * 60_000;

/**
 * Stripe may fail or cancel a pending refund later, so it is asked again on a durable backoff; a question it cannot answer now
 * waits for the next. Answers the refund as last seen, still unsettled if the 30 days ran out.
 */
export async function settledRefund(refund: RefundOutcome): Promise<RefundOutcome> {
  const until = Date.now() + REFUND_SETTLE_LIMIT_MS;
  let waitMs = FIRST_REFUND_POLL_MS;
  let latest = refund;
  while (UNSETTLED_REFUND_STATUSES.includes(latest.status) && Date.now() < until) {
    await sleep(Math.min(waitMs, until - Date.now()));
    waitMs = Math.min(waitMs * 2, LONGEST_REFUND_POLL_MS);
    latest = await lookUpRefund({ refundId: refund.refundId }).catch((error: unknown) => {
      if (!(error instanceof ActivityFailure)) throw error;
      return latest;
    });
  }
  return latest;
}

/** What the order backend is told of a succeeded refund: `refunded` once nothing paid is left, else `partially_refunded`. */
export function refundedStatus(refund: RefundOutcome): Extract<OrderRecordStatus, 'refunded' | 'partially_refunded'> {
  return refund.amountRefunded >= refund.amountPaid ? 'refunded' : 'partially_refunded';
}
