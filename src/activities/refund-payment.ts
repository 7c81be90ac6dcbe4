import { ApplicationFailure, log } from '@temporalio/activity';
import Stripe from 'stripe';
import type { RefundOrderInput, RefundOutcome } from '../domain/payment.js';
import { REFUND_REFUSED } from '../domain/failures.js';
import { idempotencyKeyFor } from './idempotency.js';
import { callStripe, stripeFailure } from './stripe-outcomes.js';

/** Stripe's answers to a refund it will not make: retrying cannot change them. */
const REFUSED_REFUND_CODES = new Set(['charge_already_refunded', 'amount_too_large', 'charge_not_refundable', 'charge_disputed']);

/**
 * Refunds an order's payment, in full or in part, deduplicated by an idempotency key derived from the
 * workflow ID (`order-<orderId>/refund` for the order's own run). A refund Stripe refuses (more than
 * what is left, nothing paid, already refunded) is a non-retryable RefundRefused with Stripe's reason.
 */
export function createRefundPayment(stripe: Stripe) {
  return async function refundPayment({ orderId, paymentIntentId, amount, reason }: RefundOrderInput): Promise<RefundOutcome> {
    let refund: Stripe.Refund;
    try {
      refund = await stripe.refunds.create(
        {
          payment_intent: paymentIntentId,
          ...(amount !== undefined && { amount }),
          metadata: { order_id: orderId, reason: reason.slice(0, 500) },
        },
        { idempotencyKey: idempotencyKeyFor('refund') },
      );
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeError)) throw error;
      if (error.type === 'StripeInvalidRequestError' && REFUSED_REFUND_CODES.has(error.code ?? '')) {
        throw ApplicationFailure.nonRetryable(
          `Stripe refused the refund of order ${orderId} (${error.code}): ${error.message}`,
          REFUND_REFUSED,
        );
      }
      throw stripeFailure(error, 'refund the payment');
    }
    const chargeId = typeof refund.charge === 'string' ? refund.charge : refund.charge?.id;
    const charge = chargeId ? await callStripe('read the refunded charge', () => stripe.charges.retrieve(chargeId)) : undefined;
    log.info('Payment refunded', { orderId, paymentIntentId, refundId: refund.id, amount: refund.amount });
    return {
      refundId: refund.id,
      amount: refund.amount,
      currency: refund.currency,
      status: refund.status ?? 'pending',
      amountRefunded: charge?.amount_refunded ?? refund.amount,
      amountPaid: charge?.amount ?? refund.amount,
    };
  };
}
