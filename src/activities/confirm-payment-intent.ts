import { log } from '@temporalio/activity';
import type Stripe from 'stripe';
import type { PaymentIntentState } from '../domain/payment.js';
import { idempotencyKeyFor } from './idempotency.js';
import { callStripeOnIntent } from './stripe-outcomes.js';

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
    const intent = await callStripeOnIntent('confirm the PaymentIntent', () =>
      stripe.paymentIntents.confirm(paymentIntentId, { off_session: true }, { idempotencyKey: idempotencyKeyFor('charge') }),
    );
    log.info('PaymentIntent confirmed', { orderId, paymentIntentId, status: intent.status, code: intent.lastError?.code });
    return intent;
  };
}
