import { activityInfo, ApplicationFailure, log } from '@temporalio/activity';
import type Stripe from 'stripe';
import type { Order } from '../domain/order.js';
import type { CreatedPayment } from '../domain/payment.js';
import { CHARGE_OUTCOME_UNKNOWN, CHARGE_REJECTED } from '../domain/failures.js';
import { idempotencyKeyFor } from './idempotency.js';
import { callStripe, paymentIntentState } from './stripe-outcomes.js';

/** The customer's default payment method (`invoice_settings.default_payment_method`), if any. */
async function defaultPaymentMethod(stripe: Stripe, customerId: string): Promise<string | undefined> {
  const customer = await callStripe('read the customer', () => stripe.customers.retrieve(customerId));
  if (customer.deleted) return undefined;
  const method = customer.invoice_settings.default_payment_method;
  return (typeof method === 'string' ? method : method?.id) ?? undefined;
}

/**
 * Charge Card, first half: creates the order's PaymentIntent, unconfirmed, so its ID is in the run's
 * history before any money moves. The card is the order's `paymentMethodId`, else the customer's
 * default payment method; with neither, nothing is created and the run takes the failure path. The key
 * is `order-<orderId>/payment-intent`, or its later generation after Stripe burnt it.
 */
export function createCreatePaymentIntent(stripe: Stripe) {
  return async function createPaymentIntent(order: Order, keyGeneration?: number): Promise<CreatedPayment> {
    try {
      return await createUnconfirmed(stripe, order, idempotencyKeyFor('payment-intent', keyGeneration));
    } catch (error) {
      // A refusal after an earlier attempt whose answer never came: that attempt may have created the PaymentIntent.
      if (error instanceof ApplicationFailure && error.type === CHARGE_REJECTED && activityInfo().attempt > 1) {
        throw ApplicationFailure.nonRetryable(
          `${error.message}, after an earlier attempt whose outcome is unknown`,
          CHARGE_OUTCOME_UNKNOWN,
        );
      }
      throw error;
    }
  };
}

async function createUnconfirmed(stripe: Stripe, order: Order, idempotencyKey: string): Promise<CreatedPayment> {
  const paymentMethod = order.paymentMethodId ?? (await defaultPaymentMethod(stripe, order.customerId));
  if (!paymentMethod) {
    return {
      outcome: 'no_payment_method',
      reason:
        `no_payment_method: customer ${order.customerId} has no default payment method ` +
        '(invoice_settings.default_payment_method) and the order names none (params.paymentMethodId)',
    };
  }
  const intent = await callStripe('create the PaymentIntent', () =>
    stripe.paymentIntents.create(
      {
        amount: order.amount,
        currency: order.currency,
        customer: order.customerId,
        payment_method: paymentMethod,
        // Off-session payments cannot send the customer to a redirect.
        automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
        description: `Order ${order.orderId}`,
        metadata: { order_id: order.orderId },
      },
      { idempotencyKey },
    ),
  );
  log.info('PaymentIntent created', { orderId: order.orderId, paymentIntentId: intent.id });
  return { outcome: 'created', paymentIntent: paymentIntentState(intent) };
}
