import { ApplicationFailure, log } from '@temporalio/activity';
import Stripe from 'stripe';
import type { RefundOrderInput, RefundOutcome } from '../domain/payment.js';
import { CHARGE_OUTCOME_UNKNOWN, REFUND_REFUSED } from '../domain/failures.js';
import { idempotencyKeyFor } from './idempotency.js';
import { callStripe, replaysStoredError, stripeFailure } from './stripe-outcomes.js';

/** Stripe's answers to a refund it will not make: retrying cannot change them. */
const REFUSED_REFUND_CODES = new Set(['charge_already_refunded', 'amount_too_large', 'charge_not_refundable', 'charge_disputed']);

/**
 * Refunds an order's payment, in full or in part, deduplicated by an idempotency key derived from the
 * workflow ID (`order-<orderId>/refund` for the order's own run), which the refund also carries as
 * `metadata.idempotency_key`. A refund Stripe refuses (more than what is left, nothing paid, already
 * refunded) is a non-retryable RefundRefused with Stripe's reason. When Stripe replays an error for the
 * key (the first request began executing), its records decide: the refund made under the key is the
 * outcome; none made is a non-retryable ChargeOutcomeUnknown for ops.
 */
export function createRefundPayment(stripe: Stripe) {
  return async function refundPayment({ orderId, paymentIntentId, amount, reason }: RefundOrderInput): Promise<RefundOutcome> {
    const idempotencyKey = idempotencyKeyFor('refund');
    let refund: Stripe.Refund;
    try {
      refund = await stripe.refunds.create(
        {
          payment_intent: paymentIntentId,
          ...(amount !== undefined && { amount }),
          metadata: { order_id: orderId, reason: reason.slice(0, 500), idempotency_key: idempotencyKey },
        },
        { idempotencyKey },
      );
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeError)) throw error;
      if (error.type === 'StripeInvalidRequestError' && REFUSED_REFUND_CODES.has(error.code ?? '')) {
        throw ApplicationFailure.nonRetryable(
          `Stripe refused the refund of order ${orderId} (${error.code}): ${error.message}`,
          REFUND_REFUSED,
        );
      }
      if (!replaysStoredError(error)) throw stripeFailure(error, 'refund the payment');
      const made = await refundMadeUnder(stripe, paymentIntentId, idempotencyKey);
      if (!made) {
        throw ApplicationFailure.nonRetryable(
          `Stripe replays an error (${error.statusCode}) for the refund key ${idempotencyKey} and its records show no refund of ` +
            `PaymentIntent ${paymentIntentId} under it: the refund was not made, and Stripe keeps the key for 24 h`,
          CHARGE_OUTCOME_UNKNOWN,
        );
      }
      log.warn('Stripe replays an error for the refund key; its records show the refund was made', { orderId, refundId: made.id });
      refund = made;
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

/** The refund of the PaymentIntent made under `idempotencyKey`, from Stripe's list (strongly consistent), if any. */
async function refundMadeUnder(stripe: Stripe, paymentIntentId: string, idempotencyKey: string): Promise<Stripe.Refund | undefined> {
  return callStripe('list the refunds of the payment', async () => {
    for await (const refund of stripe.refunds.list({ payment_intent: paymentIntentId, limit: 100 }))
      if (refund.metadata?.idempotency_key === idempotencyKey) return refund;
    return undefined;
  });
}
