import { log } from '@temporalio/activity';
import type Stripe from 'stripe';
import type { PaymentIntentState } from '../domain/payment.js';
import type { PaymentIntentRef } from './confirm-payment-intent.js';
import { callStripeOnIntent } from './stripe-outcomes.js';

/**
 * Cancels the order's open PaymentIntent, so it can never succeed after the order is recorded
 * `payment_failed`. Answers the PaymentIntent as Stripe left it: `canceled`, or its current status
 * when it can no longer be cancelled (it succeeded meanwhile: the order is paid after all).
 */
export function createCancelPaymentIntent(stripe: Stripe) {
  return async function cancelPaymentIntent({ orderId, paymentIntentId }: PaymentIntentRef): Promise<PaymentIntentState> {
    const intent = await callStripeOnIntent('cancel the PaymentIntent', () =>
      // No idempotency key: cancelling is idempotent by state, and a key would replay a stale answer
      // (a 500, or an old status) to every later attempt for 24 h.
      stripe.paymentIntents.cancel(paymentIntentId, { cancellation_reason: 'abandoned' }),
    );
    log.info('PaymentIntent cancel answered', { orderId, paymentIntentId, status: intent.status });
    return intent;
  };
}
