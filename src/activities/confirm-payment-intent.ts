import { log } from '@temporalio/activity';
import type Stripe from 'stripe';
import type { PaymentIntentState } from '../domain/payment.js';
import { idempotencyKeyFor } from './idempotency.js';
import { callStripeOnIntent } from './stripe-outcomes.js';

export interface PaymentIntentRef {
  orderId: string;
  paymentIntentId: string;
}

export interface Confirmation extends PaymentIntentRef {
  /** Which of the run's confirmation keys to send under: a later one once Stripe showed the earlier burnt (1 when omitted). */
  keyGeneration?: number;
  /** On session: the customer is at the checkout, and returns here after confirming with their bank. Off session when omitted. */
  returnUrl?: string;
}

/**
 * Charge Card, second half: confirms the order's PaymentIntent off session (the customer is not
 * there), or on session with a return URL (a bank's check then waits in requires_action for the
 * holder at the checkout), which charges the card. Answers the PaymentIntent as Stripe left it: `succeeded`, or back in
 * `requires_payment_method` with the decline. The idempotency key is the one charges always had,
 * `order-<orderId>/charge`, or its later generation (`.../charge/2`) after Stripe burnt it.
 */
export function createConfirmPaymentIntent(stripe: Stripe) {
  return async function confirmPaymentIntent({
    orderId,
    paymentIntentId,
    keyGeneration,
    returnUrl,
  }: Confirmation): Promise<PaymentIntentState> {
    const idempotencyKey = idempotencyKeyFor('charge', keyGeneration);
    const session = returnUrl === undefined ? { off_session: true } : { return_url: returnUrl };
    const intent = await callStripeOnIntent('confirm the PaymentIntent', () =>
      stripe.paymentIntents.confirm(paymentIntentId, session, { idempotencyKey }),
    );
    log.info('PaymentIntent confirmed', { orderId, paymentIntentId, status: intent.status, code: intent.lastError?.code });
    return intent;
  };
}
