import { activityInfo, ApplicationFailure, log } from '@temporalio/activity';
import Stripe from 'stripe';
import type { Order } from '../domain/order.js';
import type { CreatedPayment } from '../domain/payment.js';
import { CHARGE_OUTCOME_UNKNOWN, CHARGE_REJECTED } from '../domain/failures.js';
import { idempotencyKeyFor } from './idempotency.js';
import { callStripe, paymentIntentState, stripeFailure } from './stripe-outcomes.js';

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

/** A PaymentIntent in these statuses has taken, or is taking, the order's money. */
const PAID_STATUSES = new Set<Stripe.PaymentIntent.Status>(['succeeded', 'processing']);

/**
 * The order's PaymentIntent that Stripe shows succeeded or processing, whenever it was made: an order
 * sent again after its run was deleted (retention) and its keys forgotten (24 h) must not be charged
 * twice. Search by metadata.order_id lags about a minute, while the workflow ID still deduplicates.
 * Search has its own rate limit (about 20 requests a second in live mode): when Stripe refuses it (429),
 * the customer's newest PaymentIntents are read instead (list: the general limit, one page).
 */
async function paidBefore(stripe: Stripe, order: Order): Promise<Stripe.PaymentIntent | undefined> {
  let found: Stripe.PaymentIntent[];
  try {
    found = (await stripe.paymentIntents.search({ query: `metadata['order_id']:'${order.orderId}'`, limit: 100 })).data;
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeRateLimitError))
      throw error instanceof Stripe.errors.StripeError ? stripeFailure(error, "search the order's PaymentIntents") : error;
    const listed = await callStripe("list the customer's PaymentIntents", () =>
      stripe.paymentIntents.list({ customer: order.customerId, limit: 100 }),
    );
    found = listed.data.filter((intent) => intent.metadata.order_id === order.orderId);
  }
  return found.find((intent) => PAID_STATUSES.has(intent.status));
}

async function createUnconfirmed(stripe: Stripe, order: Order, idempotencyKey: string): Promise<CreatedPayment> {
  const earlier = await paidBefore(stripe, order);
  if (earlier) {
    log.warn('The order was paid before this run: not charged again', { orderId: order.orderId, paymentIntentId: earlier.id });
    return { outcome: 'paid_before', paymentIntent: paymentIntentState(earlier) };
  }
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
        // Cards only: a bank debit would wait days in `processing` (docs/payments.md, "Cards only").
        allowed_payment_method_types: ['card'],
        description: `Order ${order.orderId}`,
        metadata: { order_id: order.orderId },
      },
      { idempotencyKey },
    ),
  );
  log.info('PaymentIntent created', { orderId: order.orderId, paymentIntentId: intent.id });
  return { outcome: 'created', paymentIntent: paymentIntentState(intent) };
}
