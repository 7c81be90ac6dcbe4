import { ApplicationFailure, log } from '@temporalio/activity';
import Stripe from 'stripe';
import { KEY_GENERATIONS, type RefundOrderInput, type RefundOutcome } from '../domain/payment.js';
import { REFUND_NOT_MADE, REFUND_REFUSED } from '../domain/failures.js';
import { idempotencyKeyFor } from './idempotency.js';
import { callStripe, replaysStoredError, stripeFailure } from './stripe-outcomes.js';

/** Stripe's answers to a refund it will not make: retrying cannot change them. */
const REFUSED_REFUND_CODES = new Set(['charge_already_refunded', 'amount_too_large', 'charge_not_refundable', 'charge_disputed']);

/**
 * Refunds an order's payment, in full or in part, deduplicated by an idempotency key derived from the
 * workflow ID (`order-<orderId>/refund` for the order's own run), which the refund also carries as
 * `metadata.idempotency_key`. Answers the refund as Stripe holds it, `pending` included: the workflow
 * waits for Stripe to settle it. A refund Stripe refuses (more than what is left, nothing paid, already
 * refunded) is a non-retryable RefundRefused with Stripe's reason. When Stripe replays an error for the
 * key (the first request began executing), its records decide: the refund made under the key is the
 * outcome; none made burns the key, and the refund is sent again under the next one (`.../refund/2`),
 * up to KEY_GENERATIONS keys, then fails as a non-retryable RefundNotMade.
 */
export function createRefundPayment(stripe: Stripe) {
  return async function refundPayment({ orderId, paymentIntentId, amount, reason }: RefundOrderInput): Promise<RefundOutcome> {
    for (let generation = 1; ; generation += 1) {
      const idempotencyKey = idempotencyKeyFor('refund', generation);
      try {
        const refund = await stripe.refunds.create(
          {
            payment_intent: paymentIntentId,
            ...(amount !== undefined && { amount }),
            metadata: { order_id: orderId, reason: reason.slice(0, 500), idempotency_key: idempotencyKey },
          },
          { idempotencyKey },
        );
        log.info('Refund made', { orderId, paymentIntentId, refundId: refund.id, amount: refund.amount, status: refund.status });
        return await refundOutcome(stripe, refund);
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
        if (made) {
          log.warn('Stripe replays an error for the refund key; its records show the refund was made', { orderId, refundId: made.id });
          return await refundOutcome(stripe, made);
        }
        if (generation === KEY_GENERATIONS) {
          throw ApplicationFailure.nonRetryable(
            `Stripe replays an error (${error.statusCode}) for each of the ${KEY_GENERATIONS} refund keys up to ${idempotencyKey}, and its ` +
              `records show no refund of PaymentIntent ${paymentIntentId} under any of them: the refund was not made`,
            REFUND_NOT_MADE,
          );
        }
        log.warn('Stripe replays an error for the refund key and shows no refund under it: sending the refund under the next key', {
          orderId,
          idempotencyKey,
        });
      }
    }
  };
}

/** Look Up Refund: the refund as Stripe holds it now, while the workflow waits for a pending one to settle. */
export function createLookUpRefund(stripe: Stripe) {
  return async function lookUpRefund({ refundId }: { refundId: string }): Promise<RefundOutcome> {
    return refundOutcome(stripe, await callStripe('retrieve the refund', () => stripe.refunds.retrieve(refundId)));
  };
}

/** The refund in the workflow's terms, with what its charge shows paid and refunded so far. */
async function refundOutcome(stripe: Stripe, refund: Stripe.Refund): Promise<RefundOutcome> {
  const chargeId = typeof refund.charge === 'string' ? refund.charge : refund.charge?.id;
  const charge = chargeId ? await callStripe('read the refunded charge', () => stripe.charges.retrieve(chargeId)) : undefined;
  return {
    refundId: refund.id,
    amount: refund.amount,
    currency: refund.currency,
    status: refund.status ?? 'pending',
    ...(refund.failure_reason && { failureReason: refund.failure_reason }),
    amountRefunded: charge?.amount_refunded ?? refund.amount,
    amountPaid: charge?.amount ?? refund.amount,
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
