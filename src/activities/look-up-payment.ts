import type Stripe from 'stripe';
import type { PaymentIntentState } from '../domain/payment.js';
import { callStripe, paymentIntentState } from './stripe-outcomes.js';

export interface PaymentLookup {
  orderId: string;
  customerId: string;
  /** Known once Create PaymentIntent answered: then a retrieve settles it. */
  paymentIntentId?: string;
  /** When the run began charging (ms since the epoch): no PaymentIntent of this order is older. */
  since: number;
}

/** Stripe's `created` filter is in seconds; a minute of slack covers clock skew between the worker and Stripe. */
const CLOCK_SKEW_SECONDS = 60;

/**
 * Asks Stripe what became of the order's payment, when a request's outcome is unknown. By ID when
 * the PaymentIntent is known; else by listing the customer's PaymentIntents created since the run
 * began charging (list is strongly consistent, search lags) and matching `metadata.order_id`.
 * Answers null when Stripe has no PaymentIntent for the order: nothing was created, nothing charged.
 */
export function createLookUpPayment(stripe: Stripe) {
  return async function lookUpPayment({ orderId, customerId, paymentIntentId, since }: PaymentLookup): Promise<PaymentIntentState | null> {
    if (paymentIntentId) {
      return paymentIntentState(await callStripe('retrieve the PaymentIntent', () => stripe.paymentIntents.retrieve(paymentIntentId)));
    }
    const matches: Stripe.PaymentIntent[] = [];
    await callStripe("list the customer's PaymentIntents", async () => {
      const listed = stripe.paymentIntents.list({
        customer: customerId,
        created: { gte: Math.floor(since / 1000) - CLOCK_SKEW_SECONDS },
        limit: 100,
      });
      for await (const intent of listed) if (intent.metadata.order_id === orderId) matches.push(intent);
    });
    // One key creates one PaymentIntent per order; should there be more, a succeeded one decides.
    const match = matches.find((intent) => intent.status === 'succeeded') ?? matches[0];
    return match ? paymentIntentState(match) : null;
  };
}
