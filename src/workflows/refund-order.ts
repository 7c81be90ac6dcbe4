import { ApplicationFailure, patched, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { type RefundOrderInput, type RefundOutcome } from '../domain/payment.js';
import { REFUND_NOT_MADE_TYPES, REFUND_REFUSED } from '../domain/failures.js';
import { ORDER_OUTCOME } from '../domain/search-attributes.js';
import { ORDER_STATUS_OPTIONS, REFUND_OPTIONS } from './activity-options.js';
import { applicationFailureOf, failureMessage } from './activity-failures.js';
import { orderActivity } from './activity-proxies.js';
import { refundedStatus, settledRefund } from './refund-settlement.js';
import { refundQuery } from './names.js';
import { MISCONFIGURED_BACKEND_RETRIES, recordOrderStatus } from './order-record.js';
import { tryNotifyOps } from './ops-alerts.js';

// Stripe unavailable is retried for up to 23 h (the key's lifetime): the API answers 202 meanwhile, never a guess.
const refundPayment = orderActivity('refundPayment', REFUND_OPTIONS);
const updateOrderStatus = orderActivity('updateOrderStatus', ORDER_STATUS_OPTIONS);

/** A refund that leaves nothing paid records OrderOutcome `refunded` on its run; runs started before this record none. */
const REFUND_OUTCOME_SEARCH_ATTRIBUTE = 'refund-outcome-search-attribute';
/** The refund is recorded as Stripe settles it, and the backend is told; runs started before this returned Stripe's first answer. */
const SETTLE_REFUNDS = 'settle-refunds';
/** A refund whose outcome is unknown tells ops before the run fails; runs started before this failed silently. */
const TELL_OPS_REFUND_UNKNOWN = 'tell-ops-refund-unknown';

/**
 * An operator's refund (docs/payments.md#refunds). Its workflow ID names the request, so a repeat returns the same refund and
 * Stripe gets one idempotency key per request; it is recorded only once Stripe settles it.
 */
export async function refundOrder(input: RefundOrderInput): Promise<RefundOutcome> {
  const settles = patched(SETTLE_REFUNDS);
  let latest: RefundOutcome | null = null;
  setHandler(refundQuery, () => latest);
  try {
    latest = await refundPayment(input);
  } catch (error) {
    const failure = applicationFailureOf(error);
    if (failure?.type === REFUND_REFUSED)
      throw ApplicationFailure.create({ type: REFUND_REFUSED, message: failure.message, nonRetryable: true });
    if (!REFUND_NOT_MADE_TYPES.includes(failure?.type ?? '') && patched(TELL_OPS_REFUND_UNKNOWN)) {
      await tryNotifyOps({
        kind: 'refund-outcome-unknown',
        orderId: input.orderId,
        paymentIntentId: input.paymentIntentId,
        reason: failureMessage(error),
      });
    }
    throw error;
  }
  if (settles) latest = await settledRefund(latest);
  const refund = latest;
  const succeeded = !settles || refund.status === 'succeeded';
  // Decided right after an ordinary activity's result, never a local activity's (docs/workflow.md#parse-order-is-a-local-activity).
  if (succeeded && refundedStatus(refund) === 'refunded' && patched(REFUND_OUTCOME_SEARCH_ATTRIBUTE)) {
    upsertSearchAttributes([{ key: ORDER_OUTCOME, value: 'refunded' }]);
  }
  if (settles) await tellOfRefund(input, refund);
  return refund;
}

/**
 * The backend hears of a succeeded refund, asked again while it answers as misconfigured; ops hear of a refund that did not
 * return the money, or that the backend could not record.
 */
async function tellOfRefund({ orderId, paymentIntentId }: RefundOrderInput, refund: RefundOutcome): Promise<void> {
  if (refund.status !== 'succeeded') {
    await tryNotifyOps({ kind: 'refund-not-returned', orderId, paymentIntentId, refund });
    return;
  }
  const status = refundedStatus(refund);
  const record = { orderId, status, paymentIntentId, amountRefunded: refund.amountRefunded };
  try {
    if (patched(MISCONFIGURED_BACKEND_RETRIES)) {
      await recordOrderStatus(record, ({ reason, until }) =>
        tryNotifyOps({ kind: 'backend-misconfigured', order: { orderId }, status, reason, until }),
      );
    } else await updateOrderStatus(record);
  } catch (error) {
    await tryNotifyOps({ kind: 'refund-unrecorded', orderId, paymentIntentId, refund, status, reason: failureMessage(error) });
  }
}
