import { ApplicationFailure, log } from '@temporalio/activity';
import Stripe from 'stripe';
import type { ChargeResult, Order } from '../domain/order.js';
import { CHARGE_OUTCOME_UNKNOWN, CHARGE_REJECTED, STRIPE_UNAVAILABLE } from '../domain/failures.js';
import { idempotencyKeyFor } from './idempotency.js';

/** Stripe errors that retrying with the same request cannot fix: nothing was charged. */
const REJECTED_ERROR_TYPES = new Set(['StripeAuthenticationError', 'StripePermissionError', 'StripeInvalidRequestError']);

/**
 * Charge Card: one Stripe charge per order, deduplicated by an idempotency key derived from the
 * workflow ID. A decline is a business outcome (returned); a rejected request is a non-retryable
 * failure; 5xx, 409, 429 and network errors are retryable failures; an idempotency-key conflict is a
 * non-retryable failure whose charge outcome is unknown.
 */
export function createChargeCard(stripe: Stripe) {
  return async function chargeCard(order: Order): Promise<ChargeResult> {
    try {
      const charge = await stripe.charges.create(
        {
          amount: order.amount,
          currency: order.currency,
          customer: order.customerId,
          description: `Order ${order.orderId}`,
          metadata: { order_id: order.orderId },
        },
        { idempotencyKey: idempotencyKeyFor('charge') },
      );
      if (charge.status === 'failed') {
        return {
          outcome: 'declined',
          chargeId: charge.id,
          declineCode: charge.failure_code ?? 'card_declined',
          reason: charge.failure_message ?? 'The charge failed.',
        };
      }
      log.info('Card charged', { orderId: order.orderId, chargeId: charge.id });
      return { outcome: 'succeeded', chargeId: charge.id };
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeError)) throw error;
      if (error.type === 'StripeCardError') {
        log.info('Card declined', { orderId: order.orderId, declineCode: error.decline_code ?? error.code });
        return {
          outcome: 'declined',
          ...(error.charge && { chargeId: error.charge }),
          declineCode: error.decline_code ?? error.code ?? 'card_declined',
          reason: error.message,
        };
      }
      const status = error.statusCode ?? 'no response';
      // 409 (the key is in use by a request still running) and Stripe-Should-Retry: true mean "try again".
      if (error.statusCode === 409 || error.headers?.['stripe-should-retry'] === 'true') {
        throw ApplicationFailure.retryable(`Stripe asks to retry (${status}): ${error.message}`, STRIPE_UNAVAILABLE);
      }
      // The key was used before with other parameters: an earlier request may have charged the card.
      if (error.type === 'StripeIdempotencyError') {
        throw ApplicationFailure.nonRetryable(`Stripe refused the idempotency key (${status}): ${error.message}`, CHARGE_OUTCOME_UNKNOWN);
      }
      if (REJECTED_ERROR_TYPES.has(error.type)) {
        throw ApplicationFailure.nonRetryable(
          `Stripe rejected the charge request (${status}${error.code ? ` ${error.code}` : ''}): ${error.message}`,
          CHARGE_REJECTED,
        );
      }
      throw ApplicationFailure.retryable(`Stripe is unavailable (${status}): ${error.message}`, STRIPE_UNAVAILABLE);
    }
  };
}
