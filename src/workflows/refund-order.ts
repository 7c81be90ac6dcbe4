import { ApplicationFailure, patched, upsertSearchAttributes } from '@temporalio/workflow';
import type { RefundOrderInput, RefundOutcome } from '../domain/payment.js';
import { REFUND_REFUSED } from '../domain/failures.js';
import { ORDER_OUTCOME } from '../domain/search-attributes.js';
import { OPERATOR_REFUND_OPTIONS } from './activity-options.js';
import { applicationFailureOf } from './failures.js';
import { orderActivity } from './order-activities.js';

const refundPayment = orderActivity('refundPayment', OPERATOR_REFUND_OPTIONS);
/** A refund that leaves nothing paid records OrderOutcome `refunded` on its run; runs started before this record none. */
const REFUND_OUTCOME_SEARCH_ATTRIBUTE = 'refund-outcome-search-attribute';

/**
 * Refunds a paid order on an operator's request (POST /api/runs/:workflowId/refund), in full or in
 * part. Its workflow ID names the request, so a repeat returns the same refund and Stripe gets one
 * idempotency key per request. A refund Stripe refuses fails the run as RefundRefused with Stripe's reason.
 * Once the order is refunded in full, the run's OrderOutcome says `refunded`: operators find it, and the
 * reconciliation sweep takes it as the order's recorded outcome (the order's own run ended `paid`).
 */
export async function refundOrder(input: RefundOrderInput): Promise<RefundOutcome> {
  try {
    const refund = await refundPayment(input);
    // Decided right after an ordinary activity's result, never a local activity's (docs/workflow.md).
    if (refund.amountRefunded >= refund.amountPaid && patched(REFUND_OUTCOME_SEARCH_ATTRIBUTE)) {
      upsertSearchAttributes([{ key: ORDER_OUTCOME, value: 'refunded' }]);
    }
    return refund;
  } catch (error) {
    const failure = applicationFailureOf(error);
    if (failure?.type !== REFUND_REFUSED) throw error;
    throw ApplicationFailure.create({ type: REFUND_REFUSED, message: failure.message, nonRetryable: true });
  }
}
