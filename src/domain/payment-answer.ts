import type { OrderProgress, OrderResult } from './order.js';

/**
 * What the checkout is told about the payment: a decline is an answer (`payment_failed`), not an error; `requires_action`
 * means the customer must confirm now, on session (docs/api.md#waiting-for-the-payment-prefer-wait).
 */
export interface PaymentAnswer {
  status: 'paid' | 'payment_failed' | 'requires_action' | 'payment_pending';
  paymentIntentId?: string;
  /** requires_action only: the PaymentIntent's client secret for Stripe.js, read from Stripe by the API (never in the run's history). */
  clientSecret?: string;
  declineCode?: string;
  reason?: string;
}

/** The payment's answer from the run's progress, once Charge Card has settled; undefined while it has not. */
export function paymentAnswerOf(progress: OrderProgress): PaymentAnswer | undefined {
  const { status, step, paymentIntentId, declineCode, reason } = progress;
  const known = { ...(paymentIntentId && { paymentIntentId }), ...(reason && { reason }) };
  if (step === 'failed') return { status: 'payment_failed', ...known, reason: progress.error ?? 'The run failed' };
  if (status === 'cancelled') return { status: 'payment_failed', ...known, reason: 'The order was cancelled before it was charged' };
  if (status === 'payment_pending') {
    const confirmingNow = step === 'customer-action' && progress.customerAsked === 'on_session';
    return { status: confirmingNow ? 'requires_action' : 'payment_pending', ...known };
  }
  if (status === 'payment_failed') return { status: 'payment_failed', ...known, ...(declineCode && { declineCode }) };
  // Paid, whatever came after (a refund of an order its backend refused is a later step's outcome).
  if (status !== undefined) return { status: 'paid', ...known };
  return undefined;
}

/** A finished run's payment answer, from its result. */
export function paymentAnswerOfResult(result: OrderResult): PaymentAnswer {
  const { paymentIntentId, declineCode, reason } = result;
  const known = { ...(paymentIntentId && { paymentIntentId }), ...(reason && { reason }) };
  switch (result.status) {
    case 'paid':
      return { status: 'paid', ...known };
    case 'payment_pending':
      return { status: 'payment_pending', ...known };
    case 'refunded':
      return { status: 'payment_failed', ...known, reason: `Refunded: ${reason ?? 'the order was refused after payment'}` };
    case 'partially_refunded':
    case 'disputed':
      return { status: 'paid', ...known };
    default:
      return { status: 'payment_failed', ...known, ...(declineCode && { declineCode }) };
  }
}
