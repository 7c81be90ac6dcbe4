import { log } from '@temporalio/activity';
import Stripe from 'stripe';
import type { ChargeResult, Order } from '../domain/order.js';
import { idempotencyKeyFor } from './idempotency.js';
import { stripeFailure } from './stripe-outcomes.js';

/**
 * Charge Card with the legacy Charges API, for runs started before the `payment-intents` patch only
 * (a run that was charging when the new version was deployed schedules it again). Delete it with the
 * patch's old branch once no such run is open. A decline is a business outcome (returned); other
 * Stripe errors map as in stripeFailure.
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
      throw stripeFailure(error, 'charge the card');
    }
  };
}
