import { log } from '@temporalio/activity';
import Stripe from 'stripe';
import type { PaymentIntentState } from '../domain/payment.js';
import { idempotencyKeyFor } from './idempotency.js';
import { paymentIntentInError, paymentIntentState, stripeFailure } from './stripe-outcomes.js';

export interface PaymentIntentRef {
  orderId: string;
  paymentIntentId: string;
}

/**
 * Charge Card, second half: confirms the order's PaymentIntent off session (the customer is not
 * there), which charges the card. Answers the PaymentIntent as Stripe left it: `succeeded`, or back in
 * `requires_payment_method` with the decline. The idempotency key is the one charges always had.
 */
export function createConfirmPaymentIntent(stripe: Stripe) {
  return async function confirmPaymentIntent({ orderId, paymentIntentId }: PaymentIntentRef): Promise<PaymentIntentState> {
    try {
      const intent = paymentIntentState(
        await stripe.paymentIntents.confirm(paymentIntentId, { off_session: true }, { idempotencyKey: idempotencyKeyFor('charge') }),
      );
      log.info('PaymentIntent confirmed', { orderId, paymentIntentId, status: intent.status });
      return intent;
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeError)) throw error;
      const intent = paymentIntentInError(error);
      if (intent) {
        log.info('PaymentIntent not paid', { orderId, paymentIntentId, status: intent.status, code: intent.lastError?.code });
        return intent;
      }
      throw stripeFailure(error, 'confirm the PaymentIntent');
    }
  };
}
