import { ApplicationFailure } from '@temporalio/workflow';
import type { RefundOrderInput, RefundOutcome } from '../domain/payment.js';
import { REFUND_REFUSED } from '../domain/failures.js';
import { OPERATOR_REFUND_OPTIONS } from './activity-options.js';
import { applicationFailureOf } from './failures.js';
import { orderActivity } from './order-activities.js';

const refundPayment = orderActivity('refundPayment', OPERATOR_REFUND_OPTIONS);

/**
 * Refunds a paid order on an operator's request (POST /api/runs/:workflowId/refund), in full or in
 * part. Its workflow ID names the request, so a repeat returns the same refund and Stripe gets one
 * idempotency key per request. A refund Stripe refuses fails the run as RefundRefused with Stripe's reason.
 */
export async function refundOrder(input: RefundOrderInput): Promise<RefundOutcome> {
  try {
    return await refundPayment(input);
  } catch (error) {
    const failure = applicationFailureOf(error);
    if (failure?.type !== REFUND_REFUSED) throw error;
    throw ApplicationFailure.create({ type: REFUND_REFUSED, message: failure.message, nonRetryable: true });
  }
}
